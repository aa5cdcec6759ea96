"""The figures of the study and of model insight, drawn with matplotlib's Agg backend into files.

Only the commands that plot import this module, so ``predict`` and ``train`` never pay for
matplotlib. Each ``*_figure`` function takes plain results (a sweep, a history, arrays) and returns
a ``matplotlib.figure.Figure``; ``save_figure`` writes it. No pyplot, so no global figure state.
To add a figure: write one ``*_figure`` function decorated with ``@styled`` and give it a
subcommand in ``digitnet.cli.plot_command``.
"""

import functools
import io
import math
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402

from digitnet.atomic import replaced_atomically  # noqa: E402
from digitnet.study import EpochSweep, LearningRateSweep, Sweep  # noqa: E402
from digitnet.training import EpochRecord, TrainingConfig  # noqa: E402

FORMATS = ("png", "svg", "pdf")
DPI = 110
STYLE = {
    "font.size": 10, "axes.titlesize": 11, "figure.titlesize": 13, "axes.labelsize": 10,
    "legend.fontsize": 9, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "savefig.bbox": "tight", "savefig.pad_inches": 0.15,
}
COLORS = {"train": "tab:blue", "validation": "tab:orange", "test": "tab:green", "diverged": "tab:red",
          "chosen": "tab:green"}


def styled(make_figure):
    """Draw under the house style (fonts, grid, spines), whatever the caller's matplotlib settings."""
    @functools.wraps(make_figure)
    def draw(*args, **kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return make_figure(*args, **kwargs)
    return draw


def save_figure(figure: Figure, path: str | os.PathLike, format: str = "png") -> None:
    """Write ``figure`` atomically as PNG, SVG or PDF (no timestamps inside, so reruns compare equal)."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    with matplotlib.rc_context(STYLE), replaced_atomically(path) as tmp:
        if format == "png":
            _save_palette_png(figure, tmp)
        else:
            figure.savefig(tmp, format=format, dpi=DPI, metadata={"svg": {"Date": None}, "pdf": {"CreationDate": None}}[format])


def _save_palette_png(figure: Figure, path) -> None:
    """A PNG of 256 colours: a third of the size of matplotlib's RGBA, and no visible difference,
    since a plot holds few colours. Max-coverage keeps every pixel within 10/255 of the original on
    these figures; median cut turned the small green stars grey."""
    from PIL import Image

    rendered = io.BytesIO()
    figure.savefig(rendered, format="png", dpi=DPI)
    image = Image.open(rendered).convert("RGB")
    image.quantize(256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE).save(path, format="PNG", optimize=True)


def _recipe_text(config: dict) -> str:
    """'784-128-64-10, batch 32' from a recipe or TrainingConfig dict; 'recipe best: ...' when it has a name."""
    text = f"{'-'.join(map(str, config['layer_sizes']))}, batch {config['batch_size']}"
    return f"recipe {config['name']}: {text}" if config.get("name") else text


def _data_text(training_images: int, validation_images: int) -> str:
    return f"{training_images:,} training / {validation_images:,} validation images"


def _plot_band(ax, x, band, color, label, marker=None):
    ax.plot(x, band.mean, color=color, marker=marker, markersize=4, label=label)
    if np.any(band.high > band.low):
        ax.fill_between(x, band.low, band.high, color=color, alpha=0.2, linewidth=0)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _seeds_text(seeds: int) -> str:
    return "1 seed" if seeds == 1 else f"mean of {seeds} seeds, band: min-max"


@styled
def learning_rate_figure(sweep: LearningRateSweep) -> Figure:
    """Final loss and validation accuracy against learning rate (log axis), train and validation,
    diverged trainings marked, the chosen rate highlighted, a band over seeds."""
    rates = sweep.rates
    config = sweep.outcomes[0].config
    seeds = sweep.values("train_loss").shape[0]
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    loss_ax, accuracy_ax = figure.subplots(1, 2)

    _plot_band(loss_ax, rates, sweep.band("train_loss"), COLORS["train"], "training", "o")
    _plot_band(loss_ax, rates, sweep.band("validation_loss"), COLORS["validation"], "validation", "o")
    _plot_band(accuracy_ax, rates, sweep.band("validation_accuracy"), COLORS["validation"], "validation", "o")
    accuracy_ax.axhline(0.1, color="grey", linestyle=":", label="chance (10%)")
    loss_ax.axhline(math.log(10), color="grey", linestyle=":", label="uniform guess (ln 10)")

    diverged = sweep.diverged_mask()
    losses = sweep.values("validation_loss")
    finished = diverged & ~np.isnan(losses)
    stopped = diverged & np.isnan(losses)
    rate_grid = np.broadcast_to(rates, losses.shape)
    loss_ax.set_yscale("log")
    loss_ax.set_ylim(top=max(loss_ax.get_ylim()[1], math.log(10)) * 1.8)  # room above the guess line for marks
    if finished.any():
        loss_ax.scatter(rate_grid[finished], losses[finished], marker="x", s=50, color=COLORS["diverged"], zorder=3,
                        label=f"diverged: ended worse than a guess ({int(finished.sum())} of {diverged.size})")
    if stopped.any():  # no final loss or accuracy to draw: a triangle on the edge, pointing off the chart
        label = f"diverged: loss blew up, stopped ({int(stopped.sum())} of {diverged.size})"
        for ax, height, marker in ((loss_ax, 0.97, "^"), (accuracy_ax, 0.03, "v")):
            ax.scatter(rate_grid[stopped], np.full(stopped.sum(), height), transform=ax.get_xaxis_transform(),
                       marker=marker, s=45, color=COLORS["diverged"], zorder=3, label=label)

    recipe = TrainingConfig().learning_rate
    if rates.min() <= recipe <= rates.max():
        for ax in (loss_ax, accuracy_ax):
            ax.axvline(recipe, color="grey", linestyle="--", linewidth=1, label=f"original recipe: {recipe:g}")
    chosen = sweep.chosen_rate
    if chosen is not None:
        column = int(np.flatnonzero(rates == chosen)[0])
        for ax, measure in ((loss_ax, "validation_loss"), (accuracy_ax, "validation_accuracy")):
            ax.axvline(chosen, color=COLORS["chosen"], linewidth=6, alpha=0.25, zorder=0,
                       label=f"chosen: {chosen:g} (lowest validation loss)")
            ax.plot(chosen, sweep.band(measure).mean[column], marker="*", markersize=14, color=COLORS["chosen"],
                    markeredgecolor="black", zorder=4)
        accuracy_ax.annotate(f"{sweep.band('validation_accuracy').mean[column]:.1%}",
                             (chosen, sweep.band("validation_accuracy").mean[column]), xytext=(8, -14),
                             textcoords="offset points", fontsize=9)

    for ax in (loss_ax, accuracy_ax):
        ax.set_xscale("log")
        ax.set_xlim(rates.min() / 1.6, rates.max() * 1.6)  # every rate, even one with no loss to draw
        ax.set_xlabel("learning rate (log scale)")
    loss_ax.set_ylabel("mean cross-entropy after training (nats, log scale)")
    loss_ax.set_title("Loss after training")
    accuracy_ax.set_ylabel("validation accuracy")
    accuracy_ax.set_ylim(0, 1)
    accuracy_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    accuracy_ax.set_title("Validation accuracy after training")
    _legend_below(figure)
    _plain_log_ticks(loss_ax)
    figure.suptitle(f"Learning-rate sweep: {_recipe_text(config.to_dict())}, {_count(config.epochs, 'epoch')} per rate, "
                    f"{_seeds_text(seeds)}\n{_data_text(sweep.outcomes[0].training_images, sweep.data.validation_size)}")
    return figure


def _mark_best_epoch(ax, epoch: int, value: float, text: str, text_at: tuple[float, float]):
    """A line and a star at the best epoch, and ``text`` at ``text_at`` (axes fraction) pointing to it."""
    ax.axvline(epoch, color=COLORS["chosen"], linestyle="--", linewidth=1.2)
    ax.plot(epoch, value, marker="*", markersize=14, color=COLORS["chosen"], markeredgecolor="black", zorder=4)
    ax.annotate(text, (epoch, value), xytext=text_at, textcoords="axes fraction", fontsize=9,
                arrowprops={"arrowstyle": "->", "color": "black", "shrinkB": 8})


def _legend_below(figure: Figure) -> None:
    """One legend for all the figure's axes (each label once), under them, so it never covers a curve."""
    entries: dict[str, object] = {}
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    figure.legend(entries.values(), entries.keys(), loc="outside lower center", ncols=3, frameon=False)


def _plain_log_ticks(ax) -> None:
    """Label a log y axis 0.05, 0.1, 0.2 rather than 5x10^-2; minor ticks too when it spans little."""
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_major_formatter(plain)
    low, high = ax.get_ylim()
    if high / low < 20:
        ax.yaxis.set_minor_formatter(plain)


def _loss_and_accuracy_axes(figure: Figure):
    loss_ax, accuracy_ax = figure.subplots(1, 2)
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_ax.set_ylabel("mean cross-entropy (nats, log scale)")
    loss_ax.set_yscale("log")
    loss_ax.set_title("Loss")
    accuracy_ax.set_ylabel("accuracy")
    accuracy_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    accuracy_ax.set_title("Accuracy")
    return loss_ax, accuracy_ax


@styled
def epoch_figure(sweep: EpochSweep) -> Figure:
    """Training and validation loss, and validation accuracy, after every epoch of one long run
    (a band over seeds), with the epoch of lowest validation loss marked."""
    epochs = sweep.epochs
    config = sweep.outcomes[0].config
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    loss_ax, accuracy_ax = _loss_and_accuracy_axes(figure)
    _plot_band(loss_ax, epochs, sweep.band("train_loss"), COLORS["train"], "training (mean over the epoch)")
    validation_loss = sweep.band("validation_loss")
    _plot_band(loss_ax, epochs, validation_loss, COLORS["validation"], "validation (after the epoch)")
    accuracy = sweep.band("validation_accuracy")
    _plot_band(accuracy_ax, epochs, accuracy, COLORS["validation"], "validation")
    best = sweep.best_epoch
    _mark_best_epoch(loss_ax, best, validation_loss.mean[best - 1],
                     f"lowest validation loss: {validation_loss.mean[best - 1]:.4f} at epoch {best}", (0.3, 0.6))
    _mark_best_epoch(accuracy_ax, best, accuracy.mean[best - 1],
                     f"{accuracy.mean[best - 1]:.2%} at epoch {best}, the epoch of lowest\nvalidation loss "
                     f"(highest accuracy: {np.nanmax(accuracy.mean):.2%}, epoch {int(np.nanargmax(accuracy.mean)) + 1})",
                     (0.18, 0.2))
    accuracy_ax.set_ylim(bottom=max(0.0, float(np.nanmin(accuracy.low[: max(3, len(epochs) // 20)]))))
    _legend_below(figure)
    _plain_log_ticks(loss_ax)
    figure.suptitle(f"Loss against epochs: {_recipe_text(config.to_dict())}, learning rate {config.learning_rate:g}, "
                    f"{_seeds_text(len(sweep.outcomes))}\n"
                    f"{_data_text(sweep.outcomes[0].training_images, sweep.data.validation_size)}")
    return figure


def sweep_figure(sweep: Sweep) -> Figure:
    """The figure of a learning-rate or epoch sweep."""
    return learning_rate_figure(sweep) if isinstance(sweep, LearningRateSweep) else epoch_figure(sweep)


@styled
def history_figure(history: list[EpochRecord], recipe: dict) -> Figure:
    """The loss and accuracy curves of one training run, as ``digitnet train`` recorded them."""
    epochs = [r.epoch for r in history]
    figure = Figure(figsize=(11, 4.6), layout="constrained")
    loss_ax, accuracy_ax = _loss_and_accuracy_axes(figure)
    loss_ax.plot(epochs, [r.train_loss for r in history], color=COLORS["train"], marker="o", markersize=3,
                 label="training (mean over the epoch)")
    curves = {"validation": [r.validation_accuracy for r in history], "test": [r.test_accuracy for r in history]}
    validation_loss = [r.validation_loss for r in history]
    if not all(map(math.isnan, validation_loss)):
        loss_ax.plot(epochs, validation_loss, color=COLORS["validation"], marker="o", markersize=3,
                     label="validation (after the epoch)")
    for name, values in curves.items():
        if not all(map(math.isnan, values)):
            accuracy_ax.plot(epochs, values, color=COLORS[name], marker="o", markersize=3, label=name)
    if accuracy_ax.lines:
        accuracy_ax.legend(loc="lower right")
    else:
        accuracy_ax.text(0.5, 0.5, "no held-out accuracy recorded", transform=accuracy_ax.transAxes,
                         ha="center", va="center", color="grey")
    loss_ax.legend(loc="upper right")
    _plain_log_ticks(loss_ax)
    title = (f"Training history: {_recipe_text(recipe)}, learning rate {recipe['learning_rate']:g}, "
             f"{_count(len(history), 'epoch')}, seed {recipe['seed']}")
    if recipe.get("validation_size"):
        title += f", {recipe['validation_size']:,} validation images held out"
    figure.suptitle(title)
    return figure


@styled
def confusion_figure(confusion: np.ndarray) -> Figure:
    """confusion: (classes, classes) counts, row = true digit, column = predicted; log colour scale."""
    classes = len(confusion)
    total, correct = int(confusion.sum()), int(np.trace(confusion))
    figure = Figure(figsize=(7.2, 6.2), layout="constrained")
    ax = figure.subplots()
    shown = np.ma.masked_equal(confusion, 0)
    image = ax.imshow(shown, cmap="viridis", norm=LogNorm(vmin=1, vmax=max(2, confusion.max())))
    for (row, column), count in np.ndenumerate(confusion):
        if count:
            dark = np.log(count) < 0.6 * np.log(max(2, confusion.max()))
            ax.text(column, row, str(count), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.grid(False)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    figure.colorbar(image, ax=ax, shrink=0.85, label="test images (log scale; blank: none)")
    ax.set_title(f"Confusion matrix on {total:,} MNIST test digits\n"
                 f"accuracy {correct / total:.2%}: {total - correct} mistakes off the diagonal")
    return figure


@styled
def mistakes_figure(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, confidences: np.ndarray,
                    of_total: int, columns: int = 10) -> Figure:
    """A gallery of misread digits: images (k, 28, 28) uint8 (ink high), true labels, predicted labels
    and the confidence of each prediction in [0, 1]; ``of_total`` mistakes in all."""
    rows = max(1, math.ceil(len(images) / columns))
    figure = Figure(figsize=(columns * 1.05, rows * 1.3 + 0.9))
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, image, label, prediction, confidence in zip(axes, images, labels, predictions, confidences):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(f"{label} read as {prediction}\n{confidence:.1%} sure", fontsize=8, color="firebrick")
    figure.suptitle(f"The {len(images)} test digits the model misreads most confidently (of {of_total} mistakes)")
    return figure


@styled
def weights_figure(tiles: np.ndarray, columns: int = 16, pixel: int = 2) -> Figure:
    """tiles: (units, side, side), the weights from every input pixel to each first hidden unit (side 28),
    or a convolution's kernels (``insight.first_layer_tiles``).

    The tiles are laid out as one mosaic image drawn ``pixel`` screen pixels per weight, each tile
    divided by its own largest |weight| so that weak and strong units both show their pattern.
    """
    units, side = len(tiles), tiles.shape[1]
    rows = math.ceil(units / columns)
    step = side + 1  # one blank pixel between tiles
    mosaic = np.full((rows * step - 1, columns * step - 1), np.nan)
    for unit, tile in enumerate(tiles):
        row, column = divmod(unit, columns)
        mosaic[row * step : row * step + side, column * step : column * step + side] = \
            tile / (float(np.abs(tile).max()) or 1.0)
    width, height = mosaic.shape[1] * pixel / DPI, mosaic.shape[0] * pixel / DPI
    figure = Figure(figsize=(width + 1.2, height + 0.9), layout="constrained")
    ax = figure.subplots()
    colormap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
    image = ax.imshow(mosaic, cmap=colormap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    figure.colorbar(image, ax=ax, shrink=0.6, label="weight / largest |weight| of its unit")
    ax.set_title(f"First-layer weights: what each of the {units} units looks for in a {side}x{side} patch\n"
                 "red: ink there excites the unit; blue: ink there inhibits it")
    return figure


@styled
def augment_figure(columns: dict[str, np.ndarray], title: str) -> Figure:
    """A grid of digits: one row per example, one column per entry of ``columns`` (title -> (n, 784)),
    as ``augment.example_grid`` gives them."""
    titles = list(columns)
    rows = len(columns[titles[0]])
    figure = Figure(figsize=(0.9 * len(titles), 0.9 * rows + 1.2), layout="constrained")
    axes = figure.subplots(rows, len(titles), squeeze=False)
    for c, name in enumerate(titles):
        axes[0, c].set_title(name, fontsize=9)
        for r in range(rows):
            axes[r, c].imshow(columns[name][r].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            axes[r, c].set_axis_off()
    figure.suptitle(title)
    return figure
