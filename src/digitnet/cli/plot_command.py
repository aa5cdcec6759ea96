"""digitnet plot: draw one figure (a training run, a sweep, or what a model learned) into an image file.

Each figure is a row of FIGURES: its help, a function adding its own arguments, and a function
that loads what it needs and returns the ``matplotlib`` figure (imports happen there, so the CLI
starts fast). To add a figure, write those two functions and add its row.
"""

import argparse
from pathlib import Path

from digitnet.cli.options import (FIGURE_FORMATS, add_data_option, add_figure_format_option, add_model_option,
                                  positive_int)
from digitnet.errors import DigitnetError

EXTRA = "train"  # beyond the core install: pip install 'digitnet[train]'


def _history_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("history_run", type=Path, metavar="RUN",
                   help="a model written by 'digitnet train --out X.npz' (its X.history.json is read), "
                        "or the history JSON itself")


def _draw_history(args):
    from digitnet.plots import history_figure
    from digitnet.study import load_run_history

    recipe, history = load_run_history(args.history_run)
    return history_figure(history, recipe)


def _sweep_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", type=Path, metavar="RESULTS", help="the .json that 'digitnet sweep' wrote")


def _draw_sweep(args):
    from digitnet.plots import sweep_figure
    from digitnet.study import load_sweep

    if args.results.suffix.lower() != ".json":
        raise DigitnetError(f"{args.results}: give the .json file that 'digitnet sweep' wrote "
                            "(the .csv beside it is only its table)")
    return sweep_figure(load_sweep(args.results))


def _model_and_data_arguments(p: argparse.ArgumentParser) -> None:
    add_model_option(p)
    add_data_option(p)


def _draw_confusion(args):
    from digitnet.data import load_dataset, test_split
    from digitnet.evaluation import evaluate_model
    from digitnet.modelfile import load_model
    from digitnet.plots import confusion_figure

    return confusion_figure(evaluate_model(load_model(args.model), test_split(load_dataset(args.data_dir))).confusion)


def _errors_arguments(p: argparse.ArgumentParser) -> None:
    _model_and_data_arguments(p)
    p.add_argument("--count", type=positive_int, default=40, help="how many mistakes to show (default 40)")


def _draw_errors(args):
    from digitnet.data import load_dataset, test_split
    from digitnet.insight import mistakes
    from digitnet.modelfile import load_model
    from digitnet.plots import mistakes_figure

    dataset = load_dataset(args.data_dir)
    found = mistakes(load_model(args.model), test_split(dataset))
    shown = slice(0, args.count)
    return mistakes_figure(dataset.test_images[found.indices[shown]], found.labels[shown],
                           found.predictions[shown], found.confidences[shown], of_total=len(found))


def _draw_weights(args):
    from digitnet.insight import first_layer_tiles
    from digitnet.modelfile import load_model
    from digitnet.plots import weights_figure

    return weights_figure(first_layer_tiles(load_model(args.model)))


def _augment_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", default="best", metavar="NAME|FILE",
                   help="whose augmentation to show: best (default), a .toml recipe file or a model file")
    p.add_argument("--count", type=positive_int, default=8, help="how many training digits (rows; default 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the distortions (default 0)")
    add_data_option(p)


def _draw_augment(args):
    import numpy as np

    from digitnet.data import load_dataset, split_train_validation
    from digitnet.plots import augment_figure
    from digitnet.training.augmentation import example_grid
    from digitnet.training.recipes import load_recipe

    recipe = load_recipe(args.recipe)
    a = recipe.config.augmentation
    if not a.enabled:
        raise DigitnetError(f"recipe {recipe.name} does not augment its training images")
    digits = split_train_validation(load_dataset(args.data_dir), 0)[0].images[: args.count]
    columns = example_grid(digits, a, np.random.default_rng(args.seed))
    return augment_figure(columns, f"Training digits under recipe {recipe.name}'s distortions: each alone, "
                                   f"then all together\nup to: shift {a.shift:g} px, rotation {a.rotation:g} deg, "
                                   f"scale {a.scale:.0%}, shear {a.shear:g} deg,\nelastic {a.elastic:g} px RMS, "
                                   f"thickness {a.thickness:.0%} of one pixel")


FIGURES = {
    "history": ("loss and accuracy per epoch of a training run", _history_arguments, _draw_history),
    "sweep": ("redraw the figure of a sweep from its results", _sweep_arguments, _draw_sweep),
    "confusion": ("confusion matrix of a model on the MNIST test set", _model_and_data_arguments, _draw_confusion),
    "errors": ("gallery of the test digits a model misreads, surest first", _errors_arguments, _draw_errors),
    "weights": ("first-layer weights of a model as 28x28 tiles", add_model_option, _draw_weights),
    "augment": ("a grid of training digits distorted by a recipe's augmentation", _augment_arguments, _draw_augment),
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("plot", help="draw a figure of a run, a sweep or a model into an image file",
                              description="Draw one figure into a PNG (or SVG/PDF) file.")
    figures = p.add_subparsers(dest="figure", required=True, metavar="FIGURE")
    for name, (help_text, add_arguments, _) in FIGURES.items():
        figure = figures.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        add_arguments(figure)
        figure.add_argument("--out", type=Path, required=True, metavar="PATH",
                            help="image file to write: .png, .svg or .pdf (with no suffix, --format's is added)")
        add_figure_format_option(figure)
    return p


def figure_path(out: Path, format: str | None) -> tuple[Path, str]:
    """Where to write and in which format: the suffix of --out (.png, .svg, .pdf) or --format, which
    must agree; with no suffix, --format's (default PNG) is added. Any other extension is refused."""
    suffix = out.suffix.lower().lstrip(".")
    if suffix in FIGURE_FORMATS:
        if format and format != suffix:
            raise DigitnetError(f"--out {out} is .{suffix} but --format is {format}")
        return out, suffix
    if suffix.isalpha():  # an extension (h.bmp); "lr-0.1" is a name with a dot in it
        raise DigitnetError(f"--out {out}: a figure is written as {', '.join('.' + f for f in FIGURE_FORMATS)}, "
                            f"not .{suffix}")
    format = format or "png"
    return out.with_name(out.name + "." + format), format


def run(args) -> int:
    from digitnet.cli import printable
    from digitnet.plots import save_figure

    path, format = figure_path(args.out, args.format)
    if path.exists() and not path.is_file():
        raise DigitnetError(f"--out {printable(path)} is a directory or device, not a file to write")
    figure = FIGURES[args.figure][2](args)
    try:
        save_figure(figure, path, format)
    except OSError as e:
        raise DigitnetError(f"cannot write {printable(path)} ({e.strerror or e})") from None
    print(f"wrote {printable(path)}")
    return 0
