"""Recognition-guided segmentation: the graph's best path on constructed rows, 'not a digit' outputs,
determinism, one text on every reading path, and the bounds that keep any page fast."""

import io
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet.errors import ImageError
from digitnet.modelfile import Model, load_model
from digitnet.nn.network import Network
from digitnet.reading import read_digits
from digitnet.reading.lattice import Candidate, best_path
from digitnet.reading.segment import Blob
from digitnet.reading.synthetic import mnist_glyph


@pytest.fixture(scope="module")
def model():
    return load_model()


def first_test_digit(mnist, label: int, height: int, skip: int = 0) -> np.ndarray:
    """The ink of the first MNIST test image of ``label`` (after ``skip`` of them), ``height`` px tall."""
    index = np.flatnonzero(mnist.test_labels == label)[skip]
    return mnist_glyph(mnist.test_images[index], height)


def row_image(glyphs, gaps, rises=None, margin=40) -> Image.Image:
    """Glyphs (h, w) ink in [0, 1] left to right, ``gaps`` px apart (negative: overlapping), each
    raised by ``rises`` px: dark ink on white, as a PIL "L" image."""
    rises = rises or [0] * len(glyphs)
    width = sum(g.shape[1] for g in glyphs) + sum(gaps) + 2 * margin
    height = max(g.shape[0] + abs(r) for g, r in zip(glyphs, rises)) + 2 * margin
    ink = np.zeros((height, width), dtype=np.float32)
    x = margin
    for glyph, gap, rise in zip(glyphs, [*gaps, 0], rises):
        h, w = glyph.shape
        y = margin + max(rises) - rise
        ink[y : y + h, x : x + w] = np.maximum(ink[y : y + h, x : x + w], glyph)
        x += w + gap
    return Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8), "L")


def broken_five(height: int = 90) -> Image.Image:
    """A "5" drawn with its top bar lifted off the stem by a gap, as a light pen leaves it."""
    image = Image.new("L", (height * 2, height * 2), 255)
    draw = ImageDraw.Draw(image)
    s, x, y, w = height / 10, height // 2, height // 2, max(3, height // 11)
    draw.line((x + 2.4 * s, y, x + 7 * s, y), fill=0, width=w)                  # the bar, not touching...
    draw.line((x + 1.8 * s, y + 1.3 * s, x + 1.5 * s, y + 4.5 * s), fill=0, width=w)  # ...the stem
    draw.arc((x + 0.8 * s, y + 3.4 * s, x + 7.2 * s, y + 10 * s), 200, 150, fill=0, width=w)
    return image


def test_two_touching_digits_are_cut_apart_and_both_read(model, mnist):
    image = row_image([first_test_digit(mnist, 3, 60), first_test_digit(mnist, 5, 60)], [-4])
    assert read_digits(image, model).text == "35"


def test_a_broken_five_is_read_as_one_five(model):
    reading = read_digits(broken_five(), model)
    assert reading.text == "5"


def test_a_two_and_a_one_close_together_on_a_tilted_line_are_two_digits(model, mnist):
    image = row_image([first_test_digit(mnist, 2, 60), first_test_digit(mnist, 1, 60)], [13], [0, 8])
    assert read_digits(image, model).text == "21"
