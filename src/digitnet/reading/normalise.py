"""Make one digit look like an MNIST digit: strokes of MNIST width, fitted into a 20x20 box with
anti-aliasing, placed in a 28x28 field so that its centre of mass is the centre, ink 1.0 on 0.0."""

import numpy as np
from PIL import Image, ImageFilter

PATCH_SIDE = 80            # digits are brought to this long side before their strokes are adjusted
BOX_SIDE = 20              # MNIST fits each digit into a 20x20 box...
FIELD_SIDE = 28            # ...inside a 28x28 field
MNIST_STROKE = 2.2         # mean MNIST stroke width in pixels of the 20x20 box (stroke_width on test digits)
MAX_STROKE_CHANGE = 0.5    # thicken or thin a stroke only when it is off by more than this fraction


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: ink (h, w) in [0, 1] -> float (0.0 without ink).

    The ink mass divided by the stroke length, where the length is half the outline of the ink mask
    after growing it by one pixel (growing first keeps the outline of a one-pixel line two-sided).
    The mask is padded so that ink touching the crop's edge still has an outline there: a crop
    that is all ink (a straight "1") would otherwise have almost no outline and a huge width.
    """
    mask = _zero_padded(ink > 0.5, 1)
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
    return ~dilate(~mask, radius)


def adjust_strokes(ink: np.ndarray, target_width: float) -> np.ndarray:
    """Thicken thin strokes (grey dilation) or thin fat ones (grey erosion) towards ``target_width`` px."""
    width = stroke_width(ink)
    if width == 0.0 or abs(width - target_width) <= MAX_STROKE_CHANGE * target_width:
        return ink
    size = 2 * max(1, int(round(abs(target_width - width) / 2))) + 1
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


def mnist_style(ink: np.ndarray) -> np.ndarray:
    """One digit's ink, tightly cropped: (h, w) float32 in [0, 1] -> (28, 28) float32 in [0, 1]."""
    patch = to_patch(ink)
    patch = adjust_strokes(patch, MNIST_STROKE * PATCH_SIDE / BOX_SIDE)
    h, w = patch.shape
    scale = BOX_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.clip(np.asarray(Image.fromarray(patch, "F").resize(size, Image.LANCZOS), dtype=np.float32), 0, 1)
    field = np.zeros((FIELD_SIDE, FIELD_SIDE), dtype=np.float32)
    mass = small.sum()
    if mass <= 0:
        return field
    ys, xs = np.indices(small.shape)
    centre_y, centre_x = (ys * small).sum() / mass, (xs * small).sum() / mass
    top = int(np.clip(round(FIELD_SIDE / 2 - centre_y), 0, FIELD_SIDE - small.shape[0]))
    left = int(np.clip(round(FIELD_SIDE / 2 - centre_x), 0, FIELD_SIDE - small.shape[1]))
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    return field / field.max()
