"""Ruled lines: the long, thin, straight lines of the paper (notebook rulings, a margin, a grid, an
underline, a form's rules and the boxes it asks digits to be written in), and the paper's edges,
taken out of the ink before the reader looks for digits.

A line is ink that runs straight along one row for at least ``LINE_FRACTION`` of the photo (of
the part of the photo that row crosses, where a tilted line leaves through an edge), in a band of
such rows at most ``LINE_THINNESS`` of the photo thick: no handwritten stroke is that straight for
that long while that thin. A photo is seldom square to its paper, so each direction's lines are
looked for along their own slope: the mask is sheared until its lines lie along rows (the slope,
within ``MAX_TILT_DEGREES``, at which a projection profile of the middles of its thin runs of ink
is sharpest, searched coarse then fine), and sheared back once its lines are out.
A line's pixels stay where a stroke crosses it or rests on it, so that the stroke stays whole.

A form's boxes are smaller than the photo: a box, or a row of boxes sharing their walls, is a
frame, a piece of ink between the photo's top and bottom with straight edges along at least
``FRAME_FRACTION`` of its own width on its top and bottom and of its own height on its left and
right. Its edges and inner walls are taken out as lines of that piece alone, before the page's
lines; a digit's stroke, however straight, makes no frame, and a grid cut by the photo's top or
bottom is no frame either. Where the photo's left or right side cuts a row of boxes, the side
stands in for the wall it cuts off (a wall must stand at the row's other end).
A form's comb is a piece with one such edge and short teeth standing on it (or hanging from it):
at least ``COMB_TEETH`` thin runs of ink from the edge, the outermost at its ends, all as long as
their median within ``COMB_TOOTH_SPREAD``; the edge and the teeth go, and a 1 standing on the
edge, taller than the teeth, stays.

A photo of a page seldom ends exactly at its edge: a sliver of what lies beyond it (a desk, a
shadow) runs along a side of the photo. Ink that touches a side along at least ``EDGE_FRACTION``
of it, lies entirely within ``EDGE_DEPTH`` of the photo from it and is at least twice as long as
any digit is such a sliver; a digit cut by the photo's edge reaches further in, and a 1 at the
edge of a photo cropped to its digits is as tall as they are. Where the page lies tilted, what
lies beyond it shows as wedges in the photo's corners instead: a piece of ink that holds a corner
pixel, lies flush against a side (each column, or row, of it one run of ink down from the side),
at least ``WEDGE_LENGTH`` times as long along that side as it is deep, and thins away from the
corner (its far quarter at most half as deep as its near one). A strip at most
``THINNEST_WEDGE`` deep along a side can join the wedges of two corners: such strips are peeled
off (unless the writing's strokes are that thin) and what is left must be wedges. A stroke ends
in a corner only where a photo is cropped tight, and then it is no flush triangle: a straight 1
along the side is as deep all along, a slanted one leaves the side at once.
"""

import numpy as np

from digitnet.reading.runs import along_sides, component_boxes, components, label_runs, painted, row_runs

LINE_FRACTION = 0.6       # a straight run of ink at least this fraction of the photo across...
LINE_THINNESS = 0.025     # ...in a band of such runs at most this fraction of the photo thick is a line
LINE_GAP = 0.005          # a line's run may break for at most this fraction of the photo (a faint line)
MAX_TILT_DEGREES = 8.0    # lines are looked for up to this far from the page's rows and columns
COARSE_STEP_DEGREES = 0.25
FINE_STEP_DEGREES = 0.02
PROFILE_BIN_ROWS = 0.25   # the profile counts quarter rows (a thin line's middles lie on whole and half rows)
PROFILE_PIXELS = 20_000   # the slope is found on at most this many runs' middles, taken evenly
FRAME_FRACTION = 0.8      # a frame's edges run straight along at least this fraction of its sides...
FRAME_THINNESS = 0.1      # ...in bands at most this fraction of its shorter side thick
MIN_FRAME_PX = 12         # no frame is smaller than this across or down
MAX_FRAMES = 400          # frames are looked for among at most this many pieces (time grows with them)
COMB_TEETH = 3            # a comb has at least this many teeth on its line...
COMB_TOOTH_SPREAD = 0.25  # ...all as long as their median within this fraction of it
EDGE_FRACTION = 0.6       # a sliver beyond the paper's edge runs along at least this fraction of a side...
EDGE_DEPTH = 0.15         # ...and lies within this fraction of the photo from it
WEDGE_LENGTH = 3.0        # a wedge of what lies beyond a tilted page is this many times as long as deep, or more
THINNEST_WEDGE = 2        # pixels: runs of ink this deep along a side may join the wedges of two corners
CORNERS = ((0, 0), (0, -1), (-1, 0), (-1, -1))


def without_lines(mask: np.ndarray) -> np.ndarray:
    """The ink mask (h, w) bool without the paper's lines: slivers and wedges beyond its edges, a form's boxes,
    the lines across the page (ruled paper, an underline, a grid's rows), then those down it (a
    margin, a grid's columns)."""
    mask = _without_frames(_without_beyond_edges(mask))
    h, w = mask.shape
    mask = _without_lines_across(mask, LINE_FRACTION, LINE_THINNESS * w, LINE_GAP * w)[0]
    return _without_lines_across(mask.T, LINE_FRACTION, LINE_THINNESS * h, LINE_GAP * h)[0].T


def _without_beyond_edges(mask: np.ndarray) -> np.ndarray:
    """The mask (h, w) bool without what lies beyond the paper's edges (see the module's docstring):
    slivers along the photo's sides and wedges in its corners."""
    labels, boxes = components(mask)
    beyond = _edge_slivers(labels, boxes) + _corner_wedges(labels, boxes)
    return mask & ~np.isin(labels, beyond) if beyond else mask


def _edge_slivers(labels: np.ndarray, boxes: np.ndarray) -> list[int]:
    """The labels of the pieces (labels (h, w), boxes as ``runs.components``) along a side of the
    photo that are at least twice as long as any other piece is along that side (a 1 at the edge of
    a photo cropped to its digits is kept)."""
    h, w = labels.shape
    depths = (boxes[:, 3], h - boxes[:, 1], boxes[:, 2], w - boxes[:, 0])  # how far in from each side
    along = []  # (component, axis along its side: 0 across, 1 down)
    for ids, depth, across, axis in zip(along_sides(labels, EDGE_FRACTION), depths, (h, h, w, w), (0, 0, 1, 1)):
        along += [(k - 1, axis) for k in ids if depth[k - 1] <= EDGE_DEPTH * across]
    lengths = boxes[:, 2:] - boxes[:, :2]  # (width, height) of each piece
    others = np.ones(len(boxes), dtype=bool)
    others[[k for k, _ in along]] = False
    return [k + 1 for k, axis in along if not others.any() or lengths[k, axis] >= 2 * lengths[others, axis].max()]


def _corner_wedges(labels: np.ndarray, boxes: np.ndarray) -> list[int]:
    """The labels of the pieces (labels (h, w), boxes as ``runs.components``) that hold a corner of
    the photo and are wedges beyond a tilted page's edges, whole or once the strips at most
    ``THINNEST_WEDGE`` deep along the photo's sides are peeled off (none where the writing's
    strokes are less than twice as thick): every part left holds a corner and is that corner's wedge."""
    in_corners = {int(labels[corner]) for corner in CORNERS} - {0}
    if not in_corners:
        return []
    h, w = labels.shape
    peel = THINNEST_WEDGE if _stroke_width(labels > 0) >= 2 * THINNEST_WEDGE else 0
    found = []
    for k in in_corners:
        x0, y0, x1, y1 = boxes[k - 1]
        piece = labels[y0:y1, x0:x1] == k
        on_side = (y0 == 0, y1 == h, x0 == 0, x1 == w)
        for peeled in sorted({0, peel}):
            part_labels, part_boxes = components(piece & ~_flush_runs(piece, on_side, peeled))
            corners = {int(part_labels[c]): c for c in CORNERS if on_side[c[0] != 0] and on_side[2 + (c[1] != 0)]}
            if all(j in corners and _is_corner_wedge(part_labels[b:d, a:c] == j, corners[j], peeled)
                   for j, (a, b, c, d) in enumerate(part_boxes, start=1)):
                found.append(k)
                break
    return found


def _depth_from_side(piece: np.ndarray) -> np.ndarray:
    """How far the ink of a piece (h, w) bool runs down from its top row, column by column: (w,) int."""
    return np.argmin(np.vstack([piece, np.zeros((1, piece.shape[1]), bool)]), axis=0)


def _flush_runs(piece: np.ndarray, on_side: tuple[bool, bool, bool, bool], deepest: int) -> np.ndarray:
    """The pixels of a piece (h, w) bool, cut to its box, in runs of ink at most ``deepest`` deep that
    start at one of its box's sides lying on the photo's (``on_side``: top, bottom, left, right)."""
    flush = np.zeros_like(piece)
    views = (lambda a: a, lambda a: a[::-1], lambda a: a.T, lambda a: a.T[::-1])  # each side as row 0
    for view, on in zip(views, on_side):
        if on:
            depth = _depth_from_side(view(piece))
            view(flush)[...] |= (np.arange(len(view(piece)))[:, None] < depth) & (depth <= deepest)
    return flush


def _is_corner_wedge(piece: np.ndarray, corner: tuple[int, int], peeled: int = 0) -> bool:
    """Whether a piece of ink (h, w) bool, cut to its box, that holds the photo's ``corner`` ((0 or
    -1, 0 or -1): top or bottom, left or right) is a wedge of what lies beyond a tilted page: flush
    against the side it runs along, at least ``WEDGE_LENGTH`` times as long as deep, thinning away
    from the corner (see the module's docstring), where its tail may have been ``peeled`` off (the
    runs at most that many pixels deep)."""
    piece = piece[:: -1 if corner[0] else 1, :: -1 if corner[1] else 1]  # the corner at [0, 0]
    if piece.shape[0] > piece.shape[1]:
        piece = piece.T  # (along a left or right side): the side along row 0
    depth = _depth_from_side(piece)
    quarter = max(1, len(depth) // 4)
    return bool(depth.sum() == piece.sum() and len(depth) >= WEDGE_LENGTH * depth.max()
                and depth[-quarter:].mean() <= 0.5 * depth[:quarter].mean() + peeled)


def _stroke_width(mask: np.ndarray) -> float:
    """The writing's typical stroke width in pixels: the median length of the mask's (h, w) runs of ink along its rows."""
    _, starts, ends = row_runs(mask)
    return float(np.median(ends - starts)) if len(starts) else 0.0


def _without_frames(mask: np.ndarray) -> np.ndarray:
    """The mask (h, w) bool without its frames and combs: the pieces of ink with at least two lines
    across, along ``FRAME_FRACTION`` of the piece's width, and two down, along that fraction of the
    distance between the outermost lines across; or with a line across and teeth on it (``_comb``).
    Only pieces with at least as many pixels as one such line needs are looked at. A frame's edges
    may break for half their greatest thickness: two boxes drawn side by side make one piece whose
    edges have a gap where the boxes meet."""
    rows, starts, ends = row_runs(mask)
    run_labels = label_runs(rows, starts, ends)
    boxes = component_boxes(rows, starts, ends, run_labels)
    sides = boxes[:, 2:] - boxes[:, :2]
    pixels = np.bincount(run_labels, weights=ends - starts, minlength=len(boxes))
    between_top_and_bottom = (boxes[:, 1] > 0) & (boxes[:, 3] < mask.shape[0])
    candidates = np.flatnonzero(between_top_and_bottom & (sides.min(axis=1) >= MIN_FRAME_PX)
                                & (pixels >= FRAME_FRACTION * sides[:, 0]))
    if not candidates.size or candidates.size > MAX_FRAMES:
        return mask  # with more, the page is no form but a pattern, and refused for its many pieces
    mask = mask.copy()
    order = np.argsort(run_labels, kind="stable")
    first = np.searchsorted(run_labels[order], candidates)
    last = np.searchsorted(run_labels[order], candidates, side="right")
    for k, a, b in zip(candidates, first, last):
        x0, y0, x1, y1 = boxes[k]
        runs = order[a:b]
        piece = painted((y1 - y0, x1 - x0), rows[runs] - y0, starts[runs] - x0, ends[runs] - x0)
        thickness = FRAME_THINNESS * min(x1 - x0, y1 - y0)
        across, edges = _without_lines_across(piece, FRAME_FRACTION, thickness, thickness / 2)
        if not edges.size:
            continue
        if _count_lines(edges) >= 2:
            down, walls = _without_lines_across(across.T, FRAME_FRACTION, thickness, thickness / 2,
                                                length=np.ptp(edges))
            if _count_lines(walls) >= 2 or walls.size and _cut_by_a_side(walls, x0, x1, mask.shape[1], thickness):
                mask[y0:y1, x0:x1] &= ~piece | down.T
                continue
        comb = _comb(piece & ~across, across, thickness)
        if comb is not None:
            mask[y0:y1, x0:x1] &= ~piece | (across & ~comb)
    return mask


def _cut_by_a_side(walls: np.ndarray, x0: int, x1: int, width: int, thickness: float) -> bool:
    """Whether a piece from column ``x0`` to ``x1`` with ``walls`` (columns from ``x0``, as
    ``_without_lines_across`` finds them) is a row of boxes that the photo's left or right side
    (``width`` wide) cuts: it stands in for the wall it cuts off, and a wall stands at the far end.
    Not both sides: lines across the photo with a digit between them are no box."""
    if (x0 == 0) == (x1 == width):
        return False
    far_end = walls.min() if x1 == width else x1 - x0 - 1 - walls.max()
    return bool(far_end <= 2 * thickness)


def _comb(line: np.ndarray, rest: np.ndarray, thickness: float) -> np.ndarray | None:
    """A form's comb in a piece of ink with a line across (``line``: the line's pixels; ``rest``: the
    piece's other ink; both (h, w) bool). Its teeth are runs of ink up (or down) from the line, in
    groups of columns no wider than ``thickness`` or twice the line: at least ``COMB_TEETH`` of them,
    the outermost at the line's ends, all within ``COMB_TOOTH_SPREAD`` of their median length.
    -> the line's and the teeth's pixels (h, w) bool, or None where the piece is no comb (a digit's
    straight stroke has no such teeth; a 1 standing on the line is taller than they are, and stays)."""
    h, w = line.shape
    columns = np.flatnonzero(line.any(axis=0))
    if len(columns) < FRAME_FRACTION * w:
        return None
    pen = np.median(line[:, columns].sum(axis=0))  # the line's thickness: the teeth's is alike
    # The line is straight: its edges, fitted, run on under a tooth (which keeps the line's pixels there).
    top, bottom = (np.round(np.polyval(np.polyfit(columns, edge[columns], 1), np.arange(w))).astype(np.int64)
                   for edge in (line.argmax(axis=0), h - 1 - line[::-1].argmax(axis=0)))
    for step in (-1, 1):  # teeth standing up from the line, or hanging down from it
        rows = (top - 1 if step < 0 else bottom + 1)[None, :] + step * np.arange(h)[:, None]
        inside = (rows >= 0) & (rows < h)
        runs = _depth_from_side(inside & rest[np.clip(rows, 0, h - 1), np.arange(w)[None, :]])
        standing = np.flatnonzero(runs > thickness)
        groups = np.split(standing, np.flatnonzero(np.diff(standing) > 1) + 1) if standing.size else []
        thin = [g for g in groups if len(g) <= max(thickness, 2 * pen)]
        if len(thin) < COMB_TEETH:
            continue
        length = np.median([runs[g].max() for g in thin])
        teeth = [g for g in thin if abs(runs[g].max() - length) <= COMB_TOOTH_SPREAD * length]
        if (len(teeth) < COMB_TEETH or teeth[0][0] > columns[0] + thickness
                or teeth[-1][-1] < columns[-1] - thickness):
            continue
        reach_top, reach_bottom = (top - runs, bottom) if step < 0 else (top, bottom + runs)
        band = (np.arange(h)[:, None] >= reach_top) & (np.arange(h)[:, None] <= reach_bottom)
        in_teeth = np.zeros(w, dtype=bool)
        in_teeth[np.concatenate(teeth)] = True
        return line | (rest & band & in_teeth)
    return None


def _without_lines_across(mask: np.ndarray, fraction: float, thickness: float, gap: float,
                          length: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The mask (h, w) bool without its lines that run across it, at the slope of the most
    pronounced (lines: runs along ``fraction`` of the photo, or of ``length`` px, in bands at most
    ``thickness`` px thick, broken for at most ``gap`` px at a time), and the rows its lines lie
    on, once level: (n,) int ascending."""
    slope, could_be_line = _slope_of_lines(mask, fraction, thickness)
    if not could_be_line:
        return mask, np.zeros(0, np.int64)
    ys, xs = np.nonzero(mask)
    shifts = -np.round(np.arange(mask.shape[1]) * slope).astype(np.int64)  # level with its line
    shifts -= shifts.min()
    sheared = np.zeros((mask.shape[0] + int(shifts.max()), mask.shape[1]), dtype=bool)
    sheared[ys + shifts[xs], xs] = True
    order = np.sort(shifts)
    rows = np.arange(sheared.shape[0])  # how many columns x of each sheared row lie in the photo:
    reach = np.searchsorted(order, rows, side="right") - np.searchsorted(order, rows - mask.shape[0], side="right")
    if length is not None:
        reach = np.full(rows.shape, length)
    cleaned, lines = _without_level_lines(sheared, reach, fraction, thickness, gap)
    if not lines.size:
        return mask, lines
    return cleaned[np.arange(mask.shape[0])[:, None] + shifts[None, :], np.arange(mask.shape[1])[None, :]], lines


def line_slope(mask: np.ndarray) -> float:
    """The slope (rows per column, within ``MAX_TILT_DEGREES``) of the lines across the mask (h, w)
    bool: where the profile of its thin ink's rows is sharpest (see ``_slope_of_lines``)."""
    return _slope_of_lines(mask, LINE_FRACTION, LINE_THINNESS * mask.shape[1])[0]


def _slope_of_lines(mask: np.ndarray, fraction: float, thickness: float) -> tuple[float, bool]:
    """``line_slope`` of the mask (h, w) bool, and whether the profile peaks high enough for a line
    (half of ``fraction`` of the width within a row). The profile counts the middle of each run of
    ink down a column no longer than a line is thick (``thickness`` px): a line counts once in
    each column it crosses, however thick, and a thick stroke not at all."""
    xs, tops, bottoms = row_runs(mask.T)
    thin = bottoms - tops <= thickness
    xs, ys = xs[thin], (tops[thin] + bottoms[thin] - 1) / 2
    if ys.size == 0:
        return 0.0, False
    step = -(-ys.size // PROFILE_PIXELS)
    ys, xs = ys[::step], xs[::step]
    coarse = np.arange(-MAX_TILT_DEGREES, MAX_TILT_DEGREES + COARSE_STEP_DEGREES / 2, COARSE_STEP_DEGREES)
    angle, peak = _sharpest_profile(ys, xs, coarse)
    if peak * step < 0.5 * fraction * mask.shape[1]:
        return float(np.tan(np.radians(angle))), False
    fine = angle + np.arange(-COARSE_STEP_DEGREES / 2, COARSE_STEP_DEGREES / 2 + FINE_STEP_DEGREES / 2,
                             FINE_STEP_DEGREES)
    return float(np.tan(np.radians(_sharpest_profile(ys, xs, fine)[0]))), True


def _sharpest_profile(ys: np.ndarray, xs: np.ndarray, degrees: np.ndarray) -> tuple[float, int]:
    """Of the angles ``degrees`` (k,), the one whose profile of y - x tan(angle) over the points
    (ys, xs), in bins of ``PROFILE_BIN_ROWS``, is sharpest (the largest sum of squared counts of
    three neighbouring bins: the points piled into the fewest bins), and the tallest peak of all
    the profiles (points in three bins)."""
    offsets = np.round((ys[None, :] - xs[None, :] * np.tan(np.radians(degrees))[:, None]) / PROFILE_BIN_ROWS).astype(np.int64)
    offsets -= offsets.min()
    span = int(offsets.max()) + 1
    profiles = np.bincount((offsets + span * np.arange(len(degrees))[:, None]).ravel(),
                           minlength=span * len(degrees)).reshape(len(degrees), span)
    profiles = np.pad(profiles, ((0, 0), (1, 1)))
    profiles = profiles[:, :-2] + profiles[:, 1:-1] + profiles[:, 2:]
    sharpness = (profiles.astype(np.float64) ** 2).sum(axis=1)
    return float(degrees[np.argmax(sharpness)]), int(profiles.max())


def _without_level_lines(mask: np.ndarray, reach: np.ndarray, fraction: float, thickness: float,
                         gap: float) -> tuple[np.ndarray, np.ndarray]:
    """The mask (h, w) bool with its lines along rows taken out (runs along ``fraction`` of the
    ``reach`` (h,) int, how many pixels of each row lie in the photo, in bands at most
    ``thickness`` px thick, broken for at most ``gap`` px at a time), all but the pixels of a line
    that a stroke crosses or rests on: those joined, up or down their column through the line, to
    ink just above or below it; and the rows of its lines, (n,) int ascending.

    Lines are found with a pixel of slack up and down, and their runs may break: a line that is not
    quite level steps from one row to the next, and a faint one fades."""
    h = mask.shape[0]
    slack = mask.copy()
    slack[1:] |= mask[:-1]
    slack[:-1] |= mask[1:]
    rows, starts, ends = _bridged(*row_runs(slack), gap)
    long = ends - starts >= fraction * reach[rows]
    line_rows = np.unique(rows[long])
    if not line_rows.size:
        return mask, line_rows
    band = np.cumsum(np.r_[True, np.diff(line_rows) > 1]) - 1
    thin = np.bincount(band)[band] - 2 <= thickness  # less the slack
    ruled = long & np.isin(rows, line_rows[thin])
    if not ruled.any():
        return mask, line_rows[thin]
    line = painted(mask.shape, rows[ruled], starts[ruled], ends[ruled]) & mask
    ink = mask & ~line
    columns, tops, bottoms = row_runs(line.T)  # the lines' pixels as runs down each column
    crossed = (((tops > 0) & ink[np.maximum(tops - 1, 0), columns])
               | ((bottoms < h) & ink[np.minimum(bottoms, h - 1), columns]))
    return ink | painted(line.T.shape, columns[crossed], tops[crossed], bottoms[crossed]).T, line_rows[thin]


def _count_lines(rows: np.ndarray) -> int:
    """How many lines lie on ``rows`` (n,) int ascending: a line is a band of neighbouring rows."""
    return int(rows.size and 1 + np.count_nonzero(np.diff(rows) > 1))


def _bridged(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, gap: float):
    """The runs (as ``row_runs``) with the breaks of at most ``gap`` px between neighbours along a row closed."""
    if rows.size == 0:
        return rows, starts, ends
    first = np.r_[True, (rows[1:] != rows[:-1]) | (starts[1:] - ends[:-1] > gap)]
    last = np.r_[first[1:], True]
    return rows[first], starts[first], ends[last]
