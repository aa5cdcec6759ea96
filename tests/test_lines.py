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


def test_a_form_s_boxes_are_taken_out_but_a_stroke_crossing_them_stays_whole():
    boxes = np.zeros((120, 300), dtype=bool)  # two boxes sharing a wall, less than half the photo wide
    boxes[20:22, 40:160] = boxes[98:100, 40:160] = True
    boxes[20:100, 40:42] = boxes[20:100, 98:100] = boxes[20:100, 158:160] = True
    stroke = np.zeros_like(boxes)
    stroke[10:60, 70:76] = True  # through the top edge
    stroke[60:64, 90:110] = True  # across the inner wall
    cleaned = without_lines(boxes | stroke)
    assert cleaned[stroke].all()
    assert not (cleaned & ~stroke).any()


def test_straight_strokes_that_do_not_close_a_box_are_no_frame():
    z = np.zeros((200, 300), dtype=bool)  # a 2 or a Z: a straight top and base, a diagonal between
    z[20:23, 60:140] = z[97:100, 60:140] = True
    for y in range(20, 100):
        z[y, 137 - (y - 20) : 143 - (y - 20)] = True
    u = np.zeros_like(z)  # a box without its top edge
    u[97:100, 160:240] = u[20:100, 160:163] = u[20:100, 237:240] = True
    assert (without_lines(z | u) == (z | u)).all()


def test_a_sliver_beyond_the_paper_s_edge_is_taken_out_but_a_1_at_the_edge_of_a_tight_crop_stays():
    page = np.zeros((240, 320), dtype=bool)
    page[:, :9] = True  # the desk beyond the paper's edge, along the left side
    page[90:140, 60:66] = page[90:140, 100:130] = True  # two digits' worth of writing
    cleaned = without_lines(page)
    assert not cleaned[:, :9].any()
    assert (cleaned[:, 9:] == page[:, 9:]).all()
    crop = np.zeros((80, 100), dtype=bool)
    crop[:, :10] = True  # a straight 1 at the edge, as tall as the digit beside it
    crop[:, 30:34] = crop[:8, 30:94] = True
    assert (without_lines(crop) == crop).all()


def test_wedges_of_desk_in_the_corners_of_a_tilted_page_are_taken_out_but_strokes_in_a_corner_stay():
    ys, xs = np.mgrid[:180, :300]
    page = np.zeros((180, 300), dtype=bool)
    page |= ys < 12 - 0.1 * xs  # what lies beyond the page's top edge, tilted 6 degrees: a wedge at top left
    page |= 299 - xs < 1 + 0.05 * (179 - ys)  # beyond its right edge, 1-2 px deep: too thin to thin away
    page[70:120, 80:86] = page[70:120, 140:170] = True  # two digits' worth of writing
    cleaned = without_lines(page)
    assert not cleaned[:12, :120].any() and not cleaned[:, 297:].any()
    assert (cleaned[70:120, 80:170] == page[70:120, 80:170]).all()
    joined = page.copy()
    joined |= ys > 170 + 0.08 * xs  # a wedge at bottom left too, joined to the first by a strip of desk
    joined[:, 0] = True
    cleaned = without_lines(joined)
    assert not cleaned[:, :60].any() and not cleaned[170:].any() and (cleaned[70:120, 80:170] == page[70:120, 80:170]).all()
    for width in (6, 3):  # pen widths
        for stroke in (np.s_[:, :width], np.s_[:width, :], np.s_[:width, :40]):  # a 1 at a tight crop's edge; a 7's bar
            crop = np.zeros((80, 60), dtype=bool)
            crop[stroke] = True
            crop[:, 40 : 40 + width] = True
            assert (without_lines(crop) == crop).all()


def test_digits_on_a_tilted_page_that_fills_the_photo_read_as_on_the_page(reader, mnist):
    digits = [4, 9, 0, 7, 2]
    glyphs = [mnist_glyph(mnist.test_images[np.flatnonzero(mnist.test_labels == d)[0]], 50) for d in digits]
    ink = np.zeros((170, 400), np.float32)
    for k, glyph in enumerate(glyphs):
        ink[60 : 60 + glyph.shape[0], 60 + 60 * k : 60 + 60 * k + glyph.shape[1]] = glyph
    page = Image.fromarray(np.round(250 - 225 * ink).astype(np.uint8), "L")
    for degrees in (-6, 4):
        on_desk = page.rotate(degrees, Image.BICUBIC, expand=True, fillcolor=60)
        photo = on_desk.crop((12, 12, on_desk.width - 12, on_desk.height - 12))  # the desk shows in its corners
        assert read_digits(photo, reader).text == "49072"


def test_a_comb_s_line_and_teeth_are_taken_out_but_strokes_standing_on_it_stay():
    comb = np.zeros((120, 600), dtype=bool)  # wide: the line runs along less than 0.6 of it, no ruling
    comb[100:102, 20:282] = True  # the line
    for x in (20, 85, 150, 215, 280):
        comb[80:100, x : x + 2] = True  # teeth
    strokes = np.zeros_like(comb)
    strokes[40:100, 50:55] = True  # a 1 standing on the line, taller than the teeth
    strokes[40:46, 100:140] = strokes[40:100, 134:140] = True  # a 7 standing on it
    cleaned = without_lines(comb | strokes)
    assert (cleaned[:100] == strokes[:100]).all()
    assert not cleaned[100:, ~strokes.any(axis=0)].any()  # (a stroke keeps the pixels it shares with the line)
    assert not without_lines(comb[::-1]).any()  # teeth hanging from the line
    uneven = np.zeros_like(comb)
    uneven[100:102, 20:282] = True
    for x, length in zip((20, 85, 150, 215, 280), (10, 20, 30, 45, 60)):
        uneven[100 - length : 100, x : x + 2] = True  # strokes of all lengths on a line: no comb
    assert (without_lines(uneven) == uneven).all()


@pytest.fixture(scope="module")
def reader():
    return load_model()


PAPERS = ("ruled", "squared", "margined", "comb", "boxes", "teeth")


def paper_lines(paper: str, width: int, slots: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """The lines (x0, y0, x1, y1) of a ``paper`` 200 px tall and ``width`` wide, for digits written
    in the columns ``slots`` (x0, x1), rows 70-130: a form's boxes hold them from 55 to 145."""
    walls = [slots[0][0] - 10, *((a[1] + b[0]) // 2 for a, b in zip(slots, slots[1:])), slots[-1][1] + 10]
    if paper == "comb":
        return [(walls[0], 55, walls[-1], 55), (walls[0], 145, walls[-1], 145), *((x, 55, x, 145) for x in walls)]
    if paper == "teeth":  # a comb: a baseline the digits stand on, with short teeth between them
        return [(walls[0], 127, walls[-1], 127), *((x, 105, x, 127) for x in walls)]
    if paper == "boxes":
        return [line for x0, x1 in slots for line in ((x0 - 8, 55, x1 + 8, 55), (x0 - 8, 145, x1 + 8, 145),
                                                     (x0 - 8, 55, x0 - 8, 145), (x1 + 8, 55, x1 + 8, 145))]
    across = [(0, y, width, y) for y in range(13, 200, 54)] if paper in ("ruled", "squared") else []
    down = [(x, 0, x, 200) for x in (range(27, width, 54) if paper == "squared" else [60])] if paper != "ruled" else []
    return across + down


def written_on(paper: str, mnist) -> tuple[Image.Image, Image.Image, list[tuple[int, int]]]:
    """MNIST test digits 4 9 0 7 2, 60 px tall, on blank paper and on ``paper`` (as ``paper_lines``
    draws it), and the columns (x0, x1) each digit was written in."""
    digits = [4, 9, 0, 7, 2]
    glyphs = [mnist_glyph(mnist.test_images[np.flatnonzero(mnist.test_labels == d)[0]], 60) for d in digits]
    width = sum(g.shape[1] for g in glyphs) + 20 * (len(glyphs) - 1) + 160
    ink = np.zeros((200, width), np.float32)
    x, slots = 100, []
    for glyph in glyphs:
        ink[70 : 70 + glyph.shape[0], x : x + glyph.shape[1]] = glyph
        slots.append((x, x + glyph.shape[1]))
        x += glyph.shape[1] + 20
    blank = Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8), "L")
    lined = blank.copy()
    draw = ImageDraw.Draw(lined)
    for line in paper_lines(paper, width, slots):
        draw.line(line, fill=90, width=2)
    return blank, Image.fromarray(np.minimum(np.asarray(lined), np.asarray(blank))), slots


@pytest.mark.parametrize("degrees", [0.0, 2.5])
@pytest.mark.parametrize("paper", PAPERS)
def test_digits_on_lined_paper_or_in_a_form_s_boxes_read_as_on_blank_paper(reader, mnist, paper, degrees):
    blank, lined, _ = written_on(paper, mnist)
    tilted = lined.rotate(degrees, Image.BICUBIC, expand=True, fillcolor=255) if degrees else lined
    assert read_digits(blank, reader).text == "49072"
    assert read_digits(tilted, reader).text == "49072"


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("paper", ["comb", "boxes"])
def test_a_form_s_boxes_cut_by_the_photo_s_side_are_taken_out_too(reader, mnist, paper, side):
    _, lined, slots = written_on(paper, mnist)
    cut = (slots[0][0] - 5, 0, *lined.size) if side == "left" else (0, 0, slots[-1][1] + 5, lined.height)
    assert read_digits(lined.crop(cut), reader).text == "49072"
