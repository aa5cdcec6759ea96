"""digitnet serve: a local web page to draw digits or drop a photo and watch the network read them."""

import argparse

from digitnet.cli.options import add_model_option, positive_int

EXTRA = "serve"  # beyond the core install: pip install 'digitnet[serve]'


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def add_parser(subparsers):
    p = subparsers.add_parser("serve", help="a local web page: draw digits or drop a photo, see the network read them")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 opens it to your network)")
    p.add_argument("--port", type=port_number, default=8000, help="port to listen on (default 8000; 0: any free port)")
    p.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="processes reading images (default 1: a thread of the server; one per CPU core "
                        "reads the most at once)")
    add_model_option(p)
    return p


def run(args) -> int:
    from digitnet.modelfile import load_model
    from digitnet.serve.app import create_app
    from digitnet.serve.readers import ProcessReader, ThreadReader
    from digitnet.serve.server import listen, serve, url_of

    model = load_model(args.model)
    sock = listen(args.host, args.port)
    reader = ProcessReader(model, args.workers) if args.workers > 1 else ThreadReader(model)
    try:
        print(f"digitnet serve: {url_of(sock)} (API docs at {url_of(sock)}docs; Ctrl+C stops)", flush=True)
        serve(create_app(model, reader=reader), sock)
    finally:
        reader.close()
    return 0
