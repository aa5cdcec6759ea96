"""Random distortions of MNIST digits, applied to a whole batch at once.

Every transform has a strength; 0 turns it off, and all strengths 0 return the input unchanged.
The geometric ones (shift, rotation, scale, shear, elastic) are combined into one map from output
pixels to input coordinates, computed for the whole batch at once, and each image is resampled
once, bilinearly, with ``scipy.ndimage.map_coordinates``; stroke thickness then blends each image
towards its grey dilation (thicker, a marker) or erosion (thinner, a fine pen).

Randomness comes only from the ``numpy.random.Generator`` passed in, so a batch's distortions are
a pure function of how that generator was seeded.
"""

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import ndimage

SIDE = 28
CENTRE = (SIDE - 1) / 2


@dataclass(frozen=True)
class Augmentation:
    """Strengths of each distortion; every random parameter is drawn uniformly in [-s, s].

    shift: pixels of translation along each axis.
    rotation: degrees.
    scale: relative size change (0.1 -> a factor in [0.9, 1.1]).
    shear: degrees of horizontal shear.
    elastic: root-mean-square displacement, in pixels, of a smooth random warp.
    elastic_smoothness: standard deviation, in pixels, of the Gaussian that smooths that warp.
    thickness: fraction of the way towards a stroke one pixel thicker (s > 0) or thinner (s < 0).
    """

    shift: float = 0.0
    rotation: float = 0.0
    scale: float = 0.0
    shear: float = 0.0
    elastic: float = 0.0
    elastic_smoothness: float = 4.0
    thickness: float = 0.0

    def __post_init__(self):
        bad = [name for name, value in asdict(self).items() if not (np.isfinite(value) and value >= 0)]
        if self.scale >= 1:
            bad.append("scale (must be below 1)")
        if self.thickness > 1:
            bad.append("thickness (at most 1)")
        if self.elastic_smoothness <= 0:
            bad.append("elastic_smoothness (must be positive)")
        if bad:
            raise ValueError(f"augmentation strengths must be finite numbers >= 0; bad: {', '.join(bad)}")

    @property
    def enabled(self) -> bool:
        return any((self.shift, self.rotation, self.scale, self.shear, self.elastic, self.thickness))


def affine_matrices(rng: np.random.Generator, n: int, augmentation: Augmentation) -> tuple[np.ndarray, np.ndarray]:
    """Random forward transforms of n images: (matrices (n, 2, 2), shifts (n, 2)) in (row, col) pixels.

    A point p of the input (relative to the image centre) lands at ``matrix @ p + shift``.
    """
    a = augmentation
    angle = np.deg2rad(rng.uniform(-a.rotation, a.rotation, n))
    shear = np.tan(np.deg2rad(rng.uniform(-a.shear, a.shear, n)))
    zoom = 1 + rng.uniform(-a.scale, a.scale, n)
    shifts = rng.uniform(-a.shift, a.shift, (n, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    rotate = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shear_rows = np.zeros((n, 2, 2))
    shear_rows[:, 0, 0] = shear_rows[:, 1, 1] = 1
    shear_rows[:, 1, 0] = shear  # column offset grows with the row: a slant
    return rotate @ shear_rows * zoom[:, None, None], shifts


def elastic_displacements(rng: np.random.Generator, n: int, rms: float, smoothness: float) -> np.ndarray:
    """Smooth random displacement fields (2, n, 28, 28) in pixels, each with RMS ``rms`` (Simard et al. 2003)."""
    noise = rng.uniform(-1, 1, (2, n, SIDE, SIDE)).astype(np.float32)
    # A Gaussian blur with zero padding is the matrix product blur @ noise @ blur.T.
    offsets = np.arange(SIDE)[:, None] - np.arange(SIDE)[None, :]
    blur = np.exp(-(offsets**2) / (2 * smoothness**2)).astype(np.float32)
    field = blur @ noise @ blur.T
    spread = np.sqrt((field**2).mean(axis=(0, 2, 3), keepdims=True))
    return field * (rms / np.maximum(spread, 1e-12))


def change_thickness(images: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """images (n, 28, 28) in [0, 1]; amounts (n,) in [-1, 1]: > 0 thickens, < 0 thins, 0 keeps.

    Thicker is the grey dilation by a plus-shaped pixel neighbourhood (each pixel becomes the
    largest of itself and its four neighbours, zero outside), thinner the grey erosion (smallest).
    """
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    neighbours = (padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:])
    thicker, thinner = images.copy(), images.copy()
    for shifted in neighbours:
        np.maximum(thicker, shifted, out=thicker)
        np.minimum(thinner, shifted, out=thinner)
    target = np.where((amounts > 0)[:, None, None], thicker, thinner)
    return images + np.abs(amounts)[:, None, None] * (target - images)


def warp(stack: np.ndarray, matrices: np.ndarray, shifts: np.ndarray,
         displacements: np.ndarray | None = None) -> np.ndarray:
    """Resample images (n, 28, 28) under forward affine maps (see ``affine_matrices``) plus optional
    displacements (2, n, 28, 28) of the sampling positions, in pixels. Bilinear, zero outside."""
    n = len(stack)
    # Each output pixel q samples the input at inverse(matrix) @ (q - centre - shift) + centre.
    grid = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")).reshape(2, -1) - CENTRE
    source = np.linalg.inv(matrices) @ (grid[None] - shifts[:, :, None]) + CENTRE  # (n, 2, 784)
    source = source.transpose(1, 0, 2).reshape(2, n, SIDE, SIDE)
    if displacements is not None:
        source += displacements
    # One 2-D call per image: a single 3-D call on the stack would also interpolate along the
    # image axis (with weights 0 and 1, the same result) at twice the cost.
    out = np.empty_like(stack)
    for image, where, result in zip(stack, source.transpose(1, 0, 2, 3), out):
        ndimage.map_coordinates(image, where, output=result, order=1, mode="grid-constant", cval=0.0)
    return out


def augment(images: np.ndarray, rng: np.random.Generator, augmentation: Augmentation) -> np.ndarray:
    """A randomly distorted copy of a batch: images (n, 784) float in [0, 1] -> (n, 784), same dtype."""
    n = len(images)
    if not augmentation.enabled or n == 0:
        return images.copy()
    stack = images.reshape(n, SIDE, SIDE)
    a = augmentation
    if a.shift or a.rotation or a.scale or a.shear or a.elastic:
        matrices, shifts = affine_matrices(rng, n, a)
        displacements = elastic_displacements(rng, n, a.elastic, a.elastic_smoothness) if a.elastic else None
        stack = warp(stack, matrices, shifts, displacements)
    if a.thickness:
        stack = change_thickness(stack, rng.uniform(-a.thickness, a.thickness, n))
    return np.clip(stack, 0, 1, out=stack).reshape(n, -1).astype(images.dtype, copy=False)


def one_at_a_time(augmentation: Augmentation) -> dict[str, Augmentation]:
    """Each distortion of ``augmentation`` alone, at its strength, by name (those that are on)."""
    off = Augmentation(elastic_smoothness=augmentation.elastic_smoothness)
    names = ("shift", "rotation", "scale", "shear", "elastic", "thickness")
    return {name: replace(off, **{name: getattr(augmentation, name)}) for name in names if getattr(augmentation, name)}


def example_grid(images: np.ndarray, augmentation: Augmentation, rng: np.random.Generator,
                 mixed: int = 4) -> dict[str, np.ndarray]:
    """Columns of a figure: the digits, each distortion alone, then ``mixed`` draws of all together.

    images: (n, 784) in [0, 1] -> {column title: (n, 784)}.
    """
    columns = {"original": images}
    columns.update({name: augment(images, rng, alone) for name, alone in one_at_a_time(augmentation).items()})
    columns.update({f"all {i + 1}": augment(images, rng, augmentation) for i in range(mixed)})
    return columns
