"""Hostile inputs, made on the spot: every image format's bytes and their byte-flip mutants.

Each generator is deterministic (a seeded ``numpy.random.Generator``), so a failing mutant is found
again by its format and index.
"""

import io

import numpy as np
from PIL import Image, ImageDraw

# Pillow's name and save options of every format the reader is promised to read.
IMAGE_FORMATS = {
    "PNG": {}, "JPEG": {}, "GIF": {}, "BMP": {}, "TIFF": {}, "TIFF-deflate": {"compression": "tiff_adobe_deflate"},
    "TIFF-lzw": {"compression": "tiff_lzw"}, "WEBP": {}, "AVIF": {}, "ICO": {}, "PPM": {}, "TGA": {},
}


def digit_page(size=(64, 48)) -> Image.Image:
    """A small grey page with a dark "1"-like stroke: a real image for decoders to chew on."""
    image = Image.new("L", size, 235)
    ImageDraw.Draw(image).line([(size[0] // 2, 6), (size[0] // 2, size[1] - 6)], fill=20, width=5)
    return image


def encoded(image: Image.Image, fmt: str) -> bytes:
    """``image`` saved in ``fmt`` (a key of IMAGE_FORMATS) as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt.split("-")[0], **IMAGE_FORMATS[fmt])
    return buffer.getvalue()


def byte_flip_mutants(data: bytes, count: int, rng: np.random.Generator):
    """``count`` copies of ``data`` with 1 to 8 bytes set to random values or the whole tail cut off."""
    for _ in range(count):
        mutant = bytearray(data)
        if rng.random() < 0.2:
            yield bytes(mutant[: int(rng.integers(1, len(mutant)))])
            continue
        for position in rng.integers(0, len(mutant), size=int(rng.integers(1, 9))):
            mutant[position] = int(rng.integers(0, 256))
        yield bytes(mutant)
