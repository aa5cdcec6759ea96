"""Listening on a socket and running the web app there with uvicorn."""

import socket

import uvicorn

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
