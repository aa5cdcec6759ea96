"""The ink mask: fat strokes stay solid at every image size, on flat paper and under a shadow."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet.modelfile import load_model
from digitnet.reading import read_digits
from digitnet.reading.ink import measure_ink
from digitnet.reading.load import grey_array


def solid_one(side: int) -> Image.Image:
    """A bar-like "1" a sixth of the image wide, black on white, in a ``side`` x ``side`` image."""
    image = Image.new("L", (side, side), 255)
    s = side / 144
    ImageDraw.Draw(image).rectangle((60 * s, 20 * s, 84 * s, 124 * s), fill=0)
    return image


def thick_four(side: int) -> Image.Image:
    """A closed-top "4" drawn with strokes an eighth of the image wide."""
    image = Image.new("L", (side, side), 255)
    draw, s = ImageDraw.Draw(image), side / 144
    for line in ((90, 18, 30, 90), (30, 90, 115, 90), (90, 18, 90, 128)):
        draw.line(tuple(v * s for v in line), fill=0, width=round(18 * s))
    return image


DRAWINGS = {"1": solid_one, "4": thick_four}


@pytest.mark.parametrize("side", [72, 144, 288, 600])
@pytest.mark.parametrize("digit", sorted(DRAWINGS))
def test_thick_strokes_keep_their_ink_solid_at_every_size(digit, side):
    image = DRAWINGS[digit](side)
    grey = grey_array(image)
    ink_model = measure_ink(grey)
    mask = ink_model.mask(ink_model.ink(grey))
    drawn = np.asarray(image) < 128
    assert np.count_nonzero(mask & drawn) >= 0.99 * np.count_nonzero(drawn)
    assert np.count_nonzero(mask & ~drawn) <= 0.01 * np.count_nonzero(drawn)


@pytest.mark.parametrize("side", [72, 144, 288, 600])
@pytest.mark.parametrize("digit", sorted(DRAWINGS))
def test_thick_strokes_are_read_right_by_the_best_model(digit, side, best_model):
    assert read_digits(DRAWINGS[digit](side), best_model).text == digit


def test_a_smooth_shadow_is_paper_not_ink():
    xs = np.linspace(0.45, 1.0, 600, dtype=np.float32)
    grey = np.tile(xs, (400, 1)) * 0.98
    grey[180:220, 100:500] = 0.1 * xs[100:500]  # one dark bar across the shadow
    ink_model = measure_ink(grey)
    mask = ink_model.mask(ink_model.ink(grey))
    assert mask[180:220, 100:500].mean() >= 0.99
    mask[180:220, 100:500] = False
    assert mask.mean() <= 0.001


@pytest.fixture(scope="module")
def best_model():
    return load_model("best")
