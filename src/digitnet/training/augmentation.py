"""Random distortions of MNIST digits: geometric warps as sparse resampling matrices, and stroke thickness.

The geometric distortions (shift, rotation, scale, shear, elastic) of one image combine into one map
from output pixels to input coordinates; bilinear resampling under that map is a linear function of
the image, so it is a sparse (784, 784) matrix with at most four weights per row (``warp_matrices``,
held to ``scipy.ndimage.map_coordinates`` by the tests). Stroke thickness then blends each image
towards its grey dilation (thicker, a marker) or erosion (thinner, a fine pen), and pen skips cut
thin bands of paper across a share of the images, after the warp.

Training distorts a whole epoch at once (``EpochDistortions``): a bank of ``WARP_BANK_SIZE`` random
warps is drawn, each image gets one of them at random, and the images that share a warp are
resampled by one sparse product. That costs about as much as the epoch's training steps, where
warping every image on its own cost eight times as much.

Randomness comes only from seeded ``numpy.random.Generator``s, so the distortions are a pure function
of the seed (and the epoch).
"""

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import sparse

from digitnet.data import Split
from digitnet.training.fields import check_field_types

SIDE = 28
CENTRE = (SIDE - 1) / 2
# Warps drawn for each epoch; the images that share one are resampled together (see EpochDistortions).
WARP_BANK_SIZE = 256
WARP_BANK_EPOCHS = 4  # epochs a bank serves before the next is drawn
INK = 0.3  # a pixel above this level is ink (where pen skips may cross)


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
    pen_skips: share of the images (not a range) that get one or two bands of paper across their
    strokes (``pen_skips``), a pen that skips.
    """

    shift: float = 0.0
    rotation: float = 0.0
    scale: float = 0.0
    shear: float = 0.0
    elastic: float = 0.0
    elastic_smoothness: float = 4.0
    thickness: float = 0.0
    pen_skips: float = 0.0

    def __post_init__(self):
        check_field_types(self, "augmentation.")
        bad = [name for name, value in asdict(self).items() if not (np.isfinite(value) and value >= 0)]
        if self.scale >= 1:
            bad.append("scale (must be below 1)")
        if self.thickness > 1:
            bad.append("thickness (at most 1)")
        if self.pen_skips > 1:
            bad.append("pen_skips (a share, at most 1)")
        if self.elastic_smoothness <= 0:
            bad.append("elastic_smoothness (must be positive)")
        if bad:
            raise ValueError(f"augmentation strengths must be finite numbers >= 0; bad: {', '.join(bad)}")

    @property
    def geometric(self) -> bool:
        """Whether any distortion moves pixels (all but thickness and pen skips)."""
        return any((self.shift, self.rotation, self.scale, self.shear, self.elastic))

    @property
    def enabled(self) -> bool:
        return self.geometric or bool(self.thickness) or bool(self.pen_skips)


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


def plus_extreme(images: np.ndarray, extreme) -> np.ndarray:
    """Each pixel replaced by the ``extreme`` (np.maximum or np.minimum) of itself and its four
    neighbours, zero outside: images (n, 28, 28) -> (n, 28, 28). Grey dilation or erosion by a plus."""
    out = images.copy()
    # Left and right neighbours as shifts of each image's 784 pixels in a row (long runs, fast), which
    # wrongly pair the first and last columns with the next or previous row: those two are redone below.
    flat_out, flat = out.reshape(len(out), SIDE * SIDE), images.reshape(len(images), SIDE * SIDE)
    extreme(flat_out[:, 1:], flat[:, :-1], out=flat_out[:, 1:])
    extreme(flat_out[:, :-1], flat[:, 1:], out=flat_out[:, :-1])
    for edge, inside in ((0, 1), (-1, -2)):
        extreme(images[:, :, edge], images[:, :, inside], out=out[:, :, edge])
        extreme(out[:, :, edge], 0, out=out[:, :, edge])  # the zero neighbour outside
    extreme(out[:, 1:], images[:, :-1], out=out[:, 1:])  # the neighbours above and below
    extreme(out[:, :-1], images[:, 1:], out=out[:, :-1])
    for edge in (out[:, 0], out[:, -1]):
        extreme(edge, 0, out=edge)
    return out


def change_thickness(images: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """images (n, 28, 28) in [0, 1]; amounts (n,) in [-1, 1]: > 0 thickens, < 0 thins, 0 keeps.

    Thicker is the grey dilation by a plus-shaped pixel neighbourhood (each pixel becomes the
    largest of itself and its four neighbours, zero outside), thinner the grey erosion (smallest);
    each image moves ``|amount|`` of the way towards the one its sign chooses.
    """
    out = images.copy()
    for sign, extreme in ((1, np.maximum), (-1, np.minimum)):
        chosen = np.flatnonzero(np.sign(amounts) == sign)
        subset = out[chosen]
        move_towards(subset, plus_extreme(subset, extreme), np.abs(amounts[chosen]))
        out[chosen] = subset
    return out


def move_towards(images: np.ndarray, targets: np.ndarray, fractions: np.ndarray) -> None:
    """images += fractions * (targets - images), in place, one fraction per image (targets is overwritten)."""
    targets -= images
    targets *= fractions.reshape(-1, *[1] * (images.ndim - 1))
    images += targets


def sampling_points(matrices: np.ndarray, shifts: np.ndarray, displacements: np.ndarray | None = None) -> np.ndarray:
    """Where each output pixel samples its input: (n, 2, 784) (row, col) input coordinates, in pixels.

    matrices (n, 2, 2), shifts (n, 2): forward affine maps (see ``affine_matrices``); displacements
    (2, n, 28, 28): optional extra offsets of the sampling positions (see ``elastic_displacements``).
    """
    # Each output pixel q samples the input at inverse(matrix) @ (q - centre - shift) + centre.
    grid = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")).reshape(2, -1) - CENTRE
    points = np.linalg.inv(matrices) @ (grid[None] - shifts[:, :, None]) + CENTRE
    if displacements is not None:
        points += displacements.reshape(2, len(matrices), -1).transpose(1, 0, 2)
    return points


def warp_matrices(points: np.ndarray, dtype=np.float32) -> list[sparse.csr_matrix]:
    """Bilinear resampling at ``points`` (n, 2, 784) as n sparse (784 out, 784 in) matrices, zero outside.

    Row p of a matrix holds the weights of the four input pixels around output pixel p's sampling
    point: ``matrix @ image.ravel()`` is ``map_coordinates(image, points, order=1, mode="grid-constant")``.
    """
    n, pixels = len(points), points.shape[-1]
    floor = np.floor(points)
    fraction = points - floor
    indices = np.empty((n, pixels, 4), np.int32)
    weights = np.empty((n, pixels, 4), dtype)
    for corner, (down, right) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        row, col = floor[:, 0] + down, floor[:, 1] + right
        weight = (fraction[:, 0] if down else 1 - fraction[:, 0]) * (fraction[:, 1] if right else 1 - fraction[:, 1])
        inside = (row >= 0) & (row < SIDE) & (col >= 0) & (col < SIDE)
        weights[:, :, corner] = np.where(inside, weight, 0)  # a pixel outside the image reads as 0
        indices[:, :, corner] = np.where(inside, row * SIDE + col, 0)
    pointers = np.arange(0, 4 * pixels + 1, 4, dtype=np.int32)
    return [sparse.csr_matrix((w.ravel(), i.ravel(), pointers), shape=(pixels, SIDE * SIDE))
            for w, i in zip(weights, indices)]


def random_warps(rng: np.random.Generator, n: int, augmentation: Augmentation, dtype=np.float32) -> list[sparse.csr_matrix]:
    """n random geometric distortions (affine, then elastic) as resampling matrices (see ``warp_matrices``)."""
    a = augmentation
    matrices, shifts = affine_matrices(rng, n, a)
    displacements = elastic_displacements(rng, n, a.elastic, a.elastic_smoothness) if a.elastic else None
    return warp_matrices(sampling_points(matrices, shifts, displacements), dtype)


def warp(stack: np.ndarray, matrices: np.ndarray, shifts: np.ndarray,
         displacements: np.ndarray | None = None) -> np.ndarray:
    """Resample images (n, 28, 28) under forward affine maps (see ``affine_matrices``) plus optional
    displacements (2, n, 28, 28) of the sampling positions, in pixels. Bilinear, zero outside."""
    resampling = warp_matrices(sampling_points(matrices, shifts, displacements), stack.dtype)
    flat = stack.reshape(len(stack), -1)
    return np.stack([m @ image for m, image in zip(resampling, flat)]).reshape(stack.shape)


def ink_extent(canvases: np.ndarray, threshold: float = INK) -> tuple[np.ndarray, ...]:
    """Per canvas (n, h, w): (top, bottom, left, right) pixel index of the ink, inclusive, each (n,) int."""
    rows, cols = canvases.max(axis=2) > threshold, canvases.max(axis=1) > threshold
    top, left = rows.argmax(axis=1), cols.argmax(axis=1)
    bottom = rows.shape[1] - 1 - rows[:, ::-1].argmax(axis=1)
    right = cols.shape[1] - 1 - cols[:, ::-1].argmax(axis=1)
    return top, bottom, left, right


def pen_skips(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One band of paper, 0.8 to 2.2 pixels wide, across each image at any angle through a random
    point of its ink's box, and for half of them a second: images (n, 28, 28) in [0, 1] -> (n, 28, 28)."""
    n = len(images)
    rows, cols = np.indices((SIDE, SIDE), dtype=np.float32)
    top, bottom, left, right = ink_extent(images)
    out = images.copy()
    for band in range(2):
        angle = rng.uniform(0, np.pi, n)
        row, col = rng.uniform(top, bottom + 1), rng.uniform(left, right + 1)
        # The distance of every pixel from the band's centre line.
        distance = np.abs((rows[None] - row[:, None, None]) * np.cos(angle)[:, None, None]
                          - (cols[None] - col[:, None, None]) * np.sin(angle)[:, None, None])
        width = rng.uniform(0.8, 2.2, n) * (band == 0 or rng.random(n) < 0.5)
        out *= np.clip(distance - width[:, None, None] / 2, 0, 1)
    return out


def with_pen_skips(images: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """``pen_skips`` on a random ``share`` of ``images`` (n, 784), in place; returns them."""
    chosen = np.nonzero(rng.random(len(images)) < share)[0]
    if chosen.size:
        images[chosen] = pen_skips(images[chosen].reshape(-1, SIDE, SIDE), rng).reshape(chosen.size, -1)
    return images


def augment(images: np.ndarray, rng: np.random.Generator, augmentation: Augmentation) -> np.ndarray:
    """A randomly distorted copy of a batch, each image its own warp: images (n, 784) float in [0, 1] -> (n, 784).

    The stroke thickness changes first, then the image is warped, then pen skips cut it (as
    ``EpochDistortions`` does).
    """
    n, a = len(images), augmentation
    if not a.enabled or n == 0:
        return images.copy()
    warps = random_warps(rng, n, a, images.dtype) if a.geometric else []
    out = change_thickness(images.reshape(n, SIDE, SIDE), rng.uniform(-a.thickness, a.thickness, n)).reshape(n, -1)
    if warps:
        out = np.stack([m @ image for m, image in zip(warps, out)])
    np.clip(out, 0, 1, out=out)
    return with_pen_skips(out, rng, a.pen_skips) if a.pen_skips else out


class EpochDistortions:
    """The training images as distorted in each epoch: a pure function of (seed, epoch).

    Every ``WARP_BANK_EPOCHS`` epochs a bank of ``WARP_BANK_SIZE`` random warps is drawn; each epoch
    gives every image one of them at random and its own thickness change. The strokes' dilation
    and erosion are computed once, so a thickness change is one multiply-add; the images are grouped by
    (thinner or thicker, warp), and the images that share a warp are resampled by one sparse product.
    """

    def __init__(self, split: Split, augmentation: Augmentation, seed: int):
        self.split, self.augmentation, self.seed = split, augmentation, seed
        self._bank: tuple[int, list[sparse.csr_matrix]] = (-1, [])
        if augmentation.thickness:
            stack = split.images.reshape(-1, SIDE, SIDE)
            # How far each pixel is from the thinner and the thicker stroke: a change is one multiply-add.
            self.to_thinner, self.to_thicker = (plus_extreme(stack, extreme).reshape(len(split), -1) - split.images
                                                for extreme in (np.minimum, np.maximum))

    def bank(self, epoch: int) -> list[sparse.csr_matrix]:
        """The warps of epoch ``epoch``: drawn from ``[seed, epoch // WARP_BANK_EPOCHS, 2]``, kept while they last."""
        era = epoch // WARP_BANK_EPOCHS
        if self._bank[0] != era:
            rng = np.random.default_rng([self.seed, era, 2])
            self._bank = era, random_warps(rng, WARP_BANK_SIZE, self.augmentation, self.split.images.dtype)
        return self._bank[1]

    def epoch(self, epoch: int) -> tuple[Split, np.ndarray]:
        """The distorted training images of epoch ``epoch`` (0-based), grouped as computed, and where each went.

        Returns (split, position): ``split.images[position[i]]`` (784,) is image i distorted, with its
        label ``split.labels[position[i]]``; same dtype as the training images.
        """
        a, n = self.augmentation, len(self.split)
        bank = self.bank(epoch) if a.geometric else [None]
        rng = np.random.default_rng([self.seed, epoch, 1])
        thickness = rng.uniform(-a.thickness, a.thickness, n)
        group = (thickness > 0) * len(bank) + rng.integers(0, len(bank), n)  # thinner ones first, by warp
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(2 * len(bank) + 1))
        distorted = np.empty_like(self.split.images)
        for g, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            if stop == start:
                continue
            rows = order[start:stop]
            images = self.split.images[rows]
            if a.thickness:
                change = (self.to_thicker if g >= len(bank) else self.to_thinner)[rows]
                change *= np.abs(thickness[rows])[:, None]
                images += change
            if a.geometric:
                images = (bank[g % len(bank)] @ images.T).T
            # Both steps average pixels in [0, 1] with weights >= 0 summing to 1: only rounding can pass 1.
            np.minimum(images, 1, out=distorted[start:stop])
        if a.pen_skips:  # drawn from a stream of their own: the warps and thicknesses stay as without them
            with_pen_skips(distorted, np.random.default_rng([self.seed, epoch, 3]), a.pen_skips)
        position = np.empty(n, np.int64)
        position[order] = np.arange(n)
        return Split(distorted, self.split.labels[order]), position


def one_at_a_time(augmentation: Augmentation) -> dict[str, Augmentation]:
    """Each distortion of ``augmentation`` alone, at its strength, by name (those that are on)."""
    off = Augmentation(elastic_smoothness=augmentation.elastic_smoothness)
    names = ("shift", "rotation", "scale", "shear", "elastic", "thickness", "pen_skips")
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
