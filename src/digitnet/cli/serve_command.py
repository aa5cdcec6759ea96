"""digitnet serve: a local web page to draw digits or drop a photo and watch the network read them."""

import argparse

from digitnet.cli.options import add_model_option, positive_float, positive_int
from digitnet.serve.limits import READ_SECONDS

EXTRA = "serve"  # beyond the core install: pip install 'digitnet[serve]'


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def add_parser(subparsers):
    p = subparsers.add_parser("serve", help="a local web page: draw digits or drop a photo, see the network read them",
                              description="Serve a web page where you draw digits or drop a photo and watch the "
                                          "network read them: the probability of every digit, the 28x28 input it "
                                          "saw and its hidden activations. Also a JSON API (/api/read, /docs).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 opens it to your network)")
    p.add_argument("--port", type=port_number, default=8000, help="port to listen on (default 8000; 0: any free port)")
    p.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="reader processes (default 1; one per CPU core reads the most at once)")
    p.add_argument("--read-seconds", type=positive_float, default=READ_SECONDS, metavar="S",
                   help=f"time budget of one read: a longer one is stopped and answered 504 (default {READ_SECONDS:g})")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a host name to answer to besides localhost, IP addresses and --host (e.g. the "
                        "machine's name, with --host 0.0.0.0); repeatable")
    add_model_option(p)
    return p


def run(args) -> int:
    from digitnet.modelfile import load_model
    from digitnet.serve.app import create_app
    from digitnet.serve.readers import ProcessReader
    from digitnet.serve.server import listen, serve, url_of

    model = load_model(args.model)
    sock = listen(args.host, args.port)
    reader = ProcessReader(model, args.workers, read_seconds=args.read_seconds)
    try:
        print(f"digitnet serve: {url_of(sock)} (API docs at {url_of(sock)}docs; Ctrl+C stops)", flush=True)
        serve(create_app(model, reader=reader, allowed_hosts=(args.host, *args.allow_host)), sock)
    finally:
        reader.close()
    return 0
