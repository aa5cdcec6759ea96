"""Read every digit in an image: load -> ink -> blobs -> MNIST-style crops -> network -> Reading.

Digits are found on a copy of the page at most ``WORK_SIDE`` pixels on its long side (fast on
12-megapixel photos), then each digit is cut from the full-resolution pixels. Boxes are reported in
pixels of the input image as displayed (EXIF orientation applied), x1 and y1 exclusive.
"""

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from digitnet.reading.ink import InkModel, measure_ink
from digitnet.reading.load import ImageSource, grey_array, grey_levels, load_image
from digitnet.reading.normalise import PATCH_SIDE, dilate, mnist_style
from digitnet.reading.segment import Blob, find_blobs, split_touching

WORK_SIDE = 1200
UNSURE = "?"


@dataclass
class DigitReading:
    """One digit read from an image.

    digit: 0-9; confidence: its probability; box: (x0, y0, x1, y1) input-image pixels, x1/y1 exclusive;
    probabilities: (10,) float32; network_input: (28, 28) float32 in [0, 1], the crop the network saw;
    row: index of the text row it belongs to, 0 = top.
    """

    digit: int
    confidence: float
    box: tuple[int, int, int, int]
    probabilities: np.ndarray
    network_input: np.ndarray
    row: int

    def to_dict(self) -> dict:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "box": list(self.box),
            "probabilities": [round(float(p), 6) for p in self.probabilities],
        }


@dataclass
class Reading:
    """Everything read from one image: digits in reading order, the text, and the image's (width, height)."""

    digits: list[DigitReading] = field(default_factory=list)
    text: str = ""
    size: tuple[int, int] = (0, 0)

    def to_dict(self, image_name: str) -> dict:
        """The JSON object of ``digitnet predict --json``: {"image", "text", "digits": [...]}."""
        return {"image": image_name, "text": self.text, "digits": [d.to_dict() for d in self.digits]}


def read_digits(image: ImageSource, model, min_confidence: float | None = None, name: str | None = None) -> Reading:
    """Find and read every digit in ``image`` (a path, the bytes of an image file, or a PIL image).

    model: a ``digitnet.modelfile.Model``. Digits whose confidence is below ``min_confidence`` are
    written "?" in ``text``. ``name`` names the image in error messages. Raises ImageError.
    """
    grey = grey_levels(load_image(image, name))
    size = grey.size
    scale = min(1.0, WORK_SIDE / max(size))
    work = grey if scale == 1.0 else grey.resize(_scaled(size, scale), Image.BOX)
    work_grey = grey_array(work)
    ink_model = measure_ink(work_grey)
    if ink_model is None:
        return Reading([], "", size)
    blobs, labels = find_blobs(ink_model.mask(ink_model.ink(work_grey)))
    if not blobs:
        return Reading([], "", size)
    blobs, inputs, probabilities = _read_blobs(blobs, grey, ink_model, labels, model)
    digits = [
        DigitReading(int(p.argmax()), float(p.max()), _image_box(blob.box, labels.shape, size), p, x, blob.row)
        for blob, p, x in zip(blobs, probabilities, inputs)
    ]
    return Reading(digits, reading_text(digits, min_confidence), size)


def _read_blobs(blobs, grey, ink_model, labels, model):
    """Network inputs (n, 28, 28) and probabilities (n, 10) of the blobs, after splitting wide blobs
    into touching digits wherever the network is more confident about the parts than the whole."""
    candidates = []  # per blob: [whole] or [whole, part, part, ...]
    for blob in blobs:
        parts = split_touching(blob, labels)
        candidates.append([blob] + (parts if len(parts) > 1 else []))
    flat = [b for options in candidates for b in options]
    inputs = np.stack([mnist_style(_digit_ink(grey, ink_model, b, labels)) for b in flat])
    probabilities = model.predict_proba(inputs.reshape(len(inputs), -1))
    chosen, start = [], 0
    for options in candidates:
        whole, parts = start, list(range(start + 1, start + len(options)))
        start += len(options)
        parts_confidence = np.exp(np.mean(np.log(probabilities[parts].max(axis=1)))) if parts else 0.0
        chosen += parts if parts_confidence > probabilities[whole].max() else [whole]
    return [flat[i] for i in chosen], inputs[chosen], probabilities[chosen]


def reading_text(digits: list[DigitReading], min_confidence: float | None = None) -> str:
    """Digits in reading order, rows joined by newlines; unsure digits (below ``min_confidence``) as "?"."""
    rows: dict[int, str] = {}
    for d in digits:
        sure = min_confidence is None or d.confidence >= min_confidence
        rows[d.row] = rows.get(d.row, "") + (str(d.digit) if sure else UNSURE)
    return "\n".join(rows[r] for r in sorted(rows))


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _image_box(box, work_shape, image_size) -> tuple[int, int, int, int]:
    """A work-resolution box in input-image pixels (grown outwards to whole pixels)."""
    sx, sy = image_size[0] / work_shape[1], image_size[1] / work_shape[0]
    x0, y0, x1, y1 = box
    return (int(np.floor(x0 * sx)), int(np.floor(y0 * sy)),
            min(image_size[0], int(np.ceil(x1 * sx))), min(image_size[1], int(np.ceil(y1 * sy))))


def _digit_ink(grey: Image.Image, ink_model: InkModel, blob: Blob, labels: np.ndarray) -> np.ndarray:
    """The ink of one blob, cut from the full-resolution grey image: (h, w) float32 in [0, 1].

    The crop is resampled so that its long side is about ``PATCH_SIDE``; ink of other blobs that
    reaches into the box is masked out.
    """
    work_h, work_w = labels.shape
    x0, y0, x1, y1 = blob.box
    sx, sy = grey.size[0] / work_w, grey.size[1] / work_h
    source_box = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
    long_side = max(source_box[2] - source_box[0], source_box[3] - source_box[1])
    factor = PATCH_SIDE / long_side
    size = (max(1, round((source_box[2] - source_box[0]) * factor)),
            max(1, round((source_box[3] - source_box[1]) * factor)))
    resample = Image.BOX if factor < 1 else Image.BILINEAR
    patch = grey_array(grey.resize(size, resample, box=source_box))
    region = (x0 / work_w, y0 / work_h, x1 / work_w, y1 / work_h)
    ink = ink_model.ink(patch, region)
    own = np.isin(labels[max(0, y0 - 1) : y1 + 1, max(0, x0 - 1) : x1 + 1], blob.labels)
    own = dilate(own, 1)[1 if y0 > 0 else 0 :, 1 if x0 > 0 else 0 :][: y1 - y0, : x1 - x0]
    keep = Image.fromarray(own.astype(np.uint8) * 255, "L").resize(size, Image.BILINEAR)
    return ink * (np.asarray(keep) > 0)

