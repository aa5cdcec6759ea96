"""digitnet train: train a network on MNIST and save it as a model file."""

import argparse
import datetime
import json
import os
import signal
import sys
from pathlib import Path

from digitnet.cli.options import add_data_option, non_negative_int, positive_float, positive_int

DEFAULT_VALIDATION = 5000


def default_output_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(base) / "digitnet" / "models" / f"model-{stamp}.npz"


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.stem + ".ckpt.npz")


def history_path(out: Path) -> Path:
    return out.with_name(out.stem + ".history.json")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help="train a network on MNIST",
                              description="Train a network with mini-batch SGD (defaults: the original recipe).")
    p.add_argument("--epochs", type=positive_int, default=200, help="passes over the training set (default 200)")
    p.add_argument("--learning-rate", "--lr", type=positive_float, default=0.1, help="SGD step size (default 0.1)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="examples per SGD step (default 32)")
    p.add_argument("--hidden", type=positive_int, nargs="+", default=[128, 64], metavar="N",
                   help="hidden layer widths (default 128 64)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--validation", type=non_negative_int, default=DEFAULT_VALIDATION, metavar="N",
                   help=f"hold out the last N training images for validation (default {DEFAULT_VALIDATION}; 0 = none)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--out", type=Path, metavar="PATH",
                   help="where to write the model (default: a new file under ~/.local/share/digitnet/models)")
    p.add_argument("--resume", type=Path, metavar="CHECKPOINT", help="continue an interrupted run")
    p.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines still go to stderr)")
    add_data_option(p)
    return p


def run(args) -> int:
    from digitnet.cli import EXIT_INTERRUPTED
    from digitnet.cli.progress import ProgressReporter
    from digitnet.data import load_dataset, split_train_validation, test_split
    from digitnet.modelfile import Model, save_model
    from digitnet.training import (StopRequest, TrainingConfig, TrainingRun, evaluate_split, history_as_dicts,
                                   load_checkpoint, save_checkpoint, train)

    if args.resume:
        training_run, state = load_checkpoint(args.resume)
        out, validation_size = Path(state["out"]), state["validation_size"]
    else:
        config = TrainingConfig(layer_sizes=(784, *args.hidden, 10), learning_rate=args.learning_rate,
                                batch_size=args.batch_size, epochs=args.epochs, seed=args.seed, dtype=args.dtype)
        training_run = TrainingRun.start(config)
        out, validation_size = (args.out or default_output_path()).absolute(), args.validation
    config = training_run.config

    dataset = load_dataset(args.data_dir)
    train_split, validation = split_train_validation(dataset, validation_size)
    test = test_split(dataset)
    print(f"training {'-'.join(map(str, config.layer_sizes))} on {len(train_split)} images from {dataset.source} "
          f"(validation {len(validation)}): lr {config.learning_rate:g}, batch {config.batch_size}, "
          f"{config.epochs} epochs, seed {config.seed}", file=sys.stderr)

    stop = StopRequest()
    reporter = ProgressReporter(config.epochs, show_bar=not args.quiet)
    previous_handler = signal.signal(signal.SIGINT, lambda *_: setattr(stop, "requested", True))
    try:
        train(training_run, train_split, validation, test, reporter=reporter, stop=stop)
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        reporter.close()

    if not training_run.finished:
        checkpoint = checkpoint_path(out)
        save_checkpoint(checkpoint, training_run, {"out": str(out), "validation_size": validation_size})
        p = training_run.position
        print(f"interrupted at epoch {p.epoch + 1} step {p.step}; checkpoint saved to {checkpoint}\n"
              f"resume with: digitnet train --resume {checkpoint}", file=sys.stderr)
        return EXIT_INTERRUPTED

    validation_loss, validation_accuracy = evaluate_split(training_run.network, validation)
    test_accuracy = evaluate_split(training_run.network, test)[1]
    history = history_as_dicts(training_run.history)
    metadata = {
        "recipe": {**config.to_dict(), "validation_size": validation_size, "optimizer": "sgd"},
        "data": {"source": dataset.source, "sha256": dataset.sha256, "train_images": len(train_split)},
        "metrics": {"train_loss": history[-1]["train_loss"],
                    "validation_accuracy": None if len(validation) == 0 else validation_accuracy,
                    "validation_loss": None if len(validation) == 0 else validation_loss,
                    "test_accuracy": test_accuracy},
        "training_seconds": round(sum(r.seconds for r in training_run.history), 2),
    }
    save_model(out, Model(training_run.network, metadata))
    history_file = history_path(out)
    tmp = history_file.with_name(history_file.name + ".part")
    tmp.write_text(json.dumps({"recipe": metadata["recipe"], "history": history}, indent=1))
    os.replace(tmp, history_file)
    checkpoint_path(out).unlink(missing_ok=True)
    print(f"test accuracy {test_accuracy:.4f}; model saved to {out}; history in {history_file}")
    return 0
