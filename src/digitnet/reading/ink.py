"""Where the ink is: polarity, paper level under uneven light, noise, and an ink mask.

All functions work on grey levels as float32 arrays in [0, 1]. ``measure_ink`` looks at a whole
(downscaled) page once and returns an ``InkModel``; the model then turns any patch of the page, at
any resolution, into ink strength in [0, 1] (0 = paper, 1 = a full-strength stroke), so digits can
be found on a small copy of a large photo and read from the full-resolution pixels.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from digitnet.reading.surround import find_surround

PAPER_BLOCKS = 32           # the paper level is estimated on a grid this many blocks along the long side
STROKE_BLOCKS = 9           # ink narrower than this many blocks (over a quarter of the long side) is not paper
MIN_CONTRAST = 0.06         # ink must differ from paper by at least this much (of full scale)
NOISE_SIGMAS = 5.0          # ... and by this many standard deviations of the paper's noise
THRESHOLD_OF_STRENGTH = 0.3  # the mask keeps pixels with at least this fraction of typical ink strength


@dataclass
class InkModel:
    """How ink looks on one page.

    dark_ink: True for dark strokes on light paper; False for light on dark (chalkboard, MNIST).
    paper: (rows, cols) float32, the paper's ink-positive level on a coarse grid over the page.
    strength: typical ink-minus-paper difference of a stroke (> 0); threshold: mask cut-off, same units.
    surround: (H, W) bool over the page as measured, True off the paper (a desk around a page: no
    ink there); None when the photo is paper everywhere.
    """

    dark_ink: bool
    paper: np.ndarray
    strength: float
    threshold: float
    surround: np.ndarray | None = None

    def ink(self, grey: np.ndarray, region: tuple[float, float, float, float] | None = None) -> np.ndarray:
        """Ink strength of a patch: grey (h, w) in [0, 1] -> (h, w) float32 in [0, 1].

        region: the patch's (x0, y0, x1, y1) as fractions of the page (default: the whole page).
        """
        region = region or (0.0, 0.0, 1.0, 1.0)
        positive = 1.0 - grey if self.dark_ink else grey
        excess = positive - paper_level(self.paper, region, grey.shape)
        floor = 0.5 * self.threshold
        ink = np.clip((excess - floor) / (self.strength - floor), 0.0, 1.0).astype(np.float32)
        if self.surround is not None:
            ink[_resampled(self.surround, region, grey.shape)] = 0.0
        return ink

    def mask(self, ink: np.ndarray) -> np.ndarray:
        """Pixels that are ink: ink (h, w) from ``ink`` -> (h, w) bool."""
        floor = 0.5 * self.threshold
        return ink > (self.threshold - floor) / (self.strength - floor)


def measure_ink(grey: np.ndarray) -> InkModel | None:
    """Study a page: grey (h, w) float32 in [0, 1] -> its InkModel, or None when it holds no ink."""
    found = find_surround(grey)
    if found is None:
        surround = None
        sample = grey[:: max(1, grey.shape[0] // 400), :: max(1, grey.shape[1] // 400)]
        low, median, high = np.percentile(sample, [0.5, 50, 99.5])
        dark_ink = bool(median - low >= high - median)
        positive = 1.0 - grey if dark_ink else grey
    else:  # paper in a surround: measured as if the surround were paper, then left out
        surround, dark_ink = found  # light paper, dark ink; a dark board, light chalk
        positive = 1.0 - grey if dark_ink else grey.copy()
        positive[surround] = np.median(positive[~surround])
    paper = paper_grid(positive)
    excess = positive - paper_level(paper, (0.0, 0.0, 1.0, 1.0), grey.shape)
    sample = excess[::2, ::2] if surround is None else excess[::2, ::2][~surround[::2, ::2]]
    offset = float(np.median(sample))
    noise = 1.4826 * float(np.median(np.abs(sample - offset)))
    paper += offset
    excess -= offset
    floor = max(MIN_CONTRAST, NOISE_SIGMAS * noise)
    strong = excess[excess > floor]
    if strong.size < 12:
        return None
    strength = float(np.percentile(strong, 90))
    return InkModel(dark_ink, paper, strength, max(floor, THRESHOLD_OF_STRENGTH * strength), surround)


def paper_grid(positive: np.ndarray) -> np.ndarray:
    """The paper's level on a coarse grid: positive (h, w) ink-positive grey -> (rows, cols) float32.

    Each block's median, then a grey opening of the grid (a minimum, then a maximum, over
    ``STROKE_BLOCKS`` x ``STROKE_BLOCKS`` blocks), then a 3x3 mean to smooth the steps. The opening
    removes every bump narrower than its window, so blocks filled by a fat stroke take the level of
    the paper around the stroke, while a smooth ramp of light or the edge of a wide shadow is kept as
    it is (a minimum alone would take all of a ramp's blocks for darker than they are).
    """
    h, w = positive.shape
    block = max(2, int(np.ceil(max(h, w) / PAPER_BLOCKS)))
    rows, cols = -(-h // block), -(-w // block)
    padded = np.pad(positive, ((0, rows * block - h), (0, cols * block - w)), mode="edge")
    blocks = padded.reshape(rows, block, cols, block).transpose(0, 2, 1, 3).reshape(rows, cols, -1)
    medians = Image.fromarray(np.median(blocks, axis=2).astype(np.float32), "F")
    opened = medians.filter(ImageFilter.MinFilter(STROKE_BLOCKS)).filter(ImageFilter.MaxFilter(STROKE_BLOCKS))
    level = np.pad(np.asarray(opened, dtype=np.float32), 1, mode="edge")
    return np.mean([level[dy : dy + rows, dx : dx + cols] for dy in range(3) for dx in range(3)], axis=0)


def paper_level(paper: np.ndarray, region: tuple[float, float, float, float], shape: tuple[int, int]) -> np.ndarray:
    """The paper grid over ``region`` ((x0, y0, x1, y1) page fractions) resampled to ``shape`` (h, w)."""
    rows, cols = paper.shape
    x0, y0, x1, y1 = region
    box = (x0 * cols, y0 * rows, x1 * cols, y1 * rows)
    grid = Image.fromarray(paper, "F")
    return np.asarray(grid.resize((shape[1], shape[0]), Image.BILINEAR, box=box), dtype=np.float32)


def _resampled(mask: np.ndarray, region: tuple[float, float, float, float], shape: tuple[int, int]) -> np.ndarray:
    """The bool ``mask`` (H, W) over ``region`` ((x0, y0, x1, y1) page fractions), resampled (nearest) to ``shape`` (h, w)."""
    rows, cols = mask.shape
    x0, y0, x1, y1 = region
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    resized = image.resize((shape[1], shape[0]), Image.NEAREST, box=(x0 * cols, y0 * rows, x1 * cols, y1 * rows))
    return np.asarray(resized) > 0
