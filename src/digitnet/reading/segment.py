"""From an ink mask to text rows of ink pieces, in time near-linear in the number of pieces.

The paper's lines are taken out of the mask (``reading.lines``), connected components are found on
runs of ink along rows (``reading.runs``), and specks are dropped as pieces (their ink stays, as
loose ink that a candidate digit keeps where it lies in its box: a stroke a thin pen broke),
unless specks close together reach a fifth of a digit: then they are one piece, a stroke broken
into dots (not when they run on beyond two digit heights: that is a dotted line to write on).
Pieces that lie over one another with a small gap (a digit broken by a pen that skips) are grouped
into clusters by a sweep along x (each piece is compared only with the pieces its columns overlap,
never all pairs), and the clusters into text rows, top to bottom, each read left to right. Which
pieces make one digit, and where a blob of touching digits is cut, is left to the reader
(``reading.lattice``): it asks the network.
Boxes are (x0, y0, x1, y1) in mask pixels, x1 and y1 exclusive.
"""

from dataclasses import dataclass, field

import numpy as np

from digitnet.errors import ImageError
from digitnet.reading.lines import without_lines
from digitnet.reading.normalise import dilate
from digitnet.reading.runs import component_boxes, components, row_runs

MIN_HEIGHT_PX = 5       # no row is read whose digits are shorter than this (in mask pixels)
SPECK_FRACTION = 0.15   # a piece whose longer side is below this fraction of the digit height is a speck
                        # (its ink stays loose: kept in any candidate digit whose box it lies in)
PIECE_GAP = 0.3         # pieces over one another at most this fraction of the digit height apart are grouped
LOOSE_INK = -1          # the label of specks' pixels: ink no piece owns
DOTTED_GAP = 0.1        # specks at most this many digit heights apart make one dotted stroke...
DOTTED_SIDE = 0.2       # ...which is a piece when its longer side is at least this many digit heights,
DOTTED_LINE = 2.0       # ...and at most this many: longer, it is a dotted line to write on, no stroke
DOTTED_PIXELS = 2       # specks of fewer pixels than this are noise or dither, never dots of a stroke
MAX_PIECES = 1500       # an image with more pieces of ink than this (specks aside) is refused
MAX_DIGITS = 400        # ... and so is one with more clusters (digits, or digits touching) than this
SMALL_CLUSTER = 0.5     # a cluster less than this fraction of the digit height high joins the nearest row...
ROW_REACH = 0.5         # ...if it is at most this many digit heights above or below it


@dataclass
class Blob:
    """Ink that may be (part of) a digit: its box and the labels of the label image it is made of."""

    box: tuple[int, int, int, int]
    labels: tuple[int, ...]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


@dataclass
class TextRow:
    """One row of text: its clusters left to right, each a list of the pieces it is made of, and the
    row's digit height in mask pixels."""

    clusters: list[list[Blob]] = field(default_factory=list)
    digit_height: float = 0.0

    @property
    def pieces(self) -> list[Blob]:
        """The row's pieces, cluster by cluster from left to right."""
        return [piece for cluster in self.clusters for piece in cluster]


def find_rows(mask: np.ndarray) -> tuple[list[TextRow], np.ndarray]:
    """Text rows top to bottom and the label image their pieces refer to (see ``paint_labels``;
    specks' pixels are labelled ``LOOSE_INK``).

    Raises ImageError (message without the image's name) when the page holds more than
    ``MAX_PIECES`` pieces or ``MAX_DIGITS`` clusters: no page of digits does, and the reading time
    grows with them.
    """
    labels, boxes = components(without_lines(mask))
    pieces = [Blob(tuple(int(v) for v in box), (k + 1,)) for k, box in enumerate(boxes)]
    if not pieces:
        return [], labels
    digit_height = typical_height(pieces)
    is_speck = np.array([max(p.height, p.width) < SPECK_FRACTION * digit_height for p in pieces])
    if is_speck.any():
        labels = join_dotted_strokes(labels, pieces, is_speck, digit_height)
    relabel = np.r_[0, np.where(is_speck, LOOSE_INK, np.arange(1, len(pieces) + 1))].astype(np.int32)
    labels = relabel[labels]
    pieces = [p for p, speck in zip(pieces, is_speck) if not speck]
    if len(pieces) > MAX_PIECES:
        raise ImageError(f"has {len(pieces):,} separate marks, more than the {MAX_PIECES:,} a page of digits "
                         "may hold; crop it to the digits")
    clusters = stacked_clusters(pieces)
    if len(clusters) > MAX_DIGITS:
        raise ImageError(f"has {len(clusters):,} groups of ink, more than the {MAX_DIGITS:,} digits an image "
                         "may hold; crop it to the digits")
    text_rows = []
    for row in in_reading_order(clusters):
        height = typical_height([union(cluster) for cluster in row])
        if height >= MIN_HEIGHT_PX:
            text_rows.append(TextRow(row, height))
    return text_rows, labels


def join_dotted_strokes(labels: np.ndarray, pieces: list[Blob], is_speck: np.ndarray, digit_height: float) -> np.ndarray:
    """Specks of at least ``DOTTED_PIXELS`` pixels, at most ``DOTTED_GAP`` digit heights apart, that
    together reach ``DOTTED_SIDE`` digit heights make one piece: a stroke drawn so thin that it broke
    into dots (single pixels are left alone: a dithered paper is made of them). Dots that run on for
    more than ``DOTTED_LINE`` digit heights are no digit's stroke but a dotted line (a form's line to
    write on), and stay specks. The first speck of a group becomes the piece and takes the others'
    pixels. labels: (h, w) int32 as painted by ``paint_labels`` (piece k is k + 1); pieces and
    is_speck (len(pieces),) bool are changed in place (the specks folded in stay specks, with no
    pixels left). Returns the relabelled image."""
    dots = is_speck & (np.bincount(labels.ravel(), minlength=len(pieces) + 1)[1:] >= DOTTED_PIXELS)
    if not dots.any():
        return labels
    speck_pixels = np.r_[False, dots][labels]
    radius = max(1, round(DOTTED_GAP * digit_height / 2))
    grown = components(dilate(speck_pixels, radius))[0]
    rows, starts, ends = row_runs(speck_pixels)
    speck_of_run = labels[rows, starts] - 1
    _, group_of_run = np.unique(grown[rows, starts], return_inverse=True)
    boxes = component_boxes(rows, starts, ends, group_of_run)
    longer_side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    dotted = (longer_side >= DOTTED_SIDE * digit_height) & (longer_side <= DOTTED_LINE * digit_height)
    heads = np.full(len(boxes), len(pieces))
    np.minimum.at(heads, group_of_run, speck_of_run)  # each group's first speck
    relabel = np.arange(len(pieces) + 1, dtype=labels.dtype)
    folded = dotted[group_of_run]
    relabel[speck_of_run[folded] + 1] = heads[group_of_run[folded]] + 1
    for group in np.flatnonzero(dotted):
        head = int(heads[group])
        pieces[head] = Blob(tuple(int(v) for v in boxes[group]), (head + 1,))
        is_speck[head] = False
    return relabel[labels]


def stacked_clusters(pieces: list[Blob]) -> list[list[Blob]]:
    """Group pieces that lie over one another with a gap of at most ``PIECE_GAP`` times the taller's
    height (and make at most twice the tallest piece or group so far together): a sweep from left
    to right that compares each piece with the pieces whose columns reach its first column, joining
    groups with a union-find."""
    parent = list(range(len(pieces)))
    tallest = max(p.height for p in pieces)
    boxes = [list(p.box) for p in pieces]  # the box of each group, kept at its root

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    reaching: list[int] = []
    for i in sorted(range(len(pieces)), key=lambda k: pieces[k].box[0]):
        x0 = pieces[i].box[0]
        reaching = [j for j in reaching if pieces[j].box[2] > x0]
        for j in reaching:
            a, b = root(i), root(j)
            if a != b and _stacked(boxes[a], boxes[b], tallest):
                parent[b] = a
                boxes[a] = [min(boxes[a][0], boxes[b][0]), min(boxes[a][1], boxes[b][1]),
                            max(boxes[a][2], boxes[b][2]), max(boxes[a][3], boxes[b][3])]
                tallest = max(tallest, boxes[a][3] - boxes[a][1])
        reaching.append(i)
    groups: dict[int, list[Blob]] = {}
    for i, piece in enumerate(pieces):
        groups.setdefault(root(i), []).append(piece)
    return [sorted(group, key=lambda p: p.box[0] + p.box[2]) for group in groups.values()]


def _stacked(a: list[int], b: list[int], tallest: int) -> bool:
    """Whether boxes a and b (x0, y0, x1, y1) lie over one another closely enough to be one digit."""
    x_overlap = min(a[2], b[2]) - max(a[0], b[0])
    y_gap = max(a[1], b[1]) - min(a[3], b[3])
    taller = max(a[3] - a[1], b[3] - b[1])
    height = max(a[3], b[3]) - min(a[1], b[1])
    narrower = min(a[2] - a[0], b[2] - b[0])
    return x_overlap >= 0.5 * narrower and y_gap <= PIECE_GAP * taller and height <= 2 * tallest


def union(blobs: list[Blob]) -> Blob:
    """One blob made of all of ``blobs``: the box around their boxes and all their labels."""
    boxes = np.array([b.box for b in blobs])
    box = (int(boxes[:, 0].min()), int(boxes[:, 1].min()), int(boxes[:, 2].max()), int(boxes[:, 3].max()))
    return Blob(box, tuple(label for b in blobs for label in b.labels))


def typical_height(blobs: list[Blob]) -> float:
    """The height of a whole digit: the median height of the blobs at least half as tall as the tallest."""
    heights = np.array([b.height for b in blobs], dtype=float)
    return float(np.median(heights[heights >= 0.5 * heights.max()]))


def in_reading_order(clusters: list[list[Blob]]) -> list[list[list[Blob]]]:
    """Group clusters into rows: rows top to bottom, each left to right.

    Rows are made of the clusters at least ``SMALL_CLUSTER`` of a digit high: taken from top to bottom
    (by their vertical centres), a cluster joins the row above when its centre lies between that
    row's highest top and lowest bottom, or the row's centre within the cluster's height; else it
    starts a row. A smaller cluster (a piece a skipping pen broke off a digit, a fragment) then joins
    the row nearest to it, if that row is at most ``ROW_REACH`` of a digit above or below it; the
    small clusters far from every row make rows of their own, the same way.
    """
    blobs = [union(cluster) for cluster in clusters]
    boxes = [blob.box for blob in blobs]
    height = typical_height(blobs)
    small = [i for i, blob in enumerate(blobs) if blob.height < SMALL_CLUSTER * height]
    rows = _rows_by_centre(boxes, [i for i, blob in enumerate(blobs) if blob.height >= SMALL_CLUSTER * height])
    spans = [(min(boxes[k][1] for k in row), max(boxes[k][3] for k in row)) for row in rows]
    far = []
    for i in small:
        y0, y1 = boxes[i][1], boxes[i][3]
        distances = [max(top - y1, y0 - bottom, 0) for top, bottom in spans]
        nearest = int(np.argmin(distances)) if distances else -1
        if nearest >= 0 and distances[nearest] <= ROW_REACH * height:
            rows[nearest].append(i)
        else:
            far.append(i)
    rows += _rows_by_centre(boxes, far)
    rows.sort(key=lambda row: min(boxes[k][1] + boxes[k][3] for k in row))
    return [[clusters[k] for k in sorted(row, key=lambda k: boxes[k][0])] for row in rows]


def _rows_by_centre(boxes: list[tuple[int, int, int, int]], chosen: list[int]) -> list[list[int]]:
    """The clusters ``chosen`` (indices into ``boxes``) grouped into rows by the rule of ``in_reading_order``."""
    rows: list[list[int]] = []
    top = bottom = 0
    for i in sorted(chosen, key=lambda k: boxes[k][1] + boxes[k][3]):
        y0, y1 = boxes[i][1], boxes[i][3]
        if rows and (top <= (y0 + y1) / 2 <= bottom or y0 <= (top + bottom) / 2 <= y1):
            rows[-1].append(i)
            top, bottom = min(top, y0), max(bottom, y1)
        else:
            rows.append([i])
            top, bottom = y0, y1
    return rows
