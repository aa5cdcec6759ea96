"""digitnet sweep: train the recipe many times (at several learning rates, or for many epochs) and plot it."""

import argparse
import datetime
import math
import os
import sys
from pathlib import Path

from digitnet.cli.options import (add_data_option, add_figure_format_option, non_negative_int, positive_float,
                                  positive_int)

EXTRA = "train"  # beyond the core install: pip install 'digitnet[train]'
SWEEPS = {"lr": "learning-rate-sweep", "epochs": "epoch-sweep"}  # subcommand -> file stem of its results


def default_output_dir(sweep: str) -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "digitnet" / "sweeps" / f"{sweep}-{datetime.datetime.now():%Y%m%d-%H%M%S}"


def jobs_count(text: str) -> int:
    if text.strip() == "-1":
        return -1
    return positive_int(text)


def _add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=positive_int, default=1,
                   help="trainings per setting, with seeds SEED, SEED+1, ... (mean and band; default 1)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="first random seed (default 0)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="examples per SGD step (default 32)")
    p.add_argument("--hidden", type=positive_int, nargs="+", default=[128, 64], metavar="N",
                   help="hidden layer widths (default 128 64)")
    p.add_argument("--subset", type=positive_int, metavar="N",
                   help="train on the first N training images only (default: all but the validation images)")
    p.add_argument("--validation", type=positive_int, default=5000, metavar="N",
                   help="validate on the last N training images (default 5000)")
    p.add_argument("--jobs", type=jobs_count, default=-1, metavar="N",
                   help="trainings at once, each on one core (default -1: all cores, or all Dask workers)")
    p.add_argument("--backend", choices=("loky", "dask"), default="loky",
                   help="where trainings run: local worker processes (loky, default) or a Dask cluster")
    p.add_argument("--scheduler", metavar="HOST:PORT", help="address of the Dask scheduler (with --backend dask)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="directory for the results (.json, .csv) and the figure "
                        "(default: a new directory under ~/.local/share/digitnet/sweeps)")
    add_figure_format_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    add_data_option(p)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("sweep", help="learning-rate and epoch sweeps of the recipe, with figures",
                              description="Train the recipe from scratch many times and plot what changes.")
    sweeps = p.add_subparsers(dest="sweep", required=True, metavar="SWEEP")
    lr = sweeps.add_parser("lr", help="final loss and accuracy against learning rate",
                           description="Train at each learning rate for a few epochs and compare the final "
                                       "training and validation loss; diverged trainings are kept and marked.")
    lr.add_argument("--rates", type=positive_float, nargs="+", metavar="RATE",
                    help="learning rates to try (default: 21 rates log-spaced from 0.001 to 10)")
    lr.add_argument("--epochs", type=positive_int, default=2, help="epochs per training (default 2)")
    epochs = sweeps.add_parser("epochs", help="loss and accuracy after every epoch of one long run",
                               description="One training run measured after every epoch: the curve of "
                                           "retraining for each epoch count, at a fraction of the cost.")
    epochs.add_argument("--epochs", type=positive_int, default=200, help="epochs to train (default 200)")
    epochs.add_argument("--learning-rate", "--lr", type=positive_float, default=0.1,
                        help="SGD step size (default 0.1)")
    for sweep in (lr, epochs):
        _add_common_options(sweep)
    return p


def run(args) -> int:
    import json

    from digitnet import plots, study
    from digitnet.atomic import write_text_atomically
    from digitnet.training import TrainingConfig

    data = study.DataSpec(args.data_dir, args.validation, args.subset)
    rates = (args.rates or study.DEFAULT_LEARNING_RATES) if args.sweep == "lr" else (args.learning_rate,)
    base = TrainingConfig(layer_sizes=(784, *args.hidden, 10), learning_rate=rates[0], batch_size=args.batch_size,
                          epochs=args.epochs, seed=args.seed)
    trainings = len(rates) * args.seeds
    progress, reporter, close = _progress(args, trainings, base.epochs)
    options = {"jobs": args.jobs, "backend": args.backend, "scheduler": args.scheduler, "reporter": reporter,
               "progress": progress}
    try:
        if args.sweep == "lr":
            sweep = study.learning_rate_sweep(base, rates, args.seeds, data, **options)
        else:
            sweep = study.epoch_sweep(base, args.seeds, data, **options)
    finally:
        close()

    out = (args.out or default_output_dir(args.sweep)).absolute()
    stem = out / SWEEPS[args.sweep]
    record = study.sweep_to_dict(sweep)
    write_text_atomically(stem.with_suffix(".json"), json.dumps(record, indent=1))
    write_text_atomically(stem.with_suffix(".csv"), _csv(sweep.table_rows()))
    figure_path = stem.with_suffix("." + (args.format or "png"))
    plots.save_figure(plots.sweep_figure(sweep), figure_path, args.format or "png")

    if args.json:
        print(json.dumps({**record, "files": {"results": str(stem.with_suffix(".json")),
                                              "table": str(stem.with_suffix(".csv")), "figure": str(figure_path)}}))
        return 0
    print(format_learning_rate_sweep(sweep) if args.sweep == "lr" else format_epoch_sweep(sweep))
    print(f"results in {stem.with_suffix('.json')} and .csv; figure {figure_path}")
    return 0


def _progress(args, trainings: int, epochs: int):
    """(progress callback, epoch reporter, close): a bar over trainings, or over epochs for a single one."""
    if args.quiet:
        return None, None, lambda: None
    if trainings == 1 and args.backend == "loky":
        from digitnet.cli.progress import ProgressReporter

        reporter = ProgressReporter(epochs)
        return None, reporter, reporter.close
    from tqdm import tqdm

    bar = tqdm(total=trainings, desc=f"sweep {args.sweep}", unit="training", file=sys.stderr, dynamic_ncols=True,
               disable=None)  # None: drawn only when stderr is a terminal, never as \r frames into a log

    def progress(outcome) -> None:
        result = "diverged" if outcome.diverged else f"val loss {outcome.validation_loss:.4f}"
        bar.set_postfix_str(f"lr {outcome.config.learning_rate:g} seed {outcome.config.seed}: {result}", refresh=False)
        bar.update()

    return progress, None, bar.close


def _csv(rows: list[dict]) -> str:
    import csv
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def _cell(value: float, spec: str, width: int) -> str:
    """A number for a table, or "-" where no training had one (they all diverged)."""
    return f"{'-' if math.isnan(value) else format(value, spec):>{width}}"


def format_learning_rate_sweep(sweep) -> str:
    """A table: per rate, the mean final losses and validation accuracy, and how many trainings diverged."""
    mean = {m: sweep.band(m).mean for m in ("train_loss", "validation_loss", "validation_accuracy")}
    diverged = sweep.diverged_mask()
    lines = [f"{'rate':>8}  {'train loss':>10}  {'val loss':>8}  {'val acc':>7}  diverged"]
    for i, rate in enumerate(sweep.rates):
        cells = [_cell(mean["train_loss"][i], ".4f", 10), _cell(mean["validation_loss"][i], ".4f", 8),
                 _cell(mean["validation_accuracy"][i], ".2%", 7)]
        lines.append(f"{rate:>8g}  {'  '.join(cells)}  {int(diverged[:, i].sum())}/{diverged.shape[0]}")
    chosen = sweep.chosen_rate
    lines.append("no rate trained without diverging" if chosen is None
                 else f"chosen learning rate {chosen:g} (lowest mean validation loss, no seed diverged)")
    return "\n".join(lines)


def format_epoch_sweep(sweep) -> str:
    best, last = sweep.best_epoch, len(sweep.epochs)
    loss, accuracy = sweep.band("validation_loss").mean, sweep.band("validation_accuracy").mean
    return (f"best validation loss {loss[best - 1]:.4f} at epoch {best} (validation accuracy {accuracy[best - 1]:.2%}); "
            f"after epoch {last}: validation loss {loss[last - 1]:.4f}, accuracy {accuracy[last - 1]:.2%}")
