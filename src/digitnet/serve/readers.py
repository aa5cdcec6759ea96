"""Where the web app reads images: in a thread of its own process, or in a pool of reader processes.

Reading an image is CPU-bound Python that holds the GIL most of the time, so one process reads one
image at a time whatever the number of threads; extra threads would only take turns on the GIL,
each switch costing time. To use several cores the app hands images to reader processes that
share one queue, so every request goes to whichever reader is free first. (Server processes that
each accept their own connections balance far worse: keep-alive connections stay with the process
that accepted them, and a burst of 16 was seen to land 14 on one process and 2 on the other.)

Both readers answer with the reply already encoded as JSON bytes, so the encoding, too, happens
where the reading does, off the event loop.
"""

import asyncio
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import anyio
import orjson
from threadpoolctl import threadpool_limits

from digitnet.errors import DigitnetError
from digitnet.modelfile import Model
from digitnet.reading import annotate as annotate_image
from digitnet.reading import load_image, read_digits
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
    """Reads in one worker thread of the app's process; requests beyond the first wait their turn."""

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
    """A reader process died; the pool has been restarted, so the next request will be read."""


class ProcessReader:
    """Reads in ``processes`` forked processes fed from one queue.

    The processes are forked at once, from this process as it is (the model already loaded, no
    server thread started yet), so they share the model's memory and need no copy of it.
    """

    def __init__(self, model: Model, processes: int):
        self.model = model
        self.processes = processes
        self._pool = self._start_pool()

    def _start_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_become_reader, initargs=(self.model,))
        for started in [pool.submit(_ready) for _ in range(self.processes)]:
            started.result()
        return pool

    async def read(self, image: bytes, image_name: str, annotate: bool, explain: bool = False) -> bytes:
        """The JSON reply for an encoded image. Raises ImageError for an unreadable one."""
        try:
            return await asyncio.wrap_future(self._pool.submit(_read_in_reader, image, image_name, annotate, explain))
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start_pool()
            raise ReaderUnavailable("a reader process stopped while reading; it has been restarted") from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_reader_model: Model | None = None  # in a reader process: the model it reads with


def _become_reader(model: Model) -> None:
    global _reader_model
    _reader_model = model
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the server, which then stops its readers
    threadpool_limits(1, user_api="blas")  # one image's matrices are small: more BLAS threads only contend


def _ready() -> bool:
    return True


def _read_in_reader(image: bytes, image_name: str, annotate: bool, explain: bool) -> bytes:
    return read_reply_json(image, image_name, _reader_model, annotate, explain)
