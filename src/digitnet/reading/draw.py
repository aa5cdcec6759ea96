"""Pictures of a reading: the image with a box and the digit drawn on each digit, and the 28x28
inputs the network saw, side by side.

A digit's label ("7 99%") is sized to the digit and placed next to its box, where it covers no
digit and no other label: above, below, or beside the box, smaller if need be. A label that finds
no such place goes into a strip added under the image, below its digit's column.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitnet.reading.load import ImageSource, load_image

BOX_COLOUR = (230, 40, 40)
LABEL_TEXT_COLOUR = (255, 255, 255)
STRIP_COLOUR = (255, 255, 255)
LABEL_HEIGHT_FRACTION = 0.3  # a label's text is this fraction of its digit's height...
MIN_LABEL_PX = 10            # ...but never smaller than this (pixels), so that it stays legible
SHEET_SCALE = 4
SHEET_GAP = 4
CAPTION_HEIGHT = 18

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1 and y1 exclusive


@dataclass(frozen=True)
class Label:
    """Where one digit's label goes: ``rect`` is its filled background, ``font_size`` its text height (px)."""

    text: str
    rect: Rect
    font_size: int


def annotate(image: ImageSource, reading) -> Image.Image:
    """An RGB copy of ``image`` with each digit's box and "digit confidence%" drawn on it; the copy
    is larger than the image when some labels had to go into a strip under it."""
    canvas = load_image(image).convert("RGB")
    boxes = [d.box for d in reading.digits]
    texts = [f"{d.digit} {d.confidence:.0%}" for d in reading.digits]
    labels = place_labels(boxes, texts, canvas.size)
    size = (max([canvas.width] + [label.rect[2] for label in labels]),
            max([canvas.height] + [label.rect[3] for label in labels]))
    if size != canvas.size:  # labels in the strip, or a label wider than a tiny image
        grown = Image.new("RGB", size, STRIP_COLOUR)
        grown.paste(canvas)
        canvas = grown
    draw = ImageDraw.Draw(canvas)
    for box, label in zip(boxes, labels):
        x0, y0, x1, y1 = box
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=BOX_COLOUR, width=line_width(box))
        lx0, ly0, lx1, ly1 = label.rect
        draw.rectangle((lx0, ly0, lx1 - 1, ly1 - 1), fill=BOX_COLOUR)
        font = _font(label.font_size)
        left, top, _, _ = draw.textbbox((0, 0), label.text, font=font)
        pad = _padding(label.font_size)
        draw.text((lx0 + pad - left, ly0 + pad - top), label.text, fill=LABEL_TEXT_COLOUR, font=font)
    return canvas


def line_width(box: Rect) -> int:
    """The width (px) of a digit's box outline: about 1/40 of its height, at least 1."""
    return max(1, round((box[3] - box[1]) / 40))


def place_labels(boxes: list[Rect], texts: list[str], canvas_size: tuple[int, int]) -> list[Label]:
    """One label per box: inside the canvas (width, height) and clear of every box and every other
    label, at the digit's own size when there is room, smaller when not; failing that, in a strip
    below the canvas (its rect then starts at y >= height)."""
    width, height = canvas_size
    placed: list[Rect] = []
    labels: list[Label | None] = []
    for box, text in zip(boxes, texts):
        label = None
        sizes = _font_sizes(box)
        reach = _grown(box, line_width(box) + max(_label_size(text, sizes[0])))
        near_boxes = [b for b in boxes if _overlap(_grown(b, line_width(b)), reach)]  # all that a label can hit
        near_labels = [r for r in placed if _overlap(r, reach)]
        for font_size in sizes:
            size = _label_size(text, font_size)
            label = next((Label(text, rect, font_size) for rect in _candidates(box, size, width)
                          if _inside(rect, width, height) and not _hits(rect, near_boxes, near_labels)), None)
            if label is not None:
                placed.append(label.rect)
                break
        labels.append(label)
    return [label or _in_strip(box, text, width, height, placed)
            for box, text, label in zip(boxes, texts, labels)]


def _font_sizes(box: Rect) -> list[int]:
    """Text heights to try for a digit's label, largest first: its own size, then smaller steps."""
    own = max(MIN_LABEL_PX, round(LABEL_HEIGHT_FRACTION * (box[3] - box[1])))
    sizes = [own]
    while sizes[-1] > MIN_LABEL_PX:
        sizes.append(max(MIN_LABEL_PX, round(sizes[-1] * 0.7)))
    return sizes


def _candidates(box: Rect, size: tuple[int, int], width: int) -> list[Rect]:
    """Rects of ``size`` (w, h) around ``box``: above and below it (flush left, flush right, slid to
    stay inside the canvas's width), then to its right and its left."""
    x0, y0, x1, y1 = box
    w, h = size
    gap = line_width(box)
    above, below = y0 - gap - h, y1 + gap
    lefts = [x0, x1 - w, min(max(0, x0), max(0, width - w))]
    rects = [(x, y, x + w, y + h) for y in (above, below) for x in lefts]
    rects += [(x1 + gap, y0, x1 + gap + w, y0 + h), (x0 - gap - w, y0, x0 - gap, y0 + h)]
    return rects


def _inside(rect: Rect, width: int, height: int) -> bool:
    return rect[0] >= 0 and rect[1] >= 0 and rect[2] <= width and rect[3] <= height


def _hits(rect: Rect, boxes: list[Rect], labels: list[Rect]) -> bool:
    """Whether ``rect`` overlaps any digit box (with its outline) or any label already placed."""
    return any(_overlap(rect, _grown(b, line_width(b))) for b in boxes) or any(_overlap(rect, r) for r in labels)


def _grown(rect: Rect, by: int) -> Rect:
    return rect[0] - by, rect[1] - by, rect[2] + by, rect[3] + by


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _in_strip(box: Rect, text: str, width: int, height: int, placed: list[Rect]) -> Label:
    """A label of the smallest size under the canvas, below its digit's column where free, on the
    first line of the strip that has room (``placed`` gains its rect)."""
    w, h = _label_size(text, MIN_LABEL_PX)
    x = min(max(0, box[0]), max(0, width - w))
    y = height + 1
    while any(_overlap((x, y, x + w, y + h), r) for r in placed):
        y += h + 1
    placed.append((x, y, x + w, y + h))
    return Label(text, placed[-1], MIN_LABEL_PX)


def _padding(font_size: int) -> int:
    return max(1, round(font_size / 8))


@lru_cache(maxsize=64)
def _font(font_size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=font_size)


@lru_cache(maxsize=1024)
def _label_size(text: str, font_size: int) -> tuple[int, int]:
    """(width, height) in px of a label's background: the text's ink box plus padding all round."""
    left, top, right, bottom = _font(font_size).getbbox(text)
    pad = _padding(font_size)
    return right - left + 2 * pad, bottom - top + 2 * pad


def crops_sheet(reading) -> Image.Image:
    """The network inputs side by side, scaled up ``SHEET_SCALE`` times, each captioned with its digit."""
    side = 28 * SHEET_SCALE
    count = max(1, len(reading.digits))
    sheet = Image.new("L", (count * side + (count + 1) * SHEET_GAP, side + 2 * SHEET_GAP + CAPTION_HEIGHT), 64)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=CAPTION_HEIGHT - 4)
    for i, d in enumerate(reading.digits):
        tile = Image.fromarray(np.round(d.network_input * 255).astype(np.uint8), "L")
        x = SHEET_GAP + i * (side + SHEET_GAP)
        sheet.paste(tile.resize((side, side), Image.NEAREST), (x, SHEET_GAP))
        draw.text((x, side + SHEET_GAP + 2), f"{d.digit} {d.confidence:.0%}", fill=255, font=font)
    return sheet
