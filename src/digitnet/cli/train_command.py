"""digitnet train: train a network on MNIST and save it as a model file."""

import argparse
import datetime
import json
import os
import signal
import sys
from pathlib import Path

from digitnet.cli.options import add_data_option, non_negative_float, non_negative_int, positive_float, positive_int

EXTRA = "train"  # beyond the core install: pip install 'digitnet[train]'


def default_output_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(base) / "digitnet" / "models" / f"model-{stamp}.npz"


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.stem + ".ckpt.npz")


def history_path(out: Path) -> Path:
    return out.with_name(out.stem + ".history.json")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a network on MNIST",
        description="Train a network with mini-batch SGD. A recipe (default: seed, the original: plain SGD, "
                    "lr 0.1, batch 32, 200 epochs) sets every hyper-parameter; the options below override it.")
    p.add_argument("--recipe", metavar="NAME|FILE", default="seed",
                   help="seed (the original), best (augmented, momentum, cosine schedule), a .toml recipe "
                        "file, or a model file whose recipe to repeat (default seed)")
    p.add_argument("--epochs", type=positive_int, help="passes over the training set (seed recipe: 200)")
    p.add_argument("--learning-rate", "--lr", type=positive_float, help="base SGD step size (seed recipe: 0.1)")
    p.add_argument("--batch-size", type=positive_int, help="examples per SGD step (seed recipe: 32)")
    p.add_argument("--hidden", type=positive_int, nargs="+", metavar="N", help="hidden layer widths (default 128 64)")
    p.add_argument("--momentum", type=non_negative_float, help="momentum in [0, 1) (seed recipe: 0)")
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None, help="Nesterov momentum")
    p.add_argument("--weight-decay", type=non_negative_float, help="L2 weight decay (seed recipe: 0)")
    p.add_argument("--patience", type=non_negative_int, metavar="EPOCHS",
                   help="stop after this many epochs without a better validation accuracy (0: never)")
    p.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=None,
                   help="end with the weights of the best validation epoch")
    p.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=None,
                   help="fit a softmax temperature on the validation split and store it in the model "
                        "(seed recipe: no; best: yes)")
    p.add_argument("--seed", type=non_negative_int, help="random seed (default 0)")
    p.add_argument("--validation", type=non_negative_int, metavar="N",
                   help="hold out the last N training images for validation (default 5000; 0 = none)")
    p.add_argument("--dtype", choices=("float32", "float64"))
    p.add_argument("--save-recipe", type=Path, metavar="FILE.toml",
                   help="write the resolved recipe as a TOML file and exit without training")
    p.add_argument("--out", type=Path, metavar="PATH",
                   help="where to write the model (default: a new file under ~/.local/share/digitnet/models)")
    p.add_argument("--resume", type=Path, metavar="CHECKPOINT", help="continue an interrupted run")
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="BLAS threads for the matrix products (default 1: results repeat exactly and a busy "
                        "machine does not stall training; more can be faster on an idle one, and the last "
                        "bits of the weights depend on this number)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines still go to stderr)")
    add_data_option(p)
    return p


def run(args) -> int:
    from digitnet.atomic import write_text_atomically
    from digitnet.calibration import calibrate
    from digitnet.cli import EXIT_INTERRUPTED
    from digitnet.cli.progress import ProgressReporter
    from digitnet.data import load_dataset, split_train_validation, test_split
    from digitnet.errors import ModelFileError, TrainingError
    from digitnet.modelfile import DIGITS, INPUT_PIXELS, Model, save_model
    from digitnet.recipes import Recipe, load_recipe, recipe_to_toml
    from digitnet.training import (TRAINING_BLAS_THREADS, StopRequest, TrainingRun, evaluate_split, history_as_dicts,
                                   load_checkpoint, save_checkpoint, train)

    if args.resume:
        training_run, state = load_checkpoint(args.resume)
        if not {"out", "validation_size"} <= state.keys():
            raise ModelFileError(f"{args.resume}: a checkpoint, but not one written by digitnet train")
        out = Path(state["out"])
        recipe = Recipe(state.get("recipe_name", "custom"), training_run.config, state["validation_size"],
                        state.get("calibrate", False))
    else:
        try:
            recipe = load_recipe(args.recipe).with_overrides(
                layer_sizes=args.hidden and (INPUT_PIXELS, *args.hidden, DIGITS), learning_rate=args.learning_rate,
                batch_size=args.batch_size, epochs=args.epochs, seed=args.seed, dtype=args.dtype,
                momentum=args.momentum, nesterov=args.nesterov, weight_decay=args.weight_decay,
                patience=args.patience, keep_best=args.keep_best, validation_size=args.validation,
                calibrate=args.calibrate)
        except ValueError as e:
            raise TrainingError(f"bad training options: {e}") from None
        if args.save_recipe:
            write_text_atomically(args.save_recipe, recipe_to_toml(recipe))
            print(f"recipe written to {args.save_recipe}", file=sys.stderr)
            return 0
        training_run = TrainingRun.start(recipe.config)
        out = (args.out or default_output_path()).absolute()
    config, validation_size = training_run.config, recipe.validation_size
    if (config.layer_sizes[0], config.layer_sizes[-1]) != (INPUT_PIXELS, DIGITS):
        raise TrainingError(f"layer sizes {list(config.layer_sizes)} must start at {INPUT_PIXELS} (28x28 pixels) "
                            f"and end at {DIGITS} (digits)")

    data_dir = args.data_dir or (state.get("data_dir") if args.resume else None)
    # A resumed run keeps its thread count, so that it ends with the weights of an uninterrupted one.
    blas_threads = args.threads or (state.get("blas_threads") if args.resume else None) or TRAINING_BLAS_THREADS
    if not (isinstance(blas_threads, int) and blas_threads >= 1):
        raise ModelFileError(f"{args.resume}: a checkpoint with a broken thread count {blas_threads!r}")
    dataset = load_dataset(data_dir)
    if args.resume and state.get("data_sha256", dataset.sha256) != dataset.sha256:
        raise TrainingError(f"{args.resume} was trained on other data than {dataset.source}; "
                            f"name the same data with --data-dir")
    train_split, validation = split_train_validation(dataset, validation_size)
    test = test_split(dataset)
    print(f"training {'-'.join(map(str, config.layer_sizes))} with recipe {recipe.name} on {len(train_split)} "
          f"images from {dataset.source} (validation {len(validation)}): lr {config.learning_rate:g} "
          f"({config.schedule.kind}), batch {config.batch_size}, momentum {config.momentum:g}, "
          f"{'augmented, ' if config.augmentation.enabled else ''}{config.epochs} epochs, seed {config.seed}",
          file=sys.stderr)

    stop = StopRequest()
    reporter = ProgressReporter(config.epochs, show_bar=not args.quiet)
    previous_handler = signal.signal(signal.SIGINT, lambda *_: setattr(stop, "requested", True))
    try:
        train(training_run, train_split, validation, test, reporter=reporter, stop=stop, blas_threads=blas_threads)
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        reporter.close()

    if not training_run.finished:
        checkpoint = checkpoint_path(out)
        save_checkpoint(checkpoint, training_run, {
            "out": str(out), "validation_size": validation_size, "recipe_name": recipe.name,
            "calibrate": recipe.calibrate, "data_dir": str(Path(data_dir).absolute()) if data_dir else None,
            "data_sha256": dataset.sha256, "blas_threads": blas_threads})
        p = training_run.position
        print(f"interrupted at epoch {p.epoch + 1} step {p.step}; checkpoint saved to {checkpoint}\n"
              f"resume with: digitnet train --resume {checkpoint}", file=sys.stderr)
        return EXIT_INTERRUPTED

    validation_loss, validation_accuracy = evaluate_split(training_run.network, validation)
    test_accuracy = evaluate_split(training_run.network, test)[1]
    history = history_as_dicts(training_run.history)
    metadata = {
        "recipe": recipe.to_dict(),
        "data": {"source": dataset.source, "sha256": dataset.sha256, "train_images": len(train_split)},
        "metrics": {"train_loss": history[-1]["train_loss"],
                    "validation_accuracy": None if len(validation) == 0 else validation_accuracy,
                    "validation_loss": None if len(validation) == 0 else validation_loss,
                    "test_accuracy": test_accuracy},
        "training_seconds": round(sum(r.seconds for r in training_run.history), 2),
        "blas_threads": blas_threads,
        "epochs_run": len(training_run.history),
    }
    if config.needs_validation:
        metadata["best_epoch"] = training_run.best_epoch
    if recipe.calibrate:
        metadata["calibration"] = calibrate(training_run.network, validation, test)
    save_model(out, Model(training_run.network, metadata))
    history_file = history_path(out)
    write_text_atomically(history_file, json.dumps({"recipe": metadata["recipe"], "history": history}, indent=1))
    checkpoint_path(out).unlink(missing_ok=True)
    print(f"test accuracy {test_accuracy:.4f}; model saved to {out}; history in {history_file}")
    return 0

