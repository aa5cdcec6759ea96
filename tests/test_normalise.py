"""reading.normalise: stroke width, bounded stroke filters, deslanting, and the 28x28 MNIST-style field."""

import time

import numpy as np
from PIL import Image

from digitnet.modelfile import load_model
from digitnet.reading import read_digits
from digitnet.reading import normalise
from digitnet.reading.normalise import (MAX_FILTER_SIDE, PATCH_STROKE, adjust_strokes, deslanted, mnist_style,
                                        slant, stroke_width)


def sheared_bar(lean: float, height: int = 80, thickness: int = 8) -> np.ndarray:
    """A bar ``thickness`` px wide whose left edge moves ``lean`` px right per row down: (height, w) float32."""
    width = int(abs(lean) * height) + thickness + 4
    bar = np.zeros((height, width), np.float32)
    for y in range(height):
        x = int(round(2 + (lean * y if lean >= 0 else abs(lean) * (height - 1 - y))))
        bar[y, x : x + thickness] = 1.0
    return bar


def ring(side: int = 80, thickness: int = 9) -> np.ndarray:
    """An upright ring (an "0"): (side, side * 3 // 4) float32, left-right and top-bottom symmetric."""
    ys, xs = np.indices((side, side * 3 // 4)) + 0.5
    a, b = side / 2, side * 3 / 8
    r = np.hypot((ys - a) / a, (xs - b) / b)
    return ((r <= 1) & (r >= 1 - thickness / b)).astype(np.float32)


def test_a_fully_inked_crop_has_a_width_near_half_its_side_not_its_area():
    assert 20 < stroke_width(np.ones((60, 60), np.float32)) < 40
    assert stroke_width(np.ones((80, 8), np.float32)) < 10  # a solid, straight "1"


def test_thinning_a_solid_blob_uses_a_bounded_filter_and_is_fast():
    blob = np.ones((80, 80), np.float32)
    started = time.perf_counter()
    thinned = adjust_strokes(blob, PATCH_STROKE)
    assert time.perf_counter() - started < 1.0
    # A MinFilter of side s eats (s - 1) / 2 pixels from each edge: at most one MNIST stroke.
    inked_rows = np.nonzero(thinned.max(axis=1) > 0.5)[0]
    assert len(inked_rows) >= 80 - (MAX_FILTER_SIDE - 1)


def test_a_solid_black_square_on_a_page_reads_in_seconds():
    page = np.full((600, 1200), 255, np.uint8)
    page[200:260, 500:560] = 0
    started = time.perf_counter()
    read_digits(Image.fromarray(page), load_model())
    assert time.perf_counter() - started < 5.0


def test_a_thick_solid_one_stays_solid_in_the_network_input():
    """A bar-like "1", 144 px tall and 30 px wide, keeps solid ink down its middle (not an outline)."""
    field = mnist_style(np.ones((144, 30), np.float32))
    middle_column = field[6:22, 14]
    assert (middle_column > 0.5).all()


def test_slant_of_a_sheared_bar_is_its_lean():
    assert abs(slant(sheared_bar(0.4)) - 0.4) < 0.02
    assert abs(slant(sheared_bar(-0.3)) + 0.3) < 0.02


def test_a_sheared_bar_becomes_upright():
    upright = deslanted(sheared_bar(0.45))
    assert abs(slant(upright)) < 0.02
    assert upright.shape[1] <= 8 + 3  # its box is about as wide as the bar is thick
    assert upright.shape[0] == 80


def test_an_upright_digit_is_unchanged_by_deslanting():
    digit = ring()
    assert slant(digit) == 0.0
    assert np.array_equal(deslanted(digit), digit)
    assert np.array_equal(mnist_style(digit, deslant=True), mnist_style(digit, deslant=False))


def inked_columns(field: np.ndarray) -> int:
    """How many columns of a 28x28 field hold at least a pixel of half-strength ink."""
    return int(np.count_nonzero(field.max(axis=0) >= 0.5))


def test_a_slanted_bar_deslanted_is_as_narrow_in_the_field_as_an_upright_bar():
    upright = inked_columns(mnist_style(np.ones((80, 8), np.float32), deslant=True))
    for lean in (0.4, -0.3):
        assert inked_columns(mnist_style(sheared_bar(lean), deslant=True)) <= upright + 1
        assert inked_columns(mnist_style(sheared_bar(lean))) >= upright + 4  # without deslanting: wide


def test_mnist_style_gives_a_28x28_field_of_ink_in_0_1():
    field = mnist_style(sheared_bar(0.3), deslant=True)
    assert field.shape == (28, 28) and field.dtype == np.float32
    assert field.min() >= 0 and field.max() == 1.0
    assert mnist_style(np.zeros((30, 20), np.float32)).sum() == 0


def test_normalising_in_worker_processes_gives_the_same_inputs(mnist):
    crops = list(mnist.train_images[:40].astype(np.float32) / 255) * (normalise.NORMALISE_CHUNK * 6 // 200)  # > 1 chunk
    assert np.array_equal(normalise.normalised(crops, True, workers=2), normalise.normalised(crops, True, workers=1))


def test_shifted_views_move_the_input_one_pixel_each_way_and_paper_comes_in():
    field = np.zeros((28, 28), np.float32)
    field[10, 12] = 1.0
    views = normalise.shifted_views(field)
    assert views.shape == (5, 28, 28)
    spots = [tuple(int(v) for v in np.argwhere(view)[0]) for view in views]
    assert spots == [(10, 12), (9, 12), (11, 12), (10, 11), (10, 13)]
    edge = np.ones((28, 28), np.float32)
    assert [int(view.sum()) for view in normalise.shifted_views(edge)] == [784] + [756] * 4
