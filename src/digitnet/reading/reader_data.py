"""The reader model's training data, made from MNIST *training* digits only.

The reader feeds its network crops normalised by ``normalise.mnist_style``; this module puts MNIST
digits through that same function, so the network sees at training time what it is shown when
reading. Before normalising, it adds what MNIST has too little of:

- styles (label: the digit): slant up to 25 degrees, thick and thin strokes, strokes broken by
  thin gaps, an 8 with a small
  or open top loop, a crossed 7, a 1 with a flag and a base, a 4 with a closed top, a 9 with a
  straight stem;
- negatives (label ``NOT_A_DIGIT``, 10): two digits slid together until their strokes join, a
  digit with a piece of its neighbour, half digits, and fragments and stroke junctions.

It lives beside ``normalise`` because it is the reader's half of a contract: what a crop looks
like to the network. Everything works on stacks of 28-pixel-high canvases, float32 ink in [0, 1],
and draws its randomness from the ``numpy.random.Generator`` passed in.
"""

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digitnet.data import Split
from digitnet.reading.normalise import mnist_style, normalised, tight_crop
from digitnet.training.augmentation import ink_extent
from digitnet.training.augmentation import pen_skips as broken  # the style "strokes broken by thin gaps"

SIDE = 28
NOT_A_DIGIT = 10             # the label of every negative (the model's 11th output)
MAX_SLANT_DEGREES = 25.0
SAME_HEIGHT = 2              # touching pairs are made of digits at most this many pixels apart in height
DIGIT_LIKE = 0.9             # a piece a digit model reads this surely as one digit is not a negative


@dataclass(frozen=True)
class ReaderDataMix:
    """How much of each kind to add per training digit (fractions of the digits given)."""

    styled: float = 0.35         # restyled copies (each drawn from the styles that fit its digit)
    touching_pairs: float = 0.12
    with_neighbour_piece: float = 0.08
    halves: float = 0.09
    fragments: float = 0.09
    pages: float = 0.0           # pages of digits whose candidates the reader cuts (``page_crops``; not shipped)


# ---------------------------------------------------------------------------------------------------
# Drawing on stacks of canvases
# ---------------------------------------------------------------------------------------------------

def draw_segments(canvases: np.ndarray, start: np.ndarray, end: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Draw one straight stroke on each canvas, anti-aliased: canvases (n, h, w); start, end (n, 2)
    (row, column) pixel centres; width (n,) pixels. Returns the new stack (ink is the max of both)."""
    n, h, w = canvases.shape
    points = np.stack(np.indices((h, w)), -1).reshape(1, -1, 2).astype(np.float32)  # (1, h*w, 2)
    direction = (end - start).astype(np.float32)[:, None, :]
    length2 = np.maximum((direction**2).sum(-1), 1e-6)
    t = np.clip(((points - start[:, None, :]) * direction).sum(-1) / length2, 0, 1)
    distance = np.linalg.norm(points - (start[:, None, :] + t[..., None] * direction), axis=-1)
    stroke = np.clip(width[:, None] / 2 + 0.5 - distance, 0, 1).reshape(n, h, w)
    return np.maximum(canvases, stroke)


def row_ink_columns(canvases: np.ndarray, threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Per canvas and row: the leftmost and rightmost inked column, (n, h) each; a row without ink
    has leftmost = w and rightmost = -1."""
    ink = canvases > threshold
    w = canvases.shape[2]
    leftmost = np.where(ink.any(axis=2), ink.argmax(axis=2), w)
    rightmost = np.where(ink.any(axis=2), w - 1 - ink[:, :, ::-1].argmax(axis=2), -1)
    return leftmost, rightmost


def resample(canvases: np.ndarray, source_rows: np.ndarray, source_cols: np.ndarray) -> np.ndarray:
    """Each output pixel takes the input's value at (source_rows, source_cols): all (n, h, w); bilinear,
    zero outside."""
    out = np.empty_like(canvases)
    for image, rows, cols, result in zip(canvases, source_rows, source_cols, out):
        ndimage.map_coordinates(image, (rows, cols), output=result, order=1, mode="constant", cval=0.0)
    return out


# ---------------------------------------------------------------------------------------------------
# Styles: each takes digits (n, 28, 28) and a generator and returns restyled digits (n, 28, 28)
# ---------------------------------------------------------------------------------------------------

def slanted(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slant each digit by up to ``MAX_SLANT_DEGREES`` either way (a horizontal shear about its centre)."""
    n = len(digits)
    lean = np.tan(np.deg2rad(rng.uniform(-MAX_SLANT_DEGREES, MAX_SLANT_DEGREES, n)))
    rows, cols = np.indices((SIDE, SIDE), dtype=np.float32)
    centre = (SIDE - 1) / 2
    source_cols = cols[None] + lean[:, None, None] * (rows[None] - centre)
    return resample(digits, np.broadcast_to(rows, digits.shape), source_cols)


def restroked(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thicker (a 3x3 grey dilation, in part) or thinner (a 3x3 grey erosion) strokes."""
    amount = rng.uniform(0.5, 1.0, len(digits)) * rng.choice([-1.0, 1.0], len(digits))
    thick = ndimage.grey_dilation(digits, size=(1, 3, 3))
    thin = ndimage.grey_erosion(digits, size=(1, 2, 2))
    target = np.where((amount > 0)[:, None, None], thick, thin)
    return digits + np.abs(amount)[:, None, None].astype(np.float32) * (target - digits)


def small_top_loop(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Squeeze the top part of each digit sideways (an 8 whose top loop is small), blending back to
    full width below the middle."""
    n = len(digits)
    top, bottom, _, _ = ink_extent(digits)
    middle = (top + bottom) / 2
    factor = rng.uniform(0.45, 0.75, n)
    rows, cols = np.indices((SIDE, SIDE), dtype=np.float32)
    # 1 at the top of the ink, 0 from the middle down: how much of the squeeze a row gets.
    share = np.clip((middle[:, None, None] - rows[None]) / np.maximum(middle - top, 1)[:, None, None], 0, 1)
    scale = 1 - share * (1 - factor[:, None, None])
    centre_cols = (digits * cols).sum(axis=(1, 2)) / np.maximum(digits.sum(axis=(1, 2)), 1e-6)
    source_cols = centre_cols[:, None, None] + (cols[None] - centre_cols[:, None, None]) / scale
    return resample(digits, np.broadcast_to(rows, digits.shape), source_cols)


def open_top_loop(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Erase a small gap in the upper part of each digit's outline (an open loop)."""
    n = len(digits)
    top, bottom, _, _ = ink_extent(digits)
    rows, cols = np.indices((SIDE, SIDE))
    upper = rows[None] < (top + (bottom - top) * 0.35)[:, None, None]
    # A random inked pixel of the upper third: the inked one with the highest random score.
    score = np.where((digits > 0.5) & upper, rng.random(digits.shape), -1.0).reshape(n, -1)
    centre = np.stack(np.unravel_index(score.argmax(axis=1), (SIDE, SIDE)), -1)
    radius = rng.uniform(2.0, 3.2, n)
    distance = np.hypot(rows[None] - centre[:, 0, None, None], cols[None] - centre[:, 1, None, None])
    keep = np.clip(distance - radius[:, None, None], 0, 1)
    return digits * keep.astype(np.float32)


def crossed(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A short horizontal bar across the middle of each digit's stem (a crossed 7)."""
    n = len(digits)
    top, bottom, _, _ = ink_extent(digits)
    row = np.round(top + (bottom - top) * rng.uniform(0.45, 0.6, n)).astype(int)
    leftmost, rightmost = row_ink_columns(digits)
    stem = (leftmost[np.arange(n), row] + rightmost[np.arange(n), row]) / 2
    half = rng.uniform(2.5, 4.5, n)
    start = np.stack([row + rng.uniform(-0.5, 0.5, n), stem - half], -1)
    end = np.stack([row + rng.uniform(-0.5, 0.5, n), stem + half], -1)
    return draw_segments(digits, start, end, rng.uniform(1.5, 2.5, n))


def flag_and_base(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A flag from the top of each digit down to the left, and (for about half) a base (a serif 1)."""
    n = len(digits)
    top, bottom, _, _ = ink_extent(digits)
    leftmost, rightmost = row_ink_columns(digits)
    top_col = (leftmost[np.arange(n), top] + rightmost[np.arange(n), top]) / 2
    length, angle = rng.uniform(5, 8, n), np.deg2rad(rng.uniform(20, 50, n))
    start = np.stack([top, top_col], -1).astype(np.float32)
    end = start + np.stack([np.sin(angle), -np.cos(angle)], -1) * length[:, None]
    out = draw_segments(digits, start, end, rng.uniform(1.5, 2.5, n))
    base = rng.random(n) < 0.5
    bottom_col = (leftmost[np.arange(n), bottom] + rightmost[np.arange(n), bottom]) / 2
    half = rng.uniform(3, 5, n)
    based = draw_segments(out, np.stack([bottom, bottom_col - half], -1), np.stack([bottom, bottom_col + half], -1),
                          rng.uniform(1.5, 2.5, n))
    return np.where(base[:, None, None], based, out)


def closed_top(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Join the tops of the two highest strokes (a 4 with a closed top, as many people write it)."""
    n = len(digits)
    top, bottom, left, right = ink_extent(digits)
    # The left arm's top: the highest inked pixel of the left half; the stem's: of the right half.
    rows = np.arange(SIDE)
    leftmost, rightmost = row_ink_columns(digits)
    middle = (left + right) / 2
    left_rows = np.where(leftmost < middle[:, None], rows[None], SIDE)
    right_rows = np.where(rightmost > middle[:, None], rows[None], SIDE)
    left_top, right_top = left_rows.min(axis=1), right_rows.min(axis=1)
    ok = (left_top < SIDE) & (right_top < SIDE)
    left_top, right_top = np.minimum(left_top, SIDE - 1), np.minimum(right_top, SIDE - 1)
    start = np.stack([left_top, leftmost[np.arange(n), left_top]], -1).astype(np.float32)
    end = np.stack([right_top, rightmost[np.arange(n), right_top]], -1).astype(np.float32)
    drawn = draw_segments(digits, start, end, rng.uniform(1.5, 2.5, n))
    return np.where(ok[:, None, None], drawn, digits)


def straight_stem(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace the lower half of each digit by a straight vertical stem hanging from the right of
    its loop (a 9 written with a straight stem)."""
    n = len(digits)
    top, bottom, _, _ = ink_extent(digits)
    cut = np.round(top + (bottom - top) * rng.uniform(0.5, 0.6, n)).astype(int)
    rows = np.arange(SIDE)
    kept = digits * (rows[None, :, None] < cut[:, None, None])
    _, rightmost = row_ink_columns(kept)
    column = rightmost.max(axis=1) - rng.uniform(0.5, 1.5, n)
    start = np.stack([top + (cut - top) * 0.5, column], -1).astype(np.float32)
    end = np.stack([bottom, column + rng.uniform(-1.5, 0.5, n)], -1).astype(np.float32)
    return draw_segments(kept, start, end, rng.uniform(1.8, 2.6, n))


# Which styles each digit may get (every digit may be slanted, restroked or broken).
STYLES_FOR_DIGIT = {
    0: (open_top_loop,), 1: (flag_and_base,), 4: (closed_top,), 7: (crossed,),
    8: (small_top_loop, open_top_loop), 9: (straight_stem, open_top_loop),
}
ANY_DIGIT_STYLES = (slanted, restroked, broken)
OWN_STYLE_SHARE = 0.5  # of the restyled digits that have styles of their own, this share gets one of those


def restyled(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each digit in one style drawn from those that fit it (``STYLES_FOR_DIGIT``, else slant or
    stroke): digits (n, 28, 28) float32, labels (n,) -> (n, 28, 28). ``OWN_STYLE_SHARE`` of the
    digits that have their own styles get one of those; the rest are slanted or restroked."""
    out = digits.copy()
    choice = rng.random(len(digits))
    for style_index, style in enumerate(ANY_DIGIT_STYLES):
        picked = np.nonzero(np.floor(choice * len(ANY_DIGIT_STYLES)) == style_index)[0]
        if picked.size:
            out[picked] = style(digits[picked], rng)
    own_style = rng.random(len(digits)) < OWN_STYLE_SHARE
    for digit, styles in STYLES_FOR_DIGIT.items():
        which = rng.integers(0, len(styles), len(digits))
        for style_index, style in enumerate(styles):
            picked = np.nonzero((labels == digit) & own_style & (which == style_index))[0]
            if picked.size:
                out[picked] = style(digits[picked], rng)
    return np.clip(out, 0, 1)


# ---------------------------------------------------------------------------------------------------
# Negatives: each returns a list of canvases (h, w) float32 that are not one digit
# ---------------------------------------------------------------------------------------------------

def heights(digits: np.ndarray) -> np.ndarray:
    """The height of each digit's ink in pixels: (n, h, w) -> (n,) int."""
    top, bottom, _, _ = ink_extent(digits)
    return bottom - top + 1


def same_height_partners(digits: np.ndarray, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n pairs (left index, right index) of digits whose heights differ by at most ``SAME_HEIGHT`` px."""
    height = heights(digits)
    order = np.argsort(height + rng.random(len(digits)) * 0.1, kind="stable")
    left = rng.integers(0, len(digits), n)
    position = np.searchsorted(height[order], height[left])
    nearby = np.clip(position + rng.integers(-40, 40, n), 0, len(digits) - 1)
    right = order[nearby]
    close = np.abs(height[right] - height[left]) <= SAME_HEIGHT
    return left[close], right[close]


def slid_together(left: np.ndarray, right: np.ndarray, overlap: np.ndarray, dy: np.ndarray) -> list[np.ndarray]:
    """Each right digit slid towards its left one until their strokes join, then ``overlap`` pixels
    further: left, right (n, 28, 28); overlap (n,) int >= 0; dy (n,) int rows the right one is
    moved down. -> n canvases (28, w)."""
    if len(left) == 0:
        return []
    right = np.stack([np.roll(r, d, axis=0) if d else r for r, d in zip(right, dy)])
    _, left_right_edge = row_ink_columns(left)
    right_left_edge, _ = row_ink_columns(right)
    both = (left_right_edge >= 0) & (right_left_edge < SIDE)
    # Where the right digit starts (its column 0) so that some row of it just touches the left digit.
    gap = np.where(both, left_right_edge - right_left_edge, -SIDE).max(axis=1) + 1 - overlap
    no_shared_row = ~both.any(axis=1)
    _, _, _, left_right = ink_extent(left)
    _, _, right_left, _ = ink_extent(right)
    gap = np.where(no_shared_row, left_right - right_left + 1 - overlap, gap)
    canvases = []
    for a, b, shift in zip(left, right, gap):
        shift = int(np.clip(shift, -SIDE + 1, SIDE))
        width = SIDE + max(shift, 0) + SIDE
        canvas = np.zeros((SIDE, width), np.float32)
        canvas[:, SIDE : 2 * SIDE] = a
        canvas[:, SIDE + shift : 2 * SIDE + shift] = np.maximum(canvas[:, SIDE + shift : 2 * SIDE + shift], b)
        canvases.append(tight_crop(canvas))
    return canvases


def touching_pairs(digits: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Two same-height digits slid together until their strokes join (0-3 px of overlap, up to 2
    rows of vertical offset, as on a slightly tilted line)."""
    left, right = same_height_partners(digits, rng, n)
    return slid_together(digits[left], digits[right], rng.integers(0, 4, len(left)), rng.integers(-2, 3, len(left)))


def with_neighbour_piece(digits: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """A digit touching the near 25-45% of its neighbour (the piece a bad cut leaves on it)."""
    left, right = same_height_partners(digits, rng, n)
    pieces = digits[right].copy()
    _, _, start, end = ink_extent(pieces)
    cut = np.round(start + (end - start + 1) * rng.uniform(0.25, 0.45, len(right))).astype(int)
    pieces *= np.arange(SIDE)[None, None, :] < cut[:, None, None]
    pairs = slid_together(digits[left], pieces, rng.integers(0, 3, len(left)), np.zeros(len(left), int))
    flip = rng.random(len(pairs)) < 0.5  # the piece on the left as often as on the right
    return [pair[:, ::-1] if f else pair for pair, f in zip(pairs, flip)]


def halves(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """The left, right, top or bottom 40-60% of a digit (never of a 1, whose halves are 1s)."""
    candidates = np.nonzero(labels != 1)[0]
    chosen = digits[rng.choice(candidates, n)].copy()
    top, bottom, left, right = ink_extent(chosen)
    fraction = rng.uniform(0.4, 0.6, n)
    side = rng.integers(0, 4, n)
    rows, cols = np.arange(SIDE)[None, :, None], np.arange(SIDE)[None, None, :]
    cut_col = (left + (right - left) * fraction)[:, None, None]
    cut_row = (top + (bottom - top) * fraction)[:, None, None]
    keep = np.select([side[:, None, None] == 0, side[:, None, None] == 1, side[:, None, None] == 2],
                     [cols < cut_col, cols >= cut_col, rows < cut_row], rows >= cut_row)
    return [tight_crop(c) for c in chosen * keep]


def fragments(digits: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Square windows of 8-13 px around a stroke junction (half) or any inked pixel of a digit."""
    chosen = digits[rng.integers(0, len(digits), n)]
    # Junctions hold more ink nearby: the window centre is where a 5x5 ink sum (plus noise) peaks.
    density = ndimage.uniform_filter(chosen, size=(1, 5, 5))
    junction = rng.random(n) < 0.5
    score = np.where(chosen > 0.5, np.where(junction[:, None, None], density, 0) + rng.random(chosen.shape), -1)
    centre = np.stack(np.unravel_index(score.reshape(n, -1).argmax(axis=1), (SIDE, SIDE)), -1)
    half = rng.integers(4, 7, n)
    out = []
    for canvas, (row, col), h in zip(chosen, centre, half):
        out.append(tight_crop(canvas[max(0, row - h) : row + h + 1, max(0, col - h) : col + h + 1]))
    return out


# ---------------------------------------------------------------------------------------------------
# Normalising and putting it together
# ---------------------------------------------------------------------------------------------------

def digit_like(digit_model, inputs: np.ndarray) -> np.ndarray:
    """Which network inputs (n, 784) a 10-digit ``Model`` reads as a digit with at least ``DIGIT_LIKE``
    confidence: (n,) bool. Such pieces are no negatives: a person would read them as that digit too."""
    return digit_model.predict_proba(inputs)[:, :10].max(axis=1) >= DIGIT_LIKE


def reader_split(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, mix: ReaderDataMix = ReaderDataMix(),
                 deslant: bool = True, digit_model=None, workers: int = 1) -> Split:
    """The reader's training (or validation) data from MNIST-style digits: every digit as it is, a
    share restyled, and negatives, all normalised like the reader's crops.

    images: (n, 28, 28) uint8 MNIST training digits; labels: (n,) ints 0-9. digit_model: a 10-digit
    ``Model``; half digits and fragments it reads as a digit with at least ``DIGIT_LIKE`` confidence
    (a bottom half of an 8 is an "0", a fragment of a stem a "1") are left out, since a person would
    read them as that digit too. Returns a Split of (m, 784) float32 images and (m,) int64 labels
    0-10 (10 = not a digit), shuffled.
    """
    digits = images.astype(np.float32) / 255
    labels = labels.astype(np.int64)
    n = len(digits)
    styled_index = rng.choice(n, int(mix.styled * n), replace=False)
    styled = restyled(digits[styled_index], labels[styled_index], rng)
    joined = (touching_pairs(digits, rng, int(mix.touching_pairs * n))
              + with_neighbour_piece(digits, rng, int(mix.with_neighbour_piece * n)))
    pieces = halves(digits, labels, rng, int(mix.halves * n)) + fragments(digits, rng, int(mix.fragments * n))
    crops = [*digits, *styled, *joined, *pieces]
    inputs = normalised(crops, deslant, workers)
    piece_inputs = inputs[len(crops) - len(pieces):]
    keep = np.ones(len(crops), bool)
    if digit_model is not None and len(pieces):
        keep[len(crops) - len(pieces):] = ~digit_like(digit_model, piece_inputs)
    all_labels = np.concatenate([labels, labels[styled_index], np.full(len(joined) + len(pieces), NOT_A_DIGIT)])
    inputs, all_labels = inputs[keep], all_labels[keep]
    order = rng.permutation(len(all_labels))
    return Split(inputs[order], all_labels[order])
