"""From an ink mask to digit-sized blobs in reading order.

Connected components are found on runs of ink along rows (8-connectivity), then cleaned up:
long horizontal runs of ruled paper are removed, pieces of one broken digit are merged, specks are
dropped, and the blobs are grouped into rows (top to bottom), each read left to right.
``split_touching`` proposes how a blob wider than a digit splits into touching digits.
Boxes are (x0, y0, x1, y1) in mask pixels, x1 and y1 exclusive.
"""

from dataclasses import dataclass

import numpy as np

RULING_FRACTION = 0.6   # a run at least this fraction of the page wide is part of a ruled line...
RULING_BANDS = 2        # ...when at least this many separate bands of such runs cross the page
MIN_HEIGHT_PX = 5       # nothing shorter than this (in mask pixels) is a digit
SPECK_FRACTION = 0.25   # a blob whose longer side is below this fraction of the digit height is a speck
PIECE_GAP = 0.3         # broken pieces at most this fraction of the digit height apart are merged
DIGIT_ASPECT = 0.75     # the width of a typical digit over its height, used to split touching digits


@dataclass
class Blob:
    """One digit candidate: its box, the mask labels it is made of, and its row in reading order."""

    box: tuple[int, int, int, int]
    labels: tuple[int, ...]
    row: int = 0

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


def row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along each row: mask (h, w) bool -> (rows, starts, ends), ends exclusive, row-major order."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)
    return rows, starts, ends


def drop_rulings(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """Which runs to keep: False for runs of ruled lines (long runs in several separate bands)."""
    long = ends - starts >= RULING_FRACTION * width
    line_rows = np.unique(rows[long])
    bands = 1 + int(np.count_nonzero(np.diff(line_rows) > 1)) if line_rows.size else 0
    if bands < RULING_BANDS:
        return np.ones(rows.shape, dtype=bool)
    return ~long


def label_runs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Connected-component label of each run (8-connectivity): -> (n_runs,) int, 0..n_components-1."""
    n = rows.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    stride = int(ends.max()) + 2
    start_keys = rows * stride + starts
    end_keys = rows * stride + ends
    # Runs of the row above that touch run b (diagonals included): a.end >= b.start and a.start <= b.end.
    first = np.searchsorted(end_keys, (rows - 1) * stride + starts, side="left")
    last = np.searchsorted(start_keys, (rows - 1) * stride + ends, side="right")
    counts = np.maximum(last - first, 0)
    below = np.repeat(np.arange(n), counts)
    above = np.repeat(first, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    labels = np.arange(n)
    while True:
        lowest = np.minimum(labels[above], labels[below])
        updated = labels.copy()
        np.minimum.at(updated, above, lowest)
        np.minimum.at(updated, below, lowest)
        updated = updated[updated]
        if np.array_equal(updated, labels):
            break
        labels = updated
    return np.unique(labels, return_inverse=True)[1]


def paint_labels(shape, rows, starts, ends, run_labels) -> np.ndarray:
    """A label image: (h, w) int32, 0 = background, component k painted as k + 1."""
    image = np.zeros(shape[0] * shape[1], dtype=np.int32)
    lengths = ends - starts
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    image[np.repeat(rows * shape[1] + starts, lengths) + offsets] = np.repeat(run_labels + 1, lengths)
    return image.reshape(shape)


def component_boxes(rows, starts, ends, run_labels) -> np.ndarray:
    """Bounding box of each component: -> (n_components, 4) int (x0, y0, x1, y1)."""
    n = int(run_labels.max()) + 1 if run_labels.size else 0
    boxes = np.empty((n, 4), dtype=np.int64)
    boxes[:, :2] = np.iinfo(np.int64).max
    boxes[:, 2:] = -1
    np.minimum.at(boxes[:, 0], run_labels, starts)
    np.minimum.at(boxes[:, 1], run_labels, rows)
    np.maximum.at(boxes[:, 2], run_labels, ends)
    np.maximum.at(boxes[:, 3], run_labels, rows + 1)
    return boxes


def find_blobs(mask: np.ndarray) -> tuple[list[Blob], np.ndarray]:
    """Digit candidates in reading order and the label image they refer to (see ``paint_labels``)."""
    rows, starts, ends = row_runs(mask)
    keep = drop_rulings(rows, starts, ends, mask.shape[1])
    rows, starts, ends = rows[keep], starts[keep], ends[keep]
    run_labels = label_runs(rows, starts, ends)
    labels = paint_labels(mask.shape, rows, starts, ends, run_labels)
    boxes = component_boxes(rows, starts, ends, run_labels)
    blobs = [Blob(tuple(int(v) for v in box), (k + 1,)) for k, box in enumerate(boxes)]
    if not blobs:
        return [], labels
    digit_height = typical_height(blobs)
    blobs = [b for b in blobs if max(b.height, b.width) >= SPECK_FRACTION * digit_height]
    blobs = merge_pieces(blobs)
    blobs = [b for b in blobs if is_digit_sized(b, typical_height(blobs))]
    return in_reading_order(blobs), labels


def split_touching(blob: Blob, labels: np.ndarray) -> list[Blob]:
    """How a blob wider than a digit would split into ``round(width / (DIGIT_ASPECT * height))``
    touching digits, cut each time at the column with the least ink near the even split; [blob] when
    it is not wider than a digit. Whether to split is the reader's choice (it can ask the network)."""
    if blob.width <= 1.25 * blob.height:
        return [blob]
    parts = max(2, round(blob.width / (DIGIT_ASPECT * blob.height)))
    x0, y0, x1, y1 = blob.box
    ink = np.isin(labels[y0:y1, x0:x1], blob.labels)
    columns = ink.sum(axis=0)
    step = blob.width / parts
    cuts = [0]
    for i in range(1, parts):
        lo, hi = int(i * step - 0.3 * step), int(i * step + 0.3 * step) + 1
        cuts.append(lo + int(np.argmin(columns[lo:hi])))
    cuts.append(blob.width)
    pieces = []
    for left, right in zip(cuts[:-1], cuts[1:]):
        rows = np.nonzero(ink[:, left:right].any(axis=1))[0]
        if right > left and rows.size:
            box = (x0 + left, y0 + int(rows[0]), x0 + right, y0 + int(rows[-1]) + 1)
            pieces.append(Blob(box, blob.labels, blob.row))
    return pieces if len(pieces) > 1 else [blob]


def typical_height(blobs: list[Blob]) -> float:
    """The height of a whole digit: the median height of the blobs at least half as tall as the tallest."""
    heights = np.array([b.height for b in blobs], dtype=float)
    return float(np.median(heights[heights >= 0.5 * heights.max()]))


def is_digit_sized(blob: Blob, digit_height: float) -> bool:
    return blob.height >= MIN_HEIGHT_PX and max(blob.height, blob.width) >= SPECK_FRACTION * digit_height


def merge_pieces(blobs: list[Blob]) -> list[Blob]:
    """Merge the pieces of digits broken by a light pen or by a removed ruled line.

    Two blobs may merge when their union is no taller than twice the tallest blob so far and not
    much wider than tall, and either one lies over the other with a small gap or one is a small
    piece close to the other. The closest such pair merges first, until none is left.
    """
    blobs = list(blobs)
    while len(blobs) > 1:
        digit_height = max(b.height for b in blobs)
        pairs = [(_gap(a, b), i, j) for i, a in enumerate(blobs) for j, b in enumerate(blobs[i + 1 :], i + 1)
                 if _belong_together(a, b, digit_height)]
        if not pairs:
            break
        _, i, j = min(pairs)
        blobs[i] = _union(blobs[i], blobs.pop(j))
    return blobs


def _gap(a: Blob, b: Blob) -> int:
    """How far apart two boxes are: the larger of the horizontal and vertical gaps (negative: overlap)."""
    x_gap = max(a.box[0], b.box[0]) - min(a.box[2], b.box[2])
    y_gap = max(a.box[1], b.box[1]) - min(a.box[3], b.box[3])
    return max(x_gap, y_gap)


def _belong_together(a: Blob, b: Blob, digit_height: float) -> bool:
    x_overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    y_gap = max(a.box[1], b.box[1]) - min(a.box[3], b.box[3])
    union = _union(a, b)
    if union.height > 2.0 * digit_height or union.width > 1.4 * max(digit_height, union.height):
        return False
    stacked = x_overlap >= 0.5 * min(a.width, b.width) and y_gap <= PIECE_GAP * max(a.height, b.height)
    small_piece = min(a.height, b.height) < 0.6 * digit_height and _gap(a, b) <= 0.25 * digit_height
    return stacked or small_piece


def _union(a: Blob, b: Blob) -> Blob:
    box = (min(a.box[0], b.box[0]), min(a.box[1], b.box[1]), max(a.box[2], b.box[2]), max(a.box[3], b.box[3]))
    return Blob(box, a.labels + b.labels)


def in_reading_order(blobs: list[Blob]) -> list[Blob]:
    """Group blobs into rows (a blob joins a row when its vertical centre lies within the row's band,
    or the row's centre within the blob's height) and return them row by row, top to bottom, each row
    left to right, with ``row`` set."""
    rows: list[list[Blob]] = []
    for blob in sorted(blobs, key=lambda b: (b.box[1] + b.box[3]) / 2):
        centre = (blob.box[1] + blob.box[3]) / 2
        if rows:
            top = np.median([b.box[1] for b in rows[-1]])
            bottom = np.median([b.box[3] for b in rows[-1]])
            if top <= centre <= bottom or blob.box[1] <= (top + bottom) / 2 <= blob.box[3]:
                rows[-1].append(blob)
                continue
        rows.append([blob])
    ordered = []
    for index, row in enumerate(rows):
        for blob in sorted(row, key=lambda b: b.box[0]):
            blob.row = index
            ordered.append(blob)
    return ordered
