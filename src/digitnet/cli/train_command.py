"""digitnet train: train a network on MNIST and save it as a model file."""

import argparse
import datetime
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from digitnet.cli.options import add_data_option, non_negative_float, non_negative_int, positive_float, positive_int

EXTRA = "train"  # beyond the core install: pip install 'digitnet[train]'
MAX_BLAS_THREADS = 256  # a checkpoint asking for more is damaged
# Options a resumed run cannot honour: its checkpoint fixes them (argument name -> flag).
FIXED_BY_CHECKPOINT = {"recipe": "--recipe", "learning_rate": "--learning-rate", "batch_size": "--batch-size",
                       "hidden": "--hidden", "activation": "--activation", "trainer": "--trainer",
                       "momentum": "--momentum", "nesterov": "--nesterov", "weight_decay": "--weight-decay",
                       "patience": "--patience", "keep_best": "--keep-best", "calibrate": "--calibrate",
                       "seed": "--seed", "validation": "--validation", "dtype": "--dtype",
                       "save_recipe": "--save-recipe"}


def default_output_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(base) / "digitnet" / "models" / f"model-{stamp}.npz"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a network on MNIST",
        description="Train a network with mini-batch SGD. A recipe (default: seed, the original: plain SGD, "
                    "lr 0.1, batch 32, 200 epochs) sets every hyper-parameter; the options below override it.")
    p.add_argument("--recipe", metavar="NAME|FILE",
                   help="seed (the original), best (augmented, momentum, cosine schedule), conv (best's "
                        "training, two convolutions in front), a .toml recipe "
                        "file, or a model file whose recipe to repeat (default seed)")
    p.add_argument("--epochs", type=positive_int, help="passes over the training set (seed recipe: 200)")
    p.add_argument("--learning-rate", "--lr", type=positive_float, help="base SGD step size (seed recipe: 0.1)")
    p.add_argument("--batch-size", type=positive_int, help="examples per SGD step (seed recipe: 32)")
    p.add_argument("--hidden", type=positive_int, nargs="+", metavar="N", help="hidden layer widths (default 128 64)")
    p.add_argument("--activation", metavar="NAME",
                   help="of the hidden layers: relu (default), leaky_relu, tanh or sigmoid (nn/activations.py)")
    p.add_argument("--trainer", metavar="NAME",
                   help="fast (default) or reference: the textbook Network + optim code, step by step (slower, "
                        "the same result up to rounding)")
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
    p.add_argument("--overwrite-shipped", action="store_true",
                   help="allow --out to replace a model shipped inside the installed package")
    p.add_argument("--resume", type=Path, metavar="CHECKPOINT",
                   help="continue an interrupted run (with --out, --epochs, --threads, --data-dir; other "
                        "training options are refused: the checkpoint fixes them)")
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="BLAS threads for the matrix products (default 1: results repeat exactly and a busy "
                        "machine does not stall training; more can be faster on an idle one, and the last "
                        "bits of the weights depend on this number)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines still go to stderr)")
    add_data_option(p)
    return p


def run(args) -> int:
    from digitnet.cli import EXIT_INTERRUPTED
    from digitnet.cli.progress import ProgressReporter
    from digitnet.data import load_dataset
    from digitnet.errors import TrainingError
    from digitnet.training import (TRAINING_BLAS_THREADS, StopRequest, checkpoint_path, mnist_training_data,
                                   save_checkpoint, save_trained_model, train_model)

    if args.resume:
        recipe, training_run, state = resumed(args)
        out = args.out.absolute() if args.out else Path(state["out"])
    else:
        recipe, training_run, state = resolved_recipe(args), None, {}
        if args.save_recipe:
            return save_recipe(recipe, args.save_recipe)
        out = (args.out or default_output_path()).absolute()
    check_outputs(out, args.overwrite_shipped)
    config = recipe.config
    data_dir = args.data_dir or state.get("data_dir")
    # A resumed run keeps its thread count, so that it ends with the weights of an uninterrupted one.
    blas_threads = args.threads or state.get("blas_threads") or TRAINING_BLAS_THREADS

    stop = StopRequest()
    with stopped_by_signals(stop):  # from here until the model or the checkpoint is saved
        dataset = load_dataset(data_dir)
        if args.resume and state.get("data_sha256", dataset.sha256) != dataset.sha256:
            raise TrainingError(f"{args.resume} was trained on other data than {dataset.source}; "
                                f"name the same data with --data-dir")
        data = mnist_training_data(dataset, recipe.validation_size)
        print(f"training {config.architecture} ({config.activation}, {config.trainer} trainer) "
              f"with recipe {recipe.name} on {len(data.train)} images from {dataset.source} (validation "
              f"{len(data.validation)}): lr {config.learning_rate:g} ({config.schedule.kind}), batch "
              f"{config.batch_size}, momentum {config.momentum:g}, "
              f"{'augmented, ' if config.augmentation.enabled else ''}{config.epochs} epochs, seed {config.seed}",
              file=sys.stderr)
        reporter = ProgressReporter(config.epochs, show_bar=not args.quiet)
        try:
            training_run, model = train_model(recipe, data, training_run, reporter, stop, blas_threads)
        finally:
            reporter.close()
        if model is None:
            checkpoint = checkpoint_path(out)
            save_checkpoint(checkpoint, training_run, {
                "out": str(out), "validation_size": recipe.validation_size, "recipe_name": recipe.name,
                "calibrate": recipe.calibrate, "data_dir": str(Path(data_dir).absolute()) if data_dir else None,
                "data_sha256": dataset.sha256, "blas_threads": blas_threads})
            p = training_run.position
            print(f"interrupted at epoch {p.epoch + 1} step {p.step}; checkpoint saved to {checkpoint}\n"
                  f"resume with: digitnet train --resume {checkpoint}", file=sys.stderr)
            return EXIT_INTERRUPTED
        history_file = save_trained_model(out, model, training_run)
        if args.resume and args.resume.absolute() != checkpoint_path(out):
            args.resume.unlink(missing_ok=True)  # the finished model supersedes it
    test_accuracy = model.metadata["metrics"]["test_accuracy"]
    measured = "no test images" if test_accuracy is None else f"test accuracy {test_accuracy:.4f}"
    print(f"{measured}; model saved to {out}; history in {history_file}")
    return 0


def resolved_recipe(args):
    """The recipe named by --recipe (default seed) with the options given on the command line."""
    from digitnet.errors import TrainingError
    from digitnet.modelfile import DIGITS, INPUT_PIXELS
    from digitnet.training.recipes import load_recipe

    try:
        return load_recipe(args.recipe or "seed").with_overrides(
            layer_sizes=args.hidden and (INPUT_PIXELS, *args.hidden, DIGITS), learning_rate=args.learning_rate,
            batch_size=args.batch_size, epochs=args.epochs, seed=args.seed, dtype=args.dtype,
            activation=args.activation, trainer=args.trainer, momentum=args.momentum, nesterov=args.nesterov,
            weight_decay=args.weight_decay, patience=args.patience, keep_best=args.keep_best,
            validation_size=args.validation, calibrate=args.calibrate)
    except ValueError as e:
        raise TrainingError(f"bad training options: {e}") from None


def resumed(args):
    """(recipe, run, training state) of the checkpoint named by --resume, with --epochs applied.

    Refuses, in one line, every option the checkpoint fixes, and a state that does not hold up.
    """
    from dataclasses import replace

    from digitnet.errors import ModelFileError, TrainingError
    from digitnet.training import load_checkpoint
    from digitnet.training.recipes import Recipe

    given = [flag for name, flag in FIXED_BY_CHECKPOINT.items() if getattr(args, name) not in (None, False)]
    if given:
        raise TrainingError(f"--resume continues the checkpoint's own training; it cannot take {', '.join(given)}")
    training_run, state = load_checkpoint(args.resume)
    try:
        if not isinstance(state.get("out"), str):
            raise ValueError("no model path")
        threads = state.get("blas_threads")
        if threads is not None and not (isinstance(threads, int) and 1 <= threads <= MAX_BLAS_THREADS):
            raise ValueError(f"thread count {threads!r}")
        if state.get("data_dir") is not None and not isinstance(state["data_dir"], str):
            raise ValueError(f"data directory {state['data_dir']!r}")
        recipe = Recipe(str(state.get("recipe_name", "custom")), training_run.config, state["validation_size"],
                        state.get("calibrate", False))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{args.resume}: a checkpoint, but not a usable one from digitnet train ({e})") from None
    if args.epochs:
        if args.epochs < len(training_run.history):
            raise TrainingError(f"--epochs {args.epochs}: the checkpoint has already run {len(training_run.history)}")
        recipe = recipe.with_overrides(epochs=args.epochs)
        training_run = replace(training_run, config=recipe.config)
    return recipe, training_run, state


def save_recipe(recipe, path: Path) -> int:
    from digitnet.atomic import output_problem, write_text_atomically
    from digitnet.errors import TrainingError
    from digitnet.training.recipes import recipe_to_toml

    problem = output_problem(path)
    if problem:
        raise TrainingError(f"--save-recipe: {problem}")
    write_text_atomically(path, recipe_to_toml(recipe))
    print(f"recipe written to {path}", file=sys.stderr)
    return 0


def check_outputs(out: Path, overwrite_shipped: bool) -> None:
    """Refuse, before any training, a model path (or its history or checkpoint beside it) that cannot be
    written, and the installed package's own models unless ``--overwrite-shipped``."""
    from digitnet.atomic import output_problem
    from digitnet.errors import TrainingError
    from digitnet.modelfile import shipped_model_path
    from digitnet.training import checkpoint_path, history_path

    if out.resolve().parent == shipped_model_path().resolve().parent and not overwrite_shipped:
        raise TrainingError(f"--out {out} is inside the installed package's shipped models; "
                            f"add --overwrite-shipped to replace one")
    for path in (out, history_path(out), checkpoint_path(out)):
        problem = output_problem(path)
        if problem:
            raise TrainingError(f"cannot save the model: {problem}")


@contextmanager
def stopped_by_signals(stop):
    """While inside, SIGINT (Ctrl-C) and SIGTERM ask ``stop`` to end training after the current step
    instead of killing the process, so that a model or a checkpoint is always saved."""
    request = lambda *_: setattr(stop, "requested", True)  # noqa: E731
    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
