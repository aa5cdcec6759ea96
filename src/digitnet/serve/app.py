"""The web app: the drawing page, its assets and a JSON API over ``read_digits``.

``GET /`` the page and ``/static/*`` its scripts and styles (no CDN: it works offline);
``POST /api/read`` an image -> the reading as JSON; ``GET /api/model`` the loaded model;
``/docs`` the API on a plain page and ``/openapi.json`` its schema. The model is given once, at
start; uploads stay in memory. Images are read by a reader from ``readers``: in a thread of this
process, or in a pool of reader processes. ``guard.Guard`` checks every request's Host and origin
and adds the security headers to every reply; a read whose client has gone is stopped.
"""

import asyncio
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from digitnet import __version__
from digitnet.errors import ImageError
from digitnet.modelfile import Model
from digitnet.serve.api_docs import api_docs_page
from digitnet.serve.guard import Guard
from digitnet.serve.limits import MAX_UPLOAD_BYTES
from digitnet.serve.payload import model_description
from digitnet.serve.readers import ReaderFailed, ReaderUnavailable, ReadTimedOut, ThreadReader
from digitnet.serve.upload import FILE_FIELD, read_image

DEFAULT_MAX_UPLOAD_BYTES = MAX_UPLOAD_BYTES
STATIC_DIR = Path(str(resources.files("digitnet.serve").joinpath("static")))

_IMAGE_BODY = {"schema": {"type": "string", "format": "binary"}}
READ_REQUEST_BODY = {
    "required": True,
    "description": f"the image (PNG, JPEG, ...) as the multipart form field {FILE_FIELD!r}, or as the raw body",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
                "required": [FILE_FIELD],
            }
        },
        "image/png": _IMAGE_BODY,
        "image/jpeg": _IMAGE_BODY,
        "application/octet-stream": _IMAGE_BODY,
    },
}
READ_RESPONSES = {
    200: {"description": "the digits read: the JSON of `digitnet predict --json`, each digit with its "
                         "`network_input` (28x28) and `hidden_activations` (one list per hidden layer), "
                         "and with `explain=true` its `explanation`"},
    400: {"description": "not an image, a truncated image, a decompression bomb, a malformed multipart body "
                         "or one of too many parts, or a Host header not of this server"},
    403: {"description": "a cross-site request (Sec-Fetch-Site or Origin of another site)"},
    408: {"description": "the body did not arrive in time"},
    413: {"description": "the image is over the upload limit"},
    422: {"description": "the request holds no image"},
    500: {"description": "reading failed unexpectedly (a bug); the reader goes on"},
    503: {"description": "a reader process stopped while reading this image; it has been replaced"},
    504: {"description": "reading took longer than the time budget of one read; it was stopped"},
}
# The errors a read can raise and the status each is answered with, as one line of JSON.
ERROR_STATUS = {ImageError: 400, ReaderUnavailable: 503, ReadTimedOut: 504, ReaderFailed: 500}


def create_app(model: Model, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, reader=None,
               allowed_hosts: tuple[str, ...] = ()) -> FastAPI:
    """The web app serving ``model``; images over ``max_upload_bytes`` are refused with 413.

    ``reader``: a ``readers.ThreadReader`` or ``readers.ProcessReader`` of the same model (default:
    a ThreadReader). ``allowed_hosts``: Host names to answer besides localhost and IP addresses.
    """
    reader = reader or ThreadReader(model)
    app = FastAPI(
        title="digitnet",
        version=__version__,
        description="Draw digits or send a photo; a from-scratch NumPy network reads them.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(Guard, allowed_hosts=allowed_hosts)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    async def one_line_error(request: Request, error: Exception):
        return JSONResponse({"detail": str(error)}, status_code=ERROR_STATUS[type(error)])

    for error_type in ERROR_STATUS:
        app.add_exception_handler(error_type, one_line_error)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, error: ClientDisconnect):
        return Response(status_code=400)  # nobody is left to read it; no traceback in the log

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return HTMLResponse(api_docs_page(app.openapi()))

    @app.get("/api/model", summary="Describe the loaded model")
    async def describe_model() -> dict:
        return model_description(model)

    @app.post("/api/read", summary="Read the digits in an image", openapi_extra={"requestBody": READ_REQUEST_BODY},
              responses=READ_RESPONSES)
    async def read(request: Request, annotate: bool = False, explain: bool = False):
        """Read every digit in the image. `annotate=true` adds `annotated_image`, a PNG data URL
        of the image with a box and the digit drawn around each digit read (as `predict --annotate`).
        `explain=true` adds to each digit an `explanation`: its most active first-layer `units`
        (activation and 28x28 weights), the `saliency` (d p(digit) / d pixel, 28x28) and the
        `runner_up` with the 28x28 ink `change` that makes it the answer (`digitnet.explain`)."""
        image_name, image = await read_image(request, max_upload_bytes)
        reply = await unless_client_leaves(request, reader.read(image, image_name, annotate, explain))
        return Response(reply, media_type="application/json")

    return app


async def unless_client_leaves(request: Request, work):
    """Await ``work`` (a coroutine) but cancel it as soon as the client disconnects, then raise
    ClientDisconnect. (A ProcessReader stops the reader of a cancelled read.)"""
    reading = asyncio.ensure_future(work)
    leaving = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({reading, leaving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        leaving.cancel()
        if not reading.done():
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)  # until its reader is stopped
    if reading.cancelled():
        raise ClientDisconnect()
    return reading.result()


async def _disconnected(request: Request) -> None:
    """Returns once the client of ``request`` (whose body has been read) has disconnected."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
