"""Where a blob of touching digits might be cut: candidate cut paths, and the blob cut along them.

A blob wider than a narrow digit is over-segmented: cut wherever two digits may meet, so that each
digit is one or a few consecutive parts and the reader (``reading.lattice``) can choose, by asking
the network, which parts make a digit. Three kinds of places are tried, as in the literature on
digit strings: valleys of the vertical projection (few ink pixels in a column), valleys of the upper
contour (the ink's top dips where two digits meet) and of the lower contour (its bottom rises). At a
contour valley the cut is a drop-fall path: a drop falls from the valley through the blob, going
straight down where it can and sliding diagonally past ink where the way down is blocked, so that a
slanted join is cut along its slant and not across it. Each place keeps the path that crosses the
least ink; paths at least ``MIN_PART`` digit heights apart are applied together, without crossing.
A piece whose reading the network doubts is cut again, finer (``FINER_CUT_WIDTH``, ``FINER_MIN_PART``):
a 1 glued to its neighbour makes a blob no wider than one digit, and the 1 is narrower than ``MIN_PART``.
"""

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from digitnet.reading.segment import Blob

CUT_WIDTH = 0.9    # a blob wider than this many of its row's digit heights is cut into parts
MIN_PART = 0.12    # parts are at least this many digit heights wide (cuts are this far apart)
MAX_CUTS = 40      # at most this many cuts through one blob (a string of ~10 touching digits)
FINER_CUT_WIDTH = 0.3   # a piece looked at again is cut when wider than this many digit heights...
FINER_MIN_PART = 0.06   # ...into parts at least this many digit heights wide


def cut_into_parts(blob: Blob, labels: np.ndarray, digit_height: float, fresh_labels: Iterator[int],
                   finer: bool = False) -> list[Blob]:
    """The parts of ``blob`` (one connected piece), left to right; [blob] when it is not cut.

    labels: the (h, w) int32 label image, relabelled in place: each part gets the next label of
    ``fresh_labels`` (labels no pixel has yet). digit_height: the row's digit height in mask pixels.
    finer: cut narrower blobs into narrower parts (a piece looked at again).
    """
    cut_width, min_part = (FINER_CUT_WIDTH, FINER_MIN_PART) if finer else (CUT_WIDTH, MIN_PART)
    if blob.width <= cut_width * digit_height:
        return [blob]
    x0, y0, x1, y1 = blob.box
    window = labels[y0:y1, x0:x1]
    ink = np.isin(window, blob.labels)
    paths = cut_paths(ink, digit_height, min_part)
    if not paths:
        return [blob]
    columns = np.arange(ink.shape[1])
    part_of = (columns[None, None, :] >= np.stack(paths)[:, :, None]).sum(axis=0)  # (h, w): 0..len(paths)
    parts = []
    for k in range(len(paths) + 1):
        rows, cols = np.nonzero(ink & (part_of == k))
        if rows.size == 0:
            continue
        label = next(fresh_labels)
        window[rows, cols] = label
        parts.append(Blob((x0 + int(cols.min()), y0 + int(rows.min()), x0 + int(cols.max()) + 1,
                           y0 + int(rows.max()) + 1), (label,)))
    return parts


def cut_paths(ink: np.ndarray, digit_height: float, min_part: float = MIN_PART) -> list[np.ndarray]:
    """Cut paths through a blob, left to right: ink (h, w) bool -> paths, each (h,) int, the column
    where row y is cut (pixels left of it are on the left), at least ``min_part`` digit heights
    apart. Paths never cross."""
    h, w = ink.shape
    spacing = max(2, int(round(min_part * digit_height)))
    if w < 2 * spacing:
        return []
    has_ink = ink.any(axis=0)
    top = np.where(has_ink, ink.argmax(axis=0), h)
    bottom = np.where(has_ink, h - 1 - ink[::-1].argmax(axis=0), -1)
    candidates = [np.full(h, x) for x in _valleys(-ink.sum(axis=0), spacing)]
    candidates += [drop_fall(ink, x) for x in _valleys(top, spacing)]
    candidates += [drop_fall(ink[::-1], x)[::-1] for x in _valleys(-bottom, spacing)]
    inside = [p for p in candidates if spacing <= p.mean() <= w - spacing]
    crossed = [int(ink[np.arange(h), np.minimum(p, w - 1)].sum()) for p in inside]
    chosen: list[np.ndarray] = []
    for index in sorted(range(len(inside)), key=lambda i: (crossed[i], inside[i].mean())):
        if len(chosen) < MAX_CUTS and all(abs(inside[index].mean() - c.mean()) >= spacing for c in chosen):
            chosen.append(inside[index])
    chosen.sort(key=lambda p: p.mean())
    return list(np.maximum.accumulate(np.stack(chosen), axis=0)) if chosen else []


def _valleys(profile: np.ndarray, spacing: int) -> np.ndarray:
    """Columns where ``profile`` (w,) reaches the maximum of the ``spacing`` columns either side of it:
    the bottoms of its valleys seen upside down (pass minus a profile to get its valleys)."""
    padded = np.pad(profile.astype(float), spacing, mode="edge")
    peaks = sliding_window_view(padded, 2 * spacing + 1).max(axis=1)
    at_peak = profile >= peaks
    starts = np.flatnonzero(at_peak & ~np.r_[False, at_peak[:-1]])  # the first column of each plateau
    ends = np.flatnonzero(at_peak & ~np.r_[at_peak[1:], False])
    return (starts + ends) // 2


def drop_fall(ink: np.ndarray, x: int) -> np.ndarray:
    """The path of a drop let fall from column ``x`` at the top of ink (h, w) bool: (h,) int.

    Each row down, the drop goes straight down if that pixel is paper, else down-left or down-right
    if one of those is, else straight down through the ink (the cut).
    """
    h, w = ink.shape
    path = np.empty(h, dtype=np.int64)
    for y in range(h):
        path[y] = x
        if y + 1 < h and ink[y + 1, x]:
            if x > 0 and not ink[y + 1, x - 1]:
                x -= 1
            elif x + 1 < w and not ink[y + 1, x + 1]:
                x += 1
    return path
