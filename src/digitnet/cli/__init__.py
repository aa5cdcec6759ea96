"""``digitnet`` on the command line: one module per subcommand, each a thin layer over the library.

Every subcommand module defines ``add_parser(subparsers)`` (argument definitions only, so it is
cheap to import) and ``run(args) -> int``, which imports what it needs, and names in ``EXTRA`` the
optional dependencies it needs beyond the core install (``pip install 'digitnet[EXTRA]'``), if any.
``main`` turns any ``DigitnetError``, and a package of a missing extra, into one line on stderr and
exit status 2.
"""

import argparse
import importlib
import sys

from digitnet import __version__
from digitnet.errors import DigitnetError

SUBCOMMANDS = ("train", "evaluate", "info", "sweep", "plot", "predict", "serve", "export")
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        self.exit(EXIT_INPUT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="digitnet", description="A from-scratch NumPy network that reads handwritten digits.")
    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"digitnet.cli.{name}_command")
        module.add_parser(subparsers).set_defaults(run=module.run, extra=getattr(module, "EXTRA", None))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DigitnetError as e:
        print(f"digitnet: error: {e}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except ModuleNotFoundError as e:
        package = (e.name or "").partition(".")[0]
        if args.extra is None or package in ("", "digitnet"):
            raise  # the core install lacks nothing a core command imports: this is a bug
        print(f"digitnet: error: digitnet {args.command} needs {package}: pip install 'digitnet[{args.extra}]'",
              file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("digitnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
