"""Make one digit look like an MNIST digit: optionally deslanted, strokes of MNIST width, fitted into a
20x20 box with anti-aliasing, placed in a 28x28 field so that its centre of mass is the centre, ink
1.0 on 0.0. The reader's training data (``reading.reader_data``) goes through the same function."""

import os

import numpy as np
from PIL import Image, ImageFilter

PATCH_SIDE = 80            # digits are brought to this long side before their strokes are adjusted
BOX_SIDE = 20              # MNIST fits each digit into a 20x20 box...
FIELD_SIDE = 28            # ...inside a 28x28 field
MNIST_STROKE = 2.2         # mean MNIST stroke width in pixels of the 20x20 box (stroke_width on test digits)
MAX_STROKE_CHANGE = 0.5    # thicken or thin a stroke only when it is off by more than this fraction
PATCH_STROKE = MNIST_STROKE * PATCH_SIDE / BOX_SIDE  # the MNIST stroke width at the patch's scale (8.8 px)
# A stroke filter never moves an edge by more than one MNIST stroke: a solid blob (whose "stroke" is
# as wide as the blob) is thinned by that much and no more, so the filter's cost is bounded too.
MAX_FILTER_SIDE = 2 * round(PATCH_STROKE) + 1
MAX_SLANT = 1.0            # deslanting undoes at most 45 degrees of slant (dx per dy)
MIN_SLANT = 0.01           # ...and leaves a crop alone below this (under a pixel across the patch)


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: ink (h, w) in [0, 1] -> float (0.0 without ink).

    The ink mass divided by the stroke length, where the length is half the outline of the ink mask
    after growing it by one pixel (growing first keeps the outline of a one-pixel line two-sided).
    The mask is padded by two pixels, so that after growing it still has paper all round and ink
    touching the crop's edge keeps an outline there: a crop that is all ink (a straight "1", a
    solid blob) would otherwise have no outline and a width of its whole ink mass.
    """
    mask = _zero_padded(ink > 0.5, 2)
    if not mask.any():
        return 0.0
    grown = dilate(mask, 1)
    inner = erode(grown, 1)
    length = np.count_nonzero(grown & ~inner) / 2.0
    return float(ink.sum() / max(length, 1.0))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a bool mask by ``radius`` pixels in every direction (a square neighbourhood).

    A square is a row times a column, so the mask grows along rows, then along columns.
    """
    padded = _zero_padded(mask, radius)
    h, w = mask.shape
    rows = np.zeros((h + 2 * radius, w), dtype=bool)
    for dx in range(2 * radius + 1):
        rows |= padded[:, dx : dx + w]
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        out |= rows[dy : dy + h]
    return out


def _zero_padded(mask: np.ndarray, radius: int) -> np.ndarray:
    """A bool mask inside a border of ``radius`` False pixels (what np.pad does, at a tenth of its cost)."""
    h, w = mask.shape
    padded = np.zeros((h + 2 * radius, w + 2 * radius), dtype=bool)
    padded[radius : radius + h, radius : radius + w] = mask
    return padded


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Shrink a bool mask by ``radius`` pixels (what lies beyond its edge counts as True)."""
    return ~dilate(~mask, radius)


def adjust_strokes(ink: np.ndarray, target_width: float) -> np.ndarray:
    """Thicken thin strokes (grey dilation) or thin fat ones (grey erosion) towards ``target_width`` px.

    The square filter is at most ``MAX_FILTER_SIDE`` wide, whatever the measured width.
    """
    width = stroke_width(ink)
    if width == 0.0 or abs(width - target_width) <= MAX_STROKE_CHANGE * target_width:
        return ink
    size = min(MAX_FILTER_SIDE, 2 * max(1, int(round(abs(target_width - width) / 2))) + 1)
    image = Image.fromarray(ink, "F")
    if width < target_width:
        return np.asarray(image.filter(ImageFilter.MaxFilter(size)), dtype=np.float32)
    thinned = np.asarray(image.filter(ImageFilter.MinFilter(size)), dtype=np.float32)
    return thinned if thinned.sum() >= 0.35 * ink.sum() else ink


def to_patch(ink: np.ndarray) -> np.ndarray:
    """Resize a tight digit crop so its long side is ``PATCH_SIDE``: (h, w) -> (h', w') float32."""
    h, w = ink.shape
    scale = PATCH_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(ink, "F").resize(size, Image.BILINEAR), dtype=np.float32)


def slant(ink: np.ndarray) -> float:
    """How far the ink leans: ink (h, w) >= 0 -> dx/dy, the horizontal shift per pixel downwards
    of its principal axis, from second-order moments (mu11 / mu02; > 0 leans left at the top, like
    a backslash). 0.0 without ink."""
    mass = float(ink.sum())
    if mass <= 0:
        return 0.0
    centre_y, centre_x = centre_of_mass(ink)
    dy, dx = np.arange(ink.shape[0]) - centre_y, np.arange(ink.shape[1]) - centre_x
    spread = float(ink.sum(axis=1) @ (dy * dy))
    return float(dy @ ink @ dx) / spread if spread > 0 else 0.0


def centre_of_mass(ink: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixels: ink (h, w) >= 0 with some ink."""
    mass = ink.sum()
    return (float(ink.sum(axis=1) @ np.arange(ink.shape[0]) / mass),
            float(ink.sum(axis=0) @ np.arange(ink.shape[1]) / mass))


def deslanted(ink: np.ndarray) -> np.ndarray:
    """Shear a digit upright (LeCun's deskewing): ink (h, w) float32 -> (h, w') float32, tightly cropped.

    Each row moves sideways by ``-slant * (row - centre row)``, so the principal axis ends up
    vertical; rows keep their height. Slants beyond ``MAX_SLANT`` are undone only that far, and
    crops leaning less than ``MIN_SLANT`` are returned as they are.
    """
    lean = float(np.clip(slant(ink), -MAX_SLANT, MAX_SLANT))
    if abs(lean) < MIN_SLANT:
        return ink
    h, w = ink.shape
    centre_y = centre_of_mass(ink)[0]
    spread = abs(lean) * h
    width = w + int(np.ceil(spread)) + 2
    # Pillow's affine map takes each output pixel (x, y) to the input pixel (x + lean * y + offset, y).
    offset = lean * -centre_y - (width - w) / 2
    sheared = Image.fromarray(ink, "F").transform((width, h), Image.AFFINE, (1, lean, offset, 0, 1, 0),
                                                  Image.BILINEAR)
    return tight_crop(np.asarray(sheared, dtype=np.float32))


def tight_crop(ink: np.ndarray) -> np.ndarray:
    """The smallest box holding all the ink (> 0): (h, w) -> (h', w'); unchanged without ink."""
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    if rows.size == 0:
        return ink
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def mnist_style(ink: np.ndarray, deslant: bool = False) -> np.ndarray:
    """One digit's ink, tightly cropped: (h, w) float32 in [0, 1] -> (28, 28) float32 in [0, 1].

    deslant: shear the digit upright first (``deslanted``); models trained on deslanted digits say
    so (``Model.deslants_input``), and their input must be prepared the same way.
    """
    patch = to_patch(ink)
    if deslant:
        patch = deslanted(patch)
    patch = adjust_strokes(patch, PATCH_STROKE)
    h, w = patch.shape
    scale = BOX_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.clip(np.asarray(Image.fromarray(patch, "F").resize(size, Image.LANCZOS), dtype=np.float32), 0, 1)
    field = np.zeros((FIELD_SIDE, FIELD_SIDE), dtype=np.float32)
    if small.sum() <= 0:
        return field
    centre_y, centre_x = centre_of_mass(small)
    top = int(np.clip(round(FIELD_SIDE / 2 - centre_y), 0, FIELD_SIDE - small.shape[0]))
    left = int(np.clip(round(FIELD_SIDE / 2 - centre_x), 0, FIELD_SIDE - small.shape[1]))
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    return field / field.max()


def shifted_views(field: np.ndarray) -> np.ndarray:
    """A network input and its four copies moved one pixel up, down, left and right (paper coming
    in at the edge): (28, 28) -> (5, 28, 28)."""
    views = np.zeros((5, *field.shape), dtype=field.dtype)
    views[0] = field
    views[1, :-1], views[2, 1:] = field[1:], field[:-1]
    views[3, :, :-1], views[4, :, 1:] = field[:, 1:], field[:, :-1]
    return views


NORMALISE_CHUNK = 2000  # crops per task when normalising in worker processes


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _normalised_chunk(crops: list[np.ndarray], deslant: bool) -> np.ndarray:
    """``normalised`` for one chunk, in one process (a crop without ink stays all zero)."""
    out = np.zeros((len(crops), FIELD_SIDE * FIELD_SIDE), np.float32)
    for i, crop in enumerate(crops):
        crop = tight_crop(crop)
        if crop.any():
            out[i] = mnist_style(crop, deslant=deslant).ravel()
    return out


def normalised(crops, deslant: bool, workers: int = 1) -> np.ndarray:
    """Each canvas tightly cropped and made MNIST-style exactly as the reader does: a sequence of n
    (h, w) float32 arrays in [0, 1] -> (n, 784) float32. ``workers`` > 1 shares the work among that
    many processes (the result is the same)."""
    crops = list(crops)
    chunks = [crops[i : i + NORMALISE_CHUNK] for i in range(0, len(crops), NORMALISE_CHUNK)]
    if workers <= 1 or len(chunks) <= 1:
        parts = [_normalised_chunk(chunk, deslant) for chunk in chunks]
    else:
        from concurrent.futures import ProcessPoolExecutor  # here only: reading never needs it (20 ms)

        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_normalised_chunk, chunks, [deslant] * len(chunks)))
    return np.concatenate(parts) if parts else np.zeros((0, FIELD_SIDE * FIELD_SIDE), np.float32)
