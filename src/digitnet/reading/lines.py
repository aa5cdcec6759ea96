"""Ruled lines: the long, thin, straight lines of the paper (notebook rulings, a margin, a grid, an
underline, a form's rules), taken out of the ink before the reader looks for digits.

A line is ink that runs straight along one row for at least ``LINE_FRACTION`` of the photo (of
the part of the photo that row crosses, where a tilted line leaves through an edge), in a band of
such rows at most ``LINE_THINNESS`` of the photo thick: no handwritten stroke is that straight for
that long while that thin. A photo is seldom square to its paper, so each direction's lines are
looked for along their own slope: the mask is sheared until its most pronounced line lies along a
row (the slope, within ``MAX_TILT_DEGREES``, at which the profile of the ink's rows has its tallest
peak: a projection profile, searched coarse then fine), and sheared back once its lines are out.
A line's pixels stay where a stroke crosses it or rests on it, so that the stroke stays whole.
"""

import numpy as np

from digitnet.reading.runs import painted, row_runs

LINE_FRACTION = 0.6       # a straight run of ink at least this fraction of the photo across...
LINE_THINNESS = 0.025     # ...in a band of such runs at most this fraction of the photo thick is a line
LINE_GAP = 0.005          # a line's run may break for at most this fraction of the photo (a faint line)
MAX_TILT_DEGREES = 8.0    # lines are looked for up to this far from the page's rows and columns
COARSE_STEP_DEGREES = 0.25
FINE_STEP_DEGREES = 0.02
PROFILE_PIXELS = 20_000   # the slope is found on at most this many ink pixels, taken evenly


def without_lines(mask: np.ndarray) -> np.ndarray:
    """The ink mask (h, w) bool without its ruled lines: those across the page (ruled paper, an
    underline, a grid's rows), then those down it (a margin, a grid's columns)."""
    return _without_lines_across(_without_lines_across(mask).T).T


def _without_lines_across(mask: np.ndarray) -> np.ndarray:
    """The mask (h, w) bool without its lines that run across it, at the slope of the most pronounced."""
    ys, xs = np.nonzero(mask)
    slope, could_be_line = _slope_of_tallest_peak(ys, xs, mask.shape[1])
    if not could_be_line:
        return mask
    shifts = -np.round(np.arange(mask.shape[1]) * slope).astype(np.int64)  # level with its line
    shifts -= shifts.min()
    sheared = np.zeros((mask.shape[0] + int(shifts.max()), mask.shape[1]), dtype=bool)
    sheared[ys + shifts[xs], xs] = True
    order = np.sort(shifts)
    rows = np.arange(sheared.shape[0])  # how many columns x of each sheared row lie in the photo:
    reach = np.searchsorted(order, rows, side="right") - np.searchsorted(order, rows - mask.shape[0], side="right")
    cleaned = _without_level_lines(sheared, reach)
    if cleaned is sheared:
        return mask
    return cleaned[np.arange(mask.shape[0])[:, None] + shifts[None, :], np.arange(mask.shape[1])[None, :]]


def line_slope(mask: np.ndarray) -> float:
    """The slope (rows per column, within ``MAX_TILT_DEGREES``) along which the ink of the mask
    (h, w) bool piles up most: where the tallest peak of its rows' profile is, a straight line's."""
    return _slope_of_tallest_peak(*np.nonzero(mask), mask.shape[1])[0]


def _slope_of_tallest_peak(ys: np.ndarray, xs: np.ndarray, width: int) -> tuple[float, bool]:
    """``line_slope`` of the ink pixels (ys, xs) of a mask ``width`` px wide, and whether its peak
    is tall enough for a line (``LINE_FRACTION`` of the width, half of it in the peak's row)."""
    if ys.size == 0:
        return 0.0, False
    step = -(-ys.size // PROFILE_PIXELS)
    ys, xs = ys[::step], xs[::step]
    coarse = np.arange(-MAX_TILT_DEGREES, MAX_TILT_DEGREES + COARSE_STEP_DEGREES / 2, COARSE_STEP_DEGREES)
    angle, peak = _tallest_peak(ys, xs, coarse)
    if peak * step < 0.5 * LINE_FRACTION * width:
        return float(np.tan(np.radians(angle))), False
    fine = angle + np.arange(-COARSE_STEP_DEGREES / 2, COARSE_STEP_DEGREES / 2 + FINE_STEP_DEGREES / 2,
                             FINE_STEP_DEGREES)
    return float(np.tan(np.radians(_tallest_peak(ys, xs, fine)[0]))), True


def _tallest_peak(ys: np.ndarray, xs: np.ndarray, degrees: np.ndarray) -> tuple[float, int]:
    """Of the angles ``degrees`` (k,) (ascending), the one whose profile of rows y - x tan(angle) over
    the pixels (ys, xs) has the tallest peak (the middle one of those that tie: a line some pixels
    thick peaks as tall over a range of angles around its own), and that peak's pixel count."""
    offsets = np.round(ys[None, :] - xs[None, :] * np.tan(np.radians(degrees))[:, None]).astype(np.int64)
    offsets -= offsets.min()
    span = int(offsets.max()) + 1
    profiles = np.bincount((offsets + span * np.arange(len(degrees))[:, None]).ravel(),
                           minlength=span * len(degrees)).reshape(len(degrees), span)
    peaks = profiles.max(axis=1)
    return float(np.median(degrees[peaks == peaks.max()])), int(peaks.max())


def _without_level_lines(mask: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """The mask (h, w) bool with its lines along rows taken out (reach: (h,) int, how many pixels of
    each row lie in the photo), all but the pixels of a line that a stroke crosses or rests on:
    those joined, up or down their column through the line, to ink just above or below it.
    Returns ``mask`` itself when it has no line.

    Lines are found with a pixel of slack up and down, and their runs may break for up to
    ``LINE_GAP`` of the width: a line that is not quite level steps from one row to the next, and
    a faint one fades."""
    h, w = mask.shape
    slack = mask.copy()
    slack[1:] |= mask[:-1]
    slack[:-1] |= mask[1:]
    rows, starts, ends = _bridged(*row_runs(slack), LINE_GAP * w)
    long = ends - starts >= LINE_FRACTION * reach[rows]
    line_rows = np.unique(rows[long])
    if not line_rows.size:
        return mask
    band = np.cumsum(np.r_[True, np.diff(line_rows) > 1]) - 1
    thin = np.bincount(band)[band] - 2 <= LINE_THINNESS * w  # less the slack
    ruled = long & np.isin(rows, line_rows[thin])
    if not ruled.any():
        return mask
    line = painted(mask.shape, rows[ruled], starts[ruled], ends[ruled]) & mask
    ink = mask & ~line
    columns, tops, bottoms = row_runs(line.T)  # the lines' pixels as runs down each column
    crossed = (((tops > 0) & ink[np.maximum(tops - 1, 0), columns])
               | ((bottoms < h) & ink[np.minimum(bottoms, h - 1), columns]))
    return ink | painted(line.T.shape, columns[crossed], tops[crossed], bottoms[crossed]).T


def _bridged(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, gap: float):
    """The runs (as ``row_runs``) with the breaks of at most ``gap`` px between neighbours along a row closed."""
    if rows.size == 0:
        return rows, starts, ends
    first = np.r_[True, (rows[1:] != rows[:-1]) | (starts[1:] - ends[:-1] > gap)]
    last = np.r_[first[1:], True]
    return rows[first], starts[first], ends[last]
