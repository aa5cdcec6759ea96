"""Open any image a user hands us, safely, and turn it into one grey channel.

``load_image`` accepts a path, the bytes of an image file, or a ``PIL.Image`` and returns a fully
decoded image the right way up (EXIF orientation applied, first frame of an animation). Reading is
bounded before any pixel is decoded: a path must name a regular file (a device, a FIFO or a symlink
to one is refused without being read) of at most ``MAX_FILE_BYTES``, and the image may hold at most
``MAX_PIXELS`` pixels. Anything unusable raises ``ImageError`` with a one-line message: a missing
path, a directory or device, a file too large, an empty or non-image file, a truncated or corrupt
one, a colour mode Pillow cannot convert (e.g. LAB TIFF), a decompression bomb, or an image smaller
than ``MIN_SIDE`` pixels on a side. Decoders' warnings (Pillow's, libtiff's) never reach stderr.

``grey_levels`` flattens transparency and colour into luminance, keeping 16-bit precision.
"""

import ctypes
import io
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from digitnet.errors import ImageError
from digitnet.files import read_regular_file

MAX_PIXELS = 40_000_000  # at this size the hungriest image (16-bit grey) reads in about 430 MB
MAX_FILE_BYTES = 64 * 2**20  # a 50-megapixel phone photo is about 25 MiB as JPEG
MIN_SIDE = 8
# Modes every later step converts directly; any other (LAB, HSV, ...) is converted to RGB on loading.
DIRECT_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr",
                "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}

ImageSource = str | os.PathLike | bytes | Image.Image


def _silence_libtiff() -> None:
    """Stop libtiff printing its warnings and errors on stderr itself: Pillow reports the errors
    that matter as exceptions, which ``decoding`` turns into ImageError."""
    bundled = [*Path(PIL.__file__).parent.parent.glob("pillow.libs/libtiff*"),
               *Path(PIL.__file__).parent.glob(".dylibs/libtiff*")]
    libraries = [str(p) for p in bundled]
    if not libraries:
        from ctypes.util import find_library  # here only: it imports subprocess and tempfile (20 ms)

        libraries = [find_library("tiff")]
    for library in libraries:
        if library:
            libtiff = ctypes.CDLL(library)
            libtiff.TIFFSetWarningHandler(None)
            libtiff.TIFFSetErrorHandler(None)


_silence_libtiff()


def load_image(source: ImageSource, name: str | None = None) -> Image.Image:
    """Decode ``source`` (path, file bytes or PIL image) into an upright PIL image.

    ``name`` is how messages refer to the image (default: the path, or "image").
    """
    if isinstance(source, Image.Image):
        return _upright(lambda: source, name or "image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "image"
        if len(data) > MAX_FILE_BYTES:
            raise ImageError(f"{name}: is {len(data):,} bytes, above the limit of {MAX_FILE_BYTES:,} bytes")
    else:
        name = name or str(source)
        data = read_regular_file(source, MAX_FILE_BYTES, ImageError, name)
    if not data:
        raise ImageError(f"{name}: is empty (0 bytes)")
    return _upright(lambda: Image.open(io.BytesIO(data)), name)


@contextmanager
def decoding(name: str):
    """Turn anything Pillow raises or warns while decoding or converting into one ImageError (or nothing)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # Pillow's warnings about odd files, DecompressionBombWarning
            yield
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: has too many pixels; the limit is {MAX_PIXELS:,} pixels") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: is not an image file Pillow can read") from None
    except MemoryError:
        raise ImageError(f"{name}: needs more memory to decode than is available") from None
    except Exception as e:  # noqa: BLE001 - a corrupt file can make a decoder raise anything
        raise ImageError(f"{name}: is damaged or truncated ({_short(e)})") from None


def _upright(open_image, name: str) -> Image.Image:
    """Open (``open_image()``), check the size, decode the first frame and apply EXIF orientation."""
    with decoding(name):
        image = open_image()
        _check_size(image.size, name)
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode not in DIRECT_MODES:
            try:
                image = image.convert("RGB")
            except ValueError:
                raise ImageError(f"{name}: its colour mode {image.mode} cannot be converted to RGB") from None
        return image


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
    strokes on a transparent sheet land on white, light strokes on black. Memory: one float32 copy
    for deep sources (computed in place), bytes for the others, so that an image at ``MAX_PIXELS``
    stays within a few hundred MB.
    """
    if image.mode in ("I", "I;16") and image.getextrema()[0] >= 0:  # scaled by Pillow, without a copy in NumPy
        scale = _full_scale(image.mode, float(image.getextrema()[1]))
        return image.convert("F").point(lambda value: value / scale)
    if image.mode.startswith("I") or image.mode == "F":
        values = np.array(image, dtype=np.float32)
        values[~np.isfinite(values)] = 0.0  # NaN or infinite samples read as background
        values /= _full_scale(image.mode, float(values.max()))
        return Image.fromarray(np.clip(values, 0, 1, out=values), "F")
    if _has_transparency(image):
        with_alpha = image if image.mode in ("RGBA", "LA") else image.convert("RGBA")
        alpha, luminance = with_alpha.getchannel("A"), with_alpha.convert("L")
        opaque = alpha.point(lambda a: 255 if a > 127 else 0)
        opaque_pixels = opaque.histogram()[255]
        strokes_are_dark = opaque_pixels == 0 or ImageStat.Stat(luminance, mask=opaque).mean[0] < 127.5
        background = Image.new("L", image.size, 255 if strokes_are_dark else 0)
        return Image.composite(luminance, background, alpha)  # alpha * luminance + (1 - alpha) * background
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
