"""Ruled lines: found along their own slope and taken out, the strokes that cross them kept whole;
digits on ruled, squared or margined paper, square or tilted, read as on blank paper."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet.modelfile import load_model
from digitnet.reading import read_digits
from digitnet.reading.lines import line_slope, without_lines
from digitnet.reading.synthetic import mnist_glyph


def lines_across(shape, slope, starts, thickness=2) -> np.ndarray:
    """A mask (h, w) bool of lines across it, starting at rows ``starts`` on the left and rising
    ``slope`` rows per column."""
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    return np.any([(0 <= ys - start - slope * xs) & (ys - start - slope * xs < thickness) for start in starts], axis=0)


@pytest.mark.parametrize("slope", [0.0, 0.02, -0.05, 0.12])
def test_the_slope_of_lines_is_found(slope):
    mask = lines_across((300, 400), slope, starts=range(30, 280, 40))
    assert line_slope(mask) == pytest.approx(slope, abs=0.002)


@pytest.mark.parametrize("slope", [0.0, 0.035, -0.05])
def test_lines_across_and_down_are_taken_out_but_a_stroke_crossing_them_stays_whole(slope):
    paper = lines_across((300, 400), slope, starts=range(25, 280, 50)) | lines_across((400, 300), -slope, starts=[40]).T
    stroke = np.zeros_like(paper)
    stroke[40:260, 200:208] = True  # a stroke across four lines
    stroke[200:230, 30:60] = True   # a blot across the margin line
    cleaned = without_lines(paper | stroke)
    assert (cleaned[stroke]).all()
    assert not (cleaned & ~stroke).any()


def test_a_thick_straight_stroke_or_a_short_line_is_no_ruled_line():
    mask = np.zeros((100, 300), dtype=bool)
    mask[20:32, 30:270] = True   # a bar 12 px thick across the page: a marker's stroke
    mask[70:72, 30:150] = True   # a thin line across less than half of it
    assert (without_lines(mask) == mask).all()
    assert (without_lines(mask.T) == mask.T).all()


@pytest.fixture(scope="module")
def reader():
    return load_model()


PAPERS = {"ruled": (True, False), "squared": (True, True), "margined": (False, True)}


@pytest.mark.parametrize("degrees", [0.0, 2.5])
@pytest.mark.parametrize("paper", list(PAPERS))
def test_digits_on_ruled_squared_or_margined_paper_read_as_on_blank_paper(reader, mnist, paper, degrees):
    digits = [4, 9, 0, 7, 2]
    glyphs = [mnist_glyph(mnist.test_images[np.flatnonzero(mnist.test_labels == d)[0]], 60) for d in digits]
    width = sum(g.shape[1] for g in glyphs) + 20 * (len(glyphs) - 1) + 160
    ink = np.zeros((200, width), np.float32)
    x = 100
    for glyph in glyphs:
        ink[70 : 70 + glyph.shape[0], x : x + glyph.shape[1]] = glyph
        x += glyph.shape[1] + 20
    blank = Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8), "L")
    lined = blank.copy()
    draw = ImageDraw.Draw(lined)
    across, down = PAPERS[paper]
    for y in range(13, 200, 54) if across else ():
        draw.line((0, y, width, y), fill=90, width=2)
    for x in (range(27, width, 54) if paper == "squared" else [60]) if down else ():
        draw.line((x, 0, x, 200), fill=90, width=2)
    lined = Image.fromarray(np.minimum(np.asarray(lined), np.asarray(blank)))
    tilted = lined.rotate(degrees, Image.BICUBIC, expand=True, fillcolor=255) if degrees else lined
    assert read_digits(blank, reader).text == "49072"
    assert read_digits(tilted, reader).text == "49072"
