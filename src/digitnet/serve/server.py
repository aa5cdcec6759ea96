"""Listening on a socket and running the web app there with uvicorn, with limits on every connection.

uvicorn's h11 protocol with: request headers of at most ``MAX_HEADER_BYTES`` (larger: 400), a
connection that has not sent a whole request head within ``REQUEST_HEAD_SECONDS`` of opening or
of its previous reply is closed (silent connections, half-sent headers), and an idle keep-alive
connection is closed after ``KEEP_ALIVE_SECONDS``. (The body's own time limit is in ``upload``.)
"""

import signal
import socket

import uvicorn
from threadpoolctl import threadpool_limits
from uvicorn.protocols.http.h11_impl import H11Protocol

from digitnet.errors import DigitnetError
from digitnet.serve.limits import KEEP_ALIVE_SECONDS, MAX_HEADER_BYTES, REQUEST_HEAD_SECONDS


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening; port 0 picks a free one. DigitnetError if it cannot."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except (OSError, OverflowError) as e:
        raise DigitnetError(f"cannot listen on {host}:{port} ({getattr(e, 'strerror', None) or e})") from None


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"




class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that has not sent a whole request head
    within ``REQUEST_HEAD_SECONDS`` (however slowly it trickles bytes in)."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self.loop.call_later(REQUEST_HEAD_SECONDS, self._close_if_no_new_request, self.cycle)

    def _close_if_no_new_request(self, cycle_then) -> None:
        """Close unless a request head came in since the timer was armed (then ``self.cycle`` is
        another) or the one that did is still being answered."""
        idle = self.cycle is None or self.cycle.response_complete
        if self.cycle is cycle_then and idle and not self.transport.is_closing():
            self.transport.close()


def uvicorn_server(app, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app`` that logs only warnings, with the limits above;
    ``.run(sockets=[sock])`` serves until Ctrl+C."""
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, http=TimedH11Protocol,
                                         h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                                         timeout_keep_alive=KEEP_ALIVE_SECONDS))


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
