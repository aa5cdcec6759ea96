"""A ``digitnet serve`` subprocess to probe, raw HTTP/1.1 over sockets, and a mixed load with a
reader killed mid-way (also runnable on its own: ``python -m tests.hostile.live_server 2000``)."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.hostile.inputs import digit_page, encoded


class LiveServer:
    """``digitnet serve --port 0 ARGS`` in a subprocess; its stderr kept in a file to inspect."""

    def __init__(self, *args: str):
        self.stderr = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen([sys.executable, "-m", "digitnet", "serve", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=self.stderr, text=True,
                                        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        url = self.process.stdout.readline().split()[2]  # "digitnet serve: http://127.0.0.1:PORT/ ..."
        self.port = int(url.rstrip("/").rsplit(":", 1)[1])

    def reader_pids(self) -> list[int]:
        """The reader processes: the server's children."""
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
            return [int(pid) for pid in f.read().split()]

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self) -> str:
        """Stop the server (SIGTERM); what it wrote on stderr."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.log()

    def connect(self, timeout: float = 20) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                timeout: float = 20) -> tuple[int, dict, bytes]:
        """(status, headers in lower case, body) of one request on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": f"127.0.0.1:{self.port}", **(headers or {})})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()


def seconds_until_closed(sock: socket.socket, trickle: bytes = b"", every: float = 0.5, limit: float = 30) -> float:
    """Seconds until the server closes ``sock``, sending ``trickle`` a byte at a time meanwhile."""
    started = time.perf_counter()
    sock.settimeout(every)
    sent = 0
    while time.perf_counter() - started < limit:
        try:
            if sock.recv(65536) == b"":
                return time.perf_counter() - started
        except TimeoutError:
            if sent < len(trickle):
                sock.sendall(trickle[sent : sent + 1])
                sent += 1
        except (ConnectionResetError, BrokenPipeError):
            return time.perf_counter() - started
    return float("inf")


@dataclass
class LoadResult:
    statuses: dict[int, int]  # status -> count
    unanswered: int
    seconds: float


MIXED_BODIES = {  # what each kind of request sends, and the status it should get
    "drawing": (lambda: encoded(digit_page((280, 140)), "PNG"), 200),
    "photo": (lambda: encoded(digit_page((640, 480)).convert("RGB"), "JPEG"), 200),
    "not_an_image": (lambda: b"this is not an image", 400),
    "truncated": (lambda: encoded(digit_page((280, 140)), "PNG")[:120], 400),
}


def mixed_load(server: LiveServer, requests: int, concurrent: int = 16, kill_reader_after: int | None = None,
               timeout: float = 60) -> LoadResult:
    """``requests`` POSTs cycling through MIXED_BODIES, ``concurrent`` at a time; once
    ``kill_reader_after`` have been answered, one reader process is killed (SIGKILL)."""
    kinds = list(MIXED_BODIES)
    bodies = {kind: make() for kind, (make, _) in MIXED_BODIES.items()}
    answered, statuses, killed = [0], {}, [False]

    def one(i: int) -> int | None:
        try:
            status = server.request("POST", "/api/read", bodies[kinds[i % len(kinds)]],
                                    {"Content-Type": "application/octet-stream"}, timeout=timeout)[0]
        except (OSError, http.client.HTTPException):
            return None
        answered[0] += 1
        if kill_reader_after is not None and answered[0] >= kill_reader_after and not killed[0]:
            killed[0] = True
            os.kill(server.reader_pids()[0], signal.SIGKILL)
        return status

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrent) as pool:
        results = list(pool.map(one, range(requests)))
    for status in results:
        statuses[status] = statuses.get(status, 0) + 1
    return LoadResult({k: v for k, v in statuses.items() if k is not None}, statuses.get(None, 0),
                      time.perf_counter() - started)


def expected_statuses(requests: int) -> dict[int, int]:
    kinds = list(MIXED_BODIES)
    counts = {}
    for i in range(requests):
        status = MIXED_BODIES[kinds[i % len(kinds)]][1]
        counts[status] = counts.get(status, 0) + 1
    return counts


if __name__ == "__main__":
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    server = LiveServer("--workers", "2")
    try:
        result = mixed_load(server, total, kill_reader_after=total // 2)
    finally:
        log = server.stop()
    print(f"{total} requests, 16 at a time, a reader killed after {total // 2}: statuses {result.statuses} "
          f"(expected {expected_statuses(total)}), {result.unanswered} unanswered, {result.seconds:.1f} s; "
          f"tracebacks in the log: {log.count('Traceback')}")
