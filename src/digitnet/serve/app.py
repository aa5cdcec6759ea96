"""The web app: the drawing page, its assets and a JSON API over ``read_digits``.

``GET /`` the page and ``/static/*`` its scripts and styles (no CDN: it works offline);
``POST /api/read`` an image -> the reading as JSON; ``GET /api/model`` the loaded model;
``/docs`` the OpenAPI page. The model is given once, at start; uploads stay in memory. Images are
read by a reader from ``readers``: in a thread of this process, or in a pool of reader processes.
"""

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from digitnet import __version__
from digitnet.errors import ImageError
from digitnet.modelfile import Model
from digitnet.serve.payload import model_description
from digitnet.serve.readers import ReaderUnavailable, ThreadReader
from digitnet.serve.upload import FILE_FIELD, read_image

DEFAULT_MAX_UPLOAD_BYTES = 10 * 2**20
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
    400: {"description": "not an image, a truncated image, a decompression bomb or a malformed multipart body"},
    413: {"description": "the image is over the upload limit"},
    422: {"description": "the request holds no image"},
    503: {"description": "a reader process stopped while reading this image; it has been restarted"},
}


def create_app(model: Model, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, reader=None) -> FastAPI:
    """The web app serving ``model``; images over ``max_upload_bytes`` are refused with 413.

    ``reader``: a ``readers.ThreadReader`` or ``readers.ProcessReader`` of the same model (default:
    a ThreadReader).
    """
    reader = reader or ThreadReader(model)
    app = FastAPI(
        title="digitnet",
        version=__version__,
        description="Draw digits or send a photo; a from-scratch NumPy network reads them.",
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(ImageError)
    async def unreadable_image(request: Request, error: ImageError):
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.exception_handler(ReaderUnavailable)
    async def reader_restarted(request: Request, error: ReaderUnavailable):
        return JSONResponse({"detail": str(error)}, status_code=503)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "index.html")

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
        return Response(await reader.read(image, image_name, annotate, explain), media_type="application/json")

    return app
