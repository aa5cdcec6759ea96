"""Listening on a socket and running the web app there with uvicorn, in one or several processes."""

import os
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


def serve(app, sock: socket.socket, workers: int = 1) -> None:
    """Serve ``app`` on ``sock`` until Ctrl+C or SIGTERM, in ``workers`` processes sharing the socket.

    Reading an image is CPU-bound Python, so one process uses one core however many requests wait;
    the extra workers are forked once the model is loaded and share its memory.
    """
    threadpool_limits(1, user_api="blas")  # a request's matrices are small: more BLAS threads only contend
    children = []
    for _ in range(workers - 1):
        pid = os.fork()
        if pid == 0:
            try:
                uvicorn_server(app).run(sockets=[sock])
            finally:
                os._exit(0)  # a worker never returns into the command that forked it
        children.append(pid)
    # uvicorn re-raises the signal that stopped it once it has shut down: exit cleanly instead, so
    # that the workers are stopped below.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    try:
        uvicorn_server(app).run(sockets=[sock])
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def _exit_quietly(signum, frame):
    raise SystemExit(0)
