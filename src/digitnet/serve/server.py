"""Listening on a socket and running the web app there with uvicorn."""

import signal
import socket

import uvicorn
from threadpoolctl import threadpool_limits

from digitnet.errors import DigitnetError


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening; port 0 picks a free one. DigitnetError if it cannot."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except (OSError, OverflowError) as e:
        raise DigitnetError(f"cannot listen on {host}:{port} ({getattr(e, 'strerror', None) or e})") from None


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def uvicorn_server(app, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app`` that logs only warnings; ``.run(sockets=[sock])`` serves until Ctrl+C."""
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False))


def serve(app, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until Ctrl+C or SIGTERM.

    One process runs the event loop: it parses requests and sends replies, while the app's reader
    (see ``readers``) does the reading, in a thread or in reader processes.
    """
    threadpool_limits(1, user_api="blas")  # a request's matrices are small: more BLAS threads only contend
    # uvicorn re-raises the signal that stopped it once it has shut down: exit cleanly instead, so that
    # whoever started the server can stop its readers.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    uvicorn_server(app).run(sockets=[sock])


def _exit_quietly(signum, frame):
    raise SystemExit(0)
