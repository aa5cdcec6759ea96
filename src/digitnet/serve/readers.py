"""Where the web app reads images: in a thread of its own process, or in a pool of reader processes.

Reading an image is CPU-bound Python that holds the GIL most of the time, so one process reads one
image at a time whatever the number of threads; extra threads would only take turns on the GIL,
each switch costing time. To use several cores the app hands images to reader processes that
share one queue, so every request goes to whichever reader is free first. (Server processes that
each accept their own connections balance far worse: keep-alive connections stay with the process
that accepted them, and a burst of 16 was seen to land 14 on one process and 2 on the other.)

A reader process can be stopped, a thread cannot: ``ProcessReader`` gives every read a time
budget and stops the reader of a request whose client has gone, and a reader that dies costs only
the request it was reading (each reader has its own pipe, so the others and the queue go on). It
is what ``digitnet serve`` uses; ``ThreadReader`` is for the app inside another program or a test.

Both readers answer with the reply already encoded as JSON bytes, so the encoding, too, happens
where the reading does, off the event loop.
"""

import asyncio
import collections
import multiprocessing
import os
import signal

import anyio
import orjson
from threadpoolctl import threadpool_limits

from digitnet.errors import DigitnetError, ImageError
from digitnet.modelfile import Model
from digitnet.reading import annotate as annotate_image
from digitnet.reading import load_image, read_digits
from digitnet.serve.limits import READ_SECONDS
from digitnet.serve.payload import png_data_url, reading_payload


def read_reply(image: bytes, image_name: str, model: Model, annotate: bool, explain: bool = False) -> dict:
    """Read the digits in an encoded image; with ``annotate``, add the annotated image as a PNG data URL;
    with ``explain``, why the network read each digit as it did (``payload.explanation_payload``)."""
    reading = read_digits(image, model, name=image_name)
    payload = reading_payload(reading, model, image_name, explain)
    if annotate:  # decoded again: only this rare request pays for keeping the picture
        payload["annotated_image"] = png_data_url(annotate_image(load_image(image, image_name), reading))
    return payload


def read_reply_json(image: bytes, image_name: str, model: Model, annotate: bool, explain: bool = False) -> bytes:
    """``read_reply`` encoded as compact UTF-8 JSON. orjson: a reply holds ~1,000 floats, which the
    standard library takes 0.4 ms to encode (8% of reading a drawing) and orjson 0.03 ms."""
    return orjson.dumps(read_reply(image, image_name, model, annotate, explain))


class ThreadReader:
    """Reads in one worker thread of the app's process; requests beyond the first wait their turn.

    A thread cannot be stopped: a read runs to its end even when its client has gone."""

    def __init__(self, model: Model):
        self.model = model
        self._one_at_a_time = None  # an anyio limiter belongs to an event loop: made in the first request's

    async def read(self, image: bytes, image_name: str, annotate: bool, explain: bool = False) -> bytes:
        """The JSON reply for an encoded image. Raises ImageError for an unreadable one."""
        if self._one_at_a_time is None:
            self._one_at_a_time = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(read_reply_json, image, image_name, self.model, annotate, explain,
                                              limiter=self._one_at_a_time)

    def close(self) -> None:
        pass


class ReaderUnavailable(DigitnetError):
    """A reader process died while reading this image; it has been replaced (HTTP 503)."""


class ReadTimedOut(DigitnetError):
    """A read went past its time budget; its reader was stopped and replaced (HTTP 504)."""


class ReaderFailed(DigitnetError):
    """Reading raised an unexpected error (a bug, HTTP 500); the reader goes on."""


# The first byte of a reader's answer says what follows.
ANSWER_JSON, ANSWER_IMAGE_ERROR, ANSWER_FAILURE = b"J", b"I", b"F"


class ProcessReader:
    """Reads in ``processes`` forked reader processes; a request waits for the first free one.

    The processes are forked from this process as it is (the model already loaded), so they share
    the model's memory and need no copy of it. A read that takes longer than ``read_seconds``, or
    whose request is cancelled (its client has gone), stops its reader, which is replaced at once.
    ``reply``: what a reader runs on each request (``read_reply_json``; tests pass slower ones).
    """

    def __init__(self, model: Model, processes: int, read_seconds: float = READ_SECONDS, reply=None):
        self.model, self.read_seconds = model, read_seconds
        self._reply = reply or read_reply_json
        self._idle = [self._start_reader() for _ in range(processes)]
        self._busy: set[_ReaderProcess] = set()
        self._waiting: collections.deque[asyncio.Future] = collections.deque()

    @property
    def pids(self) -> list[int]:
        """The process ids of the readers now running."""
        return [reader.pid for reader in [*self._idle, *self._busy]]

    def _start_reader(self) -> "_ReaderProcess":
        return _ReaderProcess(self.model, self._reply)

    async def read(self, image: bytes, image_name: str, annotate: bool, explain: bool = False) -> bytes:
        """The JSON reply for an encoded image. Raises ImageError for an unreadable one,
        ReaderUnavailable if its reader died, ReadTimedOut past the time budget."""
        request = orjson.dumps({"name": image_name, "annotate": annotate, "explain": explain}) + b"\n" + image
        reader = await self._acquire()
        try:
            if not reader.alive():  # died while idle: nothing was lost, read with a new one
                reader = self._replace(reader)
            answer = await reader.exchange(request, self.read_seconds)
        except TimeoutError:
            reader = self._replace(reader)
            raise ReadTimedOut(f"reading took longer than the limit of {self.read_seconds:g} s; stopped") from None
        except (EOFError, OSError):
            reader = self._replace(reader)
            raise ReaderUnavailable("a reader process stopped while reading this image; it has been replaced") \
                from None
        except asyncio.CancelledError:  # the client has gone: stop reading for it
            reader = self._replace(reader)
            raise
        finally:
            self._release(reader)
        kind, body = answer[:1], answer[1:]
        if kind == ANSWER_JSON:
            return body
        if kind == ANSWER_IMAGE_ERROR:
            raise ImageError(body.decode("utf-8", "replace"))
        raise ReaderFailed(f"reading failed: {body.decode('utf-8', 'replace')}")

    async def _acquire(self) -> "_ReaderProcess":
        if self._idle:
            reader = self._idle.pop()
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                reader = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed a reader just as it was cancelled
                    self._release(waiter.result())
                raise
        self._busy.add(reader)
        return reader

    def _release(self, reader: "_ReaderProcess") -> None:
        self._busy.discard(reader)
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._busy.add(reader)
                waiter.set_result(reader)
                return
        self._idle.append(reader)

    def _replace(self, reader: "_ReaderProcess") -> "_ReaderProcess":
        self._busy.discard(reader)
        reader.stop()
        return self._start_reader()

    def close(self) -> None:
        for reader in [*self._idle, *self._busy]:
            reader.stop()
        self._idle, self._busy = [], set()


class _ReaderProcess:
    """One forked reader: a process answering requests on its own pipe, one at a time."""

    def __init__(self, model: Model, reply):
        self.connection, child_end = multiprocessing.Pipe()
        self.reaped = False
        self.pid = os.fork()
        if self.pid == 0:  # the reader process: never returns
            try:
                _keep_only_descriptor(child_end.fileno())
                _answer_requests(child_end, model, reply)
            finally:
                os._exit(0)
        child_end.close()

    def alive(self) -> bool:
        """Whether the process still runs; a dead one is reaped (and its pid never signalled again)."""
        if not self.reaped and os.waitpid(self.pid, os.WNOHANG) != (0, 0):
            self.reaped = True
        return not self.reaped

    async def exchange(self, request: bytes, seconds: float) -> bytes:
        """Send ``request``; its answer once the reader has written it (TimeoutError after ``seconds``)."""
        loop = asyncio.get_running_loop()
        self.connection.send_bytes(request)
        answered = loop.create_future()
        descriptor = self.connection.fileno()
        loop.add_reader(descriptor, lambda: answered.done() or answered.set_result(None))
        try:
            async with asyncio.timeout(seconds):
                await answered
        finally:
            loop.remove_reader(descriptor)
        return self.connection.recv_bytes()  # EOFError if the reader died instead

    def stop(self) -> None:
        if not self.reaped:
            os.kill(self.pid, signal.SIGKILL)  # not yet reaped: the pid is still this reader's
            os.waitpid(self.pid, 0)
            self.reaped = True
        self.connection.close()


def _keep_only_descriptor(keep: int) -> None:
    """In a new reader: close every inherited descriptor but stdin/out/err and ``keep`` (the
    server's sockets above all, so that a connection the server closes is closed)."""
    signal.set_wakeup_fd(-1)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def _answer_requests(connection, model: Model, reply) -> None:
    """A reader's life: answer each request on ``connection`` until the server closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the server, which then stops its readers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threadpool_limits(1, user_api="blas")  # one image's matrices are small: more BLAS threads only contend
    while True:
        try:
            request = connection.recv_bytes()
        except (EOFError, OSError):
            return
        header, image = request.split(b"\n", 1)
        fields = orjson.loads(header)
        try:
            answer = ANSWER_JSON + reply(image, fields["name"], model, fields["annotate"], fields["explain"])
        except ImageError as e:
            answer = ANSWER_IMAGE_ERROR + str(e).encode()
        except Exception as e:  # noqa: BLE001 - a bug in reading must not end the reader
            answer = ANSWER_FAILURE + f"{type(e).__name__}: {e}".splitlines()[0].encode()
        connection.send_bytes(answer)
