"""Read every digit in an image: load -> ink -> rows of pieces -> candidate digits -> network -> best path.

Digits are found on a copy of the page at most ``WORK_SIDE`` pixels on its long side (fast on
12-megapixel photos), then each candidate digit is cut from the full-resolution pixels. Blobs of
touching digits are over-segmented (``reading.cuts``), every way of grouping the parts of a row into
digits is a candidate (``reading.lattice``), all candidates of the image are scored by the network
in one batch, and each row's best path is what is read. Boxes are reported in pixels of the input
image as displayed (EXIF orientation applied), x1 and y1 exclusive.
"""

import itertools
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from digitnet.errors import ImageError
from digitnet.modelfile import DIGITS, NOT_A_DIGIT
from digitnet.reading.cuts import cut_into_parts
from digitnet.reading.ink import InkModel, measure_ink
from digitnet.reading.lattice import MAX_CANDIDATES, Candidate, best_path, candidates
from digitnet.reading.load import ImageSource, grey_array, grey_levels, load_image
from digitnet.reading.normalise import PATCH_SIDE, dilate, mnist_style
from digitnet.reading.segment import LOOSE_INK, Blob, TextRow, find_rows

WORK_SIDE = 1200
UNSURE = "?"


@dataclass
class DigitReading:
    """One digit read from an image.

    digit: 0-9; confidence: the probability the network gives that digit for the chosen crop (with a
    model that has a "not a digit" output, that mass is not the digit's); box: (x0, y0, x1, y1)
    input-image pixels, x1/y1 exclusive; probabilities: (outputs,) float32, one per model output (10,
    or 11 with "not a digit" last); network_input: (28, 28) float32 in [0, 1], the crop the network
    saw; row: index of the text row it belongs to, 0 = top.
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
    """Everything read from one image: digits in reading order, the text, the image's (width, height),
    and the page's confidence: the product of the digits' confidences (1.0 when nothing was read), the
    probability, as far as the network can tell, that every digit is right."""

    digits: list[DigitReading] = field(default_factory=list)
    text: str = ""
    size: tuple[int, int] = (0, 0)

    @property
    def confidence(self) -> float:
        return float(np.prod([d.confidence for d in self.digits]))

    def to_dict(self, image_name: str) -> dict:
        """The JSON object of ``digitnet predict --json``: {"image", "text", "confidence", "digits": [...]}."""
        return {"image": image_name, "text": self.text, "confidence": round(self.confidence, 6),
                "digits": [d.to_dict() for d in self.digits]}


def read_digits(image: ImageSource, model, min_confidence: float | None = None, name: str | None = None) -> Reading:
    """Find and read every digit in ``image`` (a path, the bytes of an image file, or a PIL image).

    model: a ``digitnet.modelfile.Model`` (10 outputs, or 11 with "not a digit"). Digits whose
    confidence is below ``min_confidence`` are written "?" in ``text``. ``name`` names the image in
    error messages. Raises ImageError, also for a page with more ink pieces, digits or candidate
    digits than ``segment.MAX_PIECES``, ``segment.MAX_DIGITS`` or ``lattice.MAX_CANDIDATES``.
    """
    page = segmented(image, name, refusing=NOT_A_DIGIT in model.classes)
    scored, inputs = candidate_inputs(page, model.deslants_input)
    if not scored:
        return Reading([], "", page.size)
    probabilities = model.predict_proba(inputs.reshape(len(inputs), -1))
    log_digit = np.log(np.maximum(probabilities[:, :DIGITS].max(axis=1), 1e-12))
    row_of = {id(edge): k for k, edge in enumerate(scored)}
    digits = []
    for index, (edges, part_count) in enumerate(page.graphs):
        scores = np.array([e.prior + (log_digit[row_of[id(e)]] if e.blob is not None else 0.0) for e in edges])
        for edge in best_path(edges, scores, part_count):
            if edge.blob is not None:
                k = row_of[id(edge)]
                digit = int(probabilities[k, :DIGITS].argmax())
                digits.append(DigitReading(digit, float(probabilities[k, digit]), page.image_box(edge.blob),
                                           probabilities[k], inputs[k], index))
    return Reading(digits, reading_text(digits, min_confidence), page.size)


@dataclass
class SegmentedPage:
    """An image cut into candidate digits, before the network is asked: the full-resolution grey
    image, its ink model (None: the image has no ink), the work-resolution piece labels (h, w) int,
    and each text row's graph as (edges, number of parts), rows from the top."""

    grey: Image.Image
    ink_model: InkModel | None
    labels: np.ndarray
    graphs: list[tuple[list[Candidate], int]]

    @property
    def size(self) -> tuple[int, int]:
        return self.grey.size

    def image_box(self, blob: Blob) -> tuple[int, int, int, int]:
        """A blob's box in input-image pixels (x0, y0, x1, y1), x1/y1 exclusive."""
        return _image_box(blob.box, self.labels.shape, self.size)


def segmented(image: ImageSource, name: str | None = None, refusing: bool = False) -> SegmentedPage:
    """Load ``image`` and build the segmentation graph of each of its text rows (none for an image
    without ink); refusing: the network that will score the candidates can say "not a digit"
    (``lattice.candidates``). Raises ImageError as ``read_digits`` does."""
    grey = grey_levels(load_image(image, name))
    size = grey.size
    scale = min(1.0, WORK_SIDE / max(size))
    work = grey if scale == 1.0 else grey.resize(_scaled(size, scale), Image.BOX)
    work_grey = grey_array(work)
    ink_model = measure_ink(work_grey)
    if ink_model is None:
        return SegmentedPage(grey, None, np.zeros(work_grey.shape, np.int32), [])
    shown_name = name or (str(image) if isinstance(image, (str, os.PathLike)) else "image")
    try:
        rows, labels = find_rows(ink_model.mask(ink_model.ink(work_grey)))
    except ImageError as e:
        raise ImageError(f"{shown_name}: {e}") from None
    fresh_labels = itertools.count(int(labels.max()) + 1)
    graphs = [_row_graph(row, labels, fresh_labels, refusing) for row in rows]
    candidate_count = sum(edge.blob is not None for edges, _ in graphs for edge in edges)
    if candidate_count > MAX_CANDIDATES:
        raise ImageError(f"{shown_name}: has {candidate_count:,} ways to cut its ink into digits, more than "
                         f"the {MAX_CANDIDATES:,} read in one image; crop it to the digits")
    return SegmentedPage(grey, ink_model, labels, graphs)


def candidate_inputs(page: SegmentedPage, deslant: bool) -> tuple[list[Candidate], np.ndarray]:
    """Every candidate digit of the page (skips left out) and what the network is shown of each:
    (edges, (len(edges), 28, 28) float32 in [0, 1])."""
    scored = [edge for edges, _ in page.graphs for edge in edges if edge.blob is not None]
    inputs = [mnist_style(_digit_ink(page.grey, page.ink_model, edge.blob, page.labels), deslant=deslant)
              for edge in scored]
    return scored, np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.float32)


def _row_graph(row: TextRow, labels: np.ndarray, fresh_labels, refusing: bool) -> tuple[list[Candidate], int]:
    """A row's segmentation graph: (edges, number of parts). Blobs wider than a digit are cut into
    parts, relabelled in ``labels`` with labels drawn from ``fresh_labels`` (an iterator of unused ones)."""
    parts: list[Blob] = []
    piece_of_part: list[int] = []
    for index, piece in enumerate(piece for cluster in row.clusters for piece in cluster):
        cut = cut_into_parts(piece, labels, row.digit_height, fresh_labels)
        parts += cut
        piece_of_part += [index] * len(cut)
    return candidates(parts, piece_of_part, row.digit_height, refusing), len(parts)


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
    """The ink of one candidate digit, cut from the full-resolution grey image: (h, w) float32 in [0, 1].

    The crop is resampled so that its long side is about ``PATCH_SIDE``; ink of other pieces and
    parts that reaches into the box is masked out; loose ink (specks no piece owns) is kept.
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
    own = np.isin(labels[max(0, y0 - 1) : y1 + 1, max(0, x0 - 1) : x1 + 1], blob.labels + (LOOSE_INK,))
    own = dilate(own, 1)[1 if y0 > 0 else 0 :, 1 if x0 > 0 else 0 :][: y1 - y0, : x1 - x0]
    keep = Image.fromarray(own.astype(np.uint8) * 255, "L").resize(size, Image.BILINEAR)
    return ink * (np.asarray(keep) > 0)

