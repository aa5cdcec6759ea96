"""``digitnet`` on the command line: one module per subcommand, each a thin layer over the library.

Every subcommand module defines ``add_parser(subparsers)`` (argument definitions only, so it is
cheap to import) and ``run(args) -> int``, which imports what it needs, and names in ``EXTRA`` the
optional dependencies it needs beyond the core install (``pip install 'digitnet[EXTRA]'``), if any.
``main`` turns any ``DigitnetError``, and a package of a missing extra, into
one line on stderr, "digitnet COMMAND: error: ...", and exit status 2. Usage errors end with "(see digitnet COMMAND --help)".

Every message that can hold text a user typed (a file name above all) goes through ``printable``
here, once: a newline or an escape sequence in a name is shown as ``\\n`` or ``\\x1b``, so a message
stays one line and cannot drive the terminal.
"""

import argparse
import importlib
import sys

from digitnet import __version__
from digitnet.errors import DigitnetError

SUBCOMMANDS = ("train", "evaluate", "info", "sweep", "plot", "predict", "serve", "export")
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130


def printable(text) -> str:
    """``str(text)`` with each control character (newline, tab, escape, ...) written as its Python escape."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def error_line(prog: str, message) -> str:
    """The one line an error gets: 'PROG: error: MESSAGE' (PROG e.g. 'digitnet predict'), made printable."""
    return f"{prog}: error: {printable(message)}"


def warning_line(prog: str, message) -> str:
    """'PROG: warning: MESSAGE', made printable."""
    return f"{prog}: warning: {printable(message)}"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that name the (sub)command and point to its own --help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_defaults(parser=self)  # the deepest subcommand's parser wins: it reports stray arguments

    def error(self, message):
        self.exit(EXIT_INPUT_ERROR, f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="digitnet", description="A from-scratch NumPy network that reads handwritten digits.")
    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"digitnet.cli.{name}_command")
        module.add_parser(subparsers).set_defaults(run=module.run, extra=getattr(module, "EXTRA", None))
    return parser


def main(argv: list[str] | None = None) -> int:
    args, stray = build_parser().parse_known_args(argv)
    if stray:
        args.parser.error(f"unrecognized arguments: {' '.join(stray)}")
    try:
        return args.run(args)
    except DigitnetError as e:
        print(error_line(args.parser.prog, e), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except ModuleNotFoundError as e:
        package = (e.name or "").partition(".")[0]
        if args.extra is None or package in ("", "digitnet"):
            raise  # the core install lacks nothing a core command imports: this is a bug
        print(error_line(args.parser.prog, f"{package} is not installed: pip install 'digitnet[{args.extra}]'"),
              file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print(f"{args.parser.prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
