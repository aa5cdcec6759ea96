"""What lies around the paper: a page or a note photographed on a desk, a table or a floor, or a
blackboard on a wall (the same, light and dark swapped).

The surround is neither paper nor ink. It is told apart on a coarse grid of block medians, where
strokes thinner than half a block vanish, and then followed to full resolution. A light page in a
dark surround is one where:

- the blocks fall into two levels at least ``MIN_CONTRAST`` apart (Otsu), split half-way;
- the darker blocks connected to the photo's edge run along ``MIN_EDGE`` of one of its sides;
- what they leave is a page: light, at least ``MIN_PAGE`` of the photo and ``MIN_SIDE`` of its
  long side both ways, solid (``MIN_FILL`` of its bounding box, ``MIN_CORE`` of it left after an
  erosion of two blocks: a stroke, however fat, is not), reached from the surround in one step
  (``MIN_STEP`` of the split between neighbouring blocks, along ``SHARP_EDGE`` of its edge: a
  shadow ramps), with four straight sides (a fat digit light on dark is curved);
- the surround holds no writing (paper in a hard shadow would), the page does (a straight, fat
  light stroke on dark holds none), and the surround is ``LONGER_THAN_WRITING`` times as long as
  any piece of it (a 1 along the edge of a photo cropped to its digits is as tall as they are).

At full resolution the surround is every pixel darker than the split connected to those blocks.
"""

import numpy as np
from PIL import Image, ImageFilter

from digitnet.reading.runs import along_sides, components

GRID_BLOCKS = 32      # blocks along the photo's long side
MIN_PHOTO_PX = 64     # a smaller image is a crop, never a photo of a page on a desk
MIN_CONTRAST = 0.2    # paper and surround differ by at least this much of full scale
MIN_EDGE = 0.6        # the surround runs along at least this fraction of one side of the photo
MIN_PAGE = 0.1        # the page is at least this fraction of the photo...
MIN_FILL = 0.6        # ...fills at least this fraction of its bounding box...
MIN_SIDE = 0.15       # ...is at least this fraction of the photo's long side across and down...
MIN_CORE = 0.15       # ...keeps at least this fraction of itself after an erosion of two blocks...
MIN_BRIGHT = 0.8      # ...is at least this fraction bright blocks (a fat digit or a dark object may lie on it)...
MIN_STEP = 0.5        # ...and is a step above the surround, of at least this fraction of the split,
SHARP_EDGE = 0.75     # along at least this fraction of its edge; and its four sides are straight:
STRAIGHT_PX = 2.0     # along the middle of each side, the edge lies within this many px...
STRAIGHT_FRACTION = 0.02  # ...or this fraction of the side's length of one straight line...
STRAIGHT_SHARE = 0.8  # ...for at least this share of its length
MAX_INK_OFF_PAGE = 0.01  # the surround holds no writing: at most this share of it off its level by the contrast
LONGER_THAN_WRITING = 2.0  # and it is at least this many times as long as the longest piece of writing


def find_surround(grey: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """Where a photo grey (h, w) float32 in [0, 1] shows a surround around the paper (or board) it
    is of: ((h, w) bool, True off the paper; whether the paper is the lighter), or None when the
    photo shows paper or board only. Light paper on a dark desk is looked for first, then a dark
    board on a light wall."""
    if min(grey.shape) < MIN_PHOTO_PX:
        return None
    for paper_is_light in (True, False):
        surround = _around_light_paper(grey if paper_is_light else 1.0 - grey)
        if surround is not None:
            return surround, paper_is_light
    return None


def _around_light_paper(grey: np.ndarray) -> np.ndarray | None:
    """The surround (h, w) bool of light paper in a darker surround in ``grey`` (h, w) (see the
    module's docstring), or None."""
    medians, block = _block_medians(grey)
    dark_level, light_level = _otsu_levels(medians.ravel())
    contrast = light_level - dark_level
    split = (dark_level + light_level) / 2
    if contrast < MIN_CONTRAST:
        return None
    outside = _along_an_edge(medians < split)
    page = ~outside
    if not outside.any() or not _is_a_page(page, medians >= split):
        return None
    if np.quantile(_steps_onto(page, medians), 1 - SHARP_EDGE) < MIN_STEP * contrast:
        return None
    labels, boxes = components(grey < split)
    ys, xs = np.nonzero(outside)  # the dark pixels connected to the centre of an outside block:
    reached = np.zeros(len(boxes) + 1, dtype=bool)
    reached[labels[ys * block + block // 2, xs * block + block // 2]] = True
    reached[0] = False
    surround = reached[labels]
    if not surround.any():
        return None
    if np.mean(np.abs(grey[surround] - dark_level) > MIN_CONTRAST) > MAX_INK_OFF_PAGE:
        return None  # writing in it: paper in a hard shadow
    lengths = (boxes[:, 2:] - boxes[:, :2]).max(axis=1)
    writing = lengths[~reached[1:]]
    if not writing.size:
        return None  # nothing written on it: a fat light stroke on dark, as likely as a blank page
    if lengths[reached[1:]].max() < LONGER_THAN_WRITING * writing.max():
        return None  # no longer than what is written on the page: a stroke along the photo's edge
    return surround if _has_straight_sides(~surround) else None


def _block_medians(grey: np.ndarray) -> tuple[np.ndarray, int]:
    """Median grey of each block of a grid ``GRID_BLOCKS`` blocks along the long side: (rows, cols), and the block's side in px."""
    h, w = grey.shape
    block = -(-max(h, w) // GRID_BLOCKS)
    rows, cols = h // block, w // block  # whole blocks only: a part-block at the edge would mix levels
    blocks = grey[: rows * block, : cols * block].reshape(rows, block, cols, block).transpose(0, 2, 1, 3)
    return np.median(blocks.reshape(rows, cols, -1), axis=2), block


def _otsu_levels(values: np.ndarray) -> tuple[float, float]:
    """The two levels of Otsu's split of ``values`` (n,) in [0, 1]: (mean below, mean above)."""
    counts, edges = np.histogram(values, bins=64, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)[:-1]
    above = values.size - below
    sum_below = np.cumsum(counts * centres)[:-1]
    mean_below = sum_below / np.maximum(below, 1)
    mean_above = (np.sum(counts * centres) - sum_below) / np.maximum(above, 1)
    k = int(np.argmax(below * above * (mean_above - mean_below) ** 2))
    return float(mean_below[k]), float(mean_above[k])


def _along_an_edge(dark: np.ndarray) -> np.ndarray:
    """The dark blocks (rows, cols) bool connected (8-neighbours) to a run of dark blocks along at
    least ``MIN_EDGE`` of one side of the grid."""
    labels, _ = components(dark)
    return np.isin(labels, np.concatenate(along_sides(labels, MIN_EDGE)))


def _is_a_page(page: np.ndarray, light: np.ndarray) -> bool:
    """Whether the blocks (rows, cols) bool ``page`` are a page: large, solid and mostly ``light``."""
    if page.sum() < MIN_PAGE * page.size or light[page].mean() < MIN_BRIGHT:
        return False
    ys, xs = np.nonzero(page)
    height, width = np.ptp(ys) + 1, np.ptp(xs) + 1
    if min(height, width) < MIN_SIDE * GRID_BLOCKS or page.sum() < MIN_FILL * height * width:
        return False
    core = Image.fromarray(page.astype(np.uint8) * 255).filter(ImageFilter.MinFilter(5))
    return np.count_nonzero(np.asarray(core)) >= MIN_CORE * page.sum()


def _steps_onto(page: np.ndarray, medians: np.ndarray) -> np.ndarray:
    """How much lighter each page block is than its neighbour off the page, across each of the
    page's edges between 4-neighbouring blocks: (n,) float."""
    steps = []
    for axis in (0, 1):
        a, b = np.swapaxes(page, 0, axis), np.swapaxes(medians, 0, axis)
        onto = a[1:] & ~a[:-1], ~a[1:] & a[:-1]  # page below / above its neighbour
        steps += [(b[1:] - b[:-1])[onto[0]], (b[:-1] - b[1:])[onto[1]]]
    return np.concatenate(steps)


def _has_straight_sides(page: np.ndarray) -> bool:
    """Whether the edges of the pixels ``page`` (h, w) bool seen from the four sides are straight
    along the middle three fifths of each side (a page's edge; a photo's edge where the page runs
    off it), as ``STRAIGHT_PX``, ``STRAIGHT_FRACTION`` and ``STRAIGHT_SHARE`` say."""
    for mask in (page, page.T):
        columns = np.flatnonzero(mask.any(axis=0))
        span = columns[-1] - columns[0] + 1
        middle = columns[(columns >= columns[0] + span // 5) & (columns < columns[-1] + 1 - span // 5)]
        first = np.argmax(mask[:, middle], axis=0)
        last = mask.shape[0] - 1 - np.argmax(mask[::-1, middle], axis=0)
        tolerance = max(STRAIGHT_PX, STRAIGHT_FRACTION * span)
        if not (_straight(middle, first, tolerance) and _straight(middle, last, tolerance)):
            return False
    return True


def _straight(xs: np.ndarray, ys: np.ndarray, tolerance: float) -> bool:
    """Whether at least ``STRAIGHT_SHARE`` of the points (xs, ys) lie within ``tolerance`` of one
    line (fitted by least squares, then again without the points beyond three tolerances)."""
    if xs.size < 3:
        return False
    keep = np.ones(xs.size, dtype=bool)
    for _ in range(2):
        slope, intercept = np.polyfit(xs[keep], ys[keep], 1)
        off = np.abs(ys - (slope * xs + intercept))
        keep = off <= 3 * tolerance
        if np.count_nonzero(keep) < 3:
            return False
    return np.mean(off <= tolerance) >= STRAIGHT_SHARE

