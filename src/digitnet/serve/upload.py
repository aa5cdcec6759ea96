"""The image of a ``POST /api/read`` request, held in memory only (nothing is written to disk).

The image comes as the multipart form field ``file`` or as the raw request body. Problems become
``HTTPException``s: 413 for an image over the size limit, 422 for a request without an image,
400 for a malformed multipart body or one of more than ``MAX_MULTIPART_PARTS`` parts, 408 for a
body that has not arrived within ``BODY_SECONDS``. A multipart body is parsed in a worker
thread, off the event loop.
"""

import anyio
from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from digitnet.serve.limits import BODY_SECONDS, MAX_MULTIPART_PARTS, MAX_PART_HEADERS

FILE_FIELD = "file"
RAW_BODY_NAME = "upload"
MULTIPART_ENVELOPE_BYTES = 64 * 1024  # room for the boundaries and part headers around the image
NO_IMAGE = f"no image: send it as the multipart form field {FILE_FIELD!r} or as the raw request body"


def too_large(limit_bytes: int) -> HTTPException:
    return HTTPException(413, f"the image is larger than the upload limit of {limit_bytes / 2**20:g} MiB")


async def read_body(request: Request, limit_bytes: int, seconds: float = BODY_SECONDS) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit_bytes``, and
    with 408 if it has not all come within ``seconds``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        raise too_large(limit_bytes - MULTIPART_ENVELOPE_BYTES)
    body = bytearray()
    try:
        with anyio.fail_after(seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit_bytes:
                    raise too_large(limit_bytes - MULTIPART_ENVELOPE_BYTES)
    except TimeoutError:
        raise HTTPException(408, f"the request body did not arrive within {seconds:g} s") from None
    return bytes(body)


async def read_image(request: Request, limit_bytes: int) -> tuple[str, bytes]:
    """(name, encoded image bytes) of a request; the name is the uploaded file's name if it has one."""
    body = await read_body(request, limit_bytes + MULTIPART_ENVELOPE_BYTES)
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    if media_type == b"multipart/form-data":
        name, image = await anyio.to_thread.run_sync(multipart_file, body, options.get(b"boundary", b""), FILE_FIELD)
    else:
        name, image = RAW_BODY_NAME, body
    if not image:
        raise HTTPException(422, NO_IMAGE)
    if len(image) > limit_bytes:
        raise too_large(limit_bytes)
    return name, image


class TooManyParts(ValueError):
    """A multipart body has more parts, or a part more headers, than an upload needs."""


class _FormParts:
    """``MultipartParser`` callbacks that keep the headers and content of every part in memory."""

    CALLBACKS = ("on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_part_data")

    def __init__(self):
        self.parts: list[tuple[dict[bytes, bytes], bytearray]] = []
        self._header_name = self._header_value = b""

    def on_part_begin(self):
        if len(self.parts) == MAX_MULTIPART_PARTS:
            raise TooManyParts(f"more than {MAX_MULTIPART_PARTS} parts")
        self.parts.append(({}, bytearray()))

    def on_header_field(self, data: bytes, start: int, end: int):
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int):
        self._header_value += data[start:end]

    def on_header_end(self):
        if len(self.parts[-1][0]) == MAX_PART_HEADERS:
            raise TooManyParts(f"a part with more than {MAX_PART_HEADERS} headers")
        self.parts[-1][0][self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def on_part_data(self, data: bytes, start: int, end: int):
        self.parts[-1][1].extend(data[start:end])


def multipart_file(body: bytes, boundary: bytes, field: str) -> tuple[str, bytes]:
    """(file name, content) of the form field ``field`` in a multipart/form-data body."""
    if not boundary:
        raise HTTPException(400, "multipart body without a boundary in its Content-Type")
    form = _FormParts()
    try:
        parser = MultipartParser(boundary, {name: getattr(form, name) for name in form.CALLBACKS})
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError) as e:
        raise HTTPException(400, f"malformed multipart body ({e})") from None
    for headers, content in form.parts:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        if disposition.get(b"name") == field.encode():
            return disposition.get(b"filename", b"").decode("utf-8", "replace") or RAW_BODY_NAME, bytes(content)
    raise HTTPException(422, NO_IMAGE)
