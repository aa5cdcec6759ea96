"""Open any image a user hands us, safely, and turn it into one grey channel.

``load_image`` accepts a path, the bytes of an image file, or a ``PIL.Image`` and returns a fully
decoded image the right way up (EXIF orientation applied, first frame of an animation). Anything
unusable raises ``ImageError`` with a one-line message: a missing path, a directory, an empty or
non-image file, a truncated file, more than ``MAX_PIXELS`` pixels (a decompression bomb), or an image
smaller than ``MIN_SIDE`` pixels on a side.

``grey_levels`` flattens transparency and colour into luminance, keeping 16-bit precision.
"""

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitnet.errors import ImageError

MAX_PIXELS = 80_000_000
MIN_SIDE = 8

ImageSource = str | os.PathLike | bytes | Image.Image


def load_image(source: ImageSource, name: str | None = None) -> Image.Image:
    """Decode ``source`` (path, file bytes or PIL image) into an upright PIL image.

    ``name`` is how messages refer to the image (default: the path, or "image").
    """
    if isinstance(source, Image.Image):
        return _upright(lambda: source, name or "image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "image"
    else:
        path = Path(source)
        name = name or str(path)
        if not path.exists():
            raise ImageError(f"{name}: no such file")
        if path.is_dir():
            raise ImageError(f"{name}: is a directory, not an image")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ImageError(f"{name}: cannot be read ({e.strerror or e})") from None
    if not data:
        raise ImageError(f"{name}: is empty (0 bytes)")
    return _upright(lambda: Image.open(io.BytesIO(data)), name)


def _upright(open_image, name: str) -> Image.Image:
    """Open (``open_image()``), check the size, decode the first frame and apply EXIF orientation."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = open_image()
            _check_size(image.size, name)
            image.seek(0)
            image.load()
            return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: has too many pixels; the limit is {MAX_PIXELS:,} pixels") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: is not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{name}: is damaged or truncated ({_short(e)})") from None


def _check_size(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name}: is {width}x{height} = {width * height:,} pixels, above the limit of {MAX_PIXELS:,} pixels"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"{name}: is only {width}x{height} pixels; digits need at least {MIN_SIDE}x{MIN_SIDE}")


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def grey_levels(image: Image.Image) -> Image.Image:
    """One channel of luminance, mode "L" (8-bit sources) or "F" in [0, 1] (deeper sources).

    Transparent pixels are flattened onto the background that contrasts with the opaque ones: dark
    strokes on a transparent sheet land on white, light strokes on black.
    """
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        return Image.fromarray(np.clip(values / _full_scale(image.mode, float(values.max())), 0, 1), "F")
    if _has_transparency(image):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        luminance = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
        opaque = alpha > 0.5
        strokes_are_dark = not opaque.any() or luminance[opaque].mean() < 0.5
        background = 1.0 if strokes_are_dark else 0.0
        flat = alpha * luminance + (1.0 - alpha) * background
        return Image.fromarray(np.round(flat * 255).astype(np.uint8), "L")
    return image.convert("L")


def _full_scale(mode: str, peak: float) -> float:
    """The value of white in a deep image: 16-bit modes use 65535; 32-bit ones are guessed from the peak."""
    if mode.startswith("I;16"):
        return 65535.0
    for scale in (1.0, 255.0, 65535.0):
        if peak <= scale:
            return scale
    return peak


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def grey_array(grey: Image.Image) -> np.ndarray:
    """A grey image from ``grey_levels`` as (height, width) float32 in [0, 1]."""
    values = np.asarray(grey, dtype=np.float32)
    return values / 255.0 if grey.mode == "L" else values
