"""reading.reader_data: the reader's training data from MNIST training digits: styles, negatives, normalising."""

import numpy as np
import pytest
from scipy import ndimage

from digitnet.reading import reader_data as rd
from digitnet.reading.normalise import slant


@pytest.fixture(scope="module")
def digits(mnist):
    """The first 600 MNIST training digits as float32 ink in [0, 1], and their labels."""
    return mnist.train_images[:600].astype(np.float32) / 255, mnist.train_labels[:600].astype(np.int64)


def of_digit(digits, d, count=20):
    images, labels = digits
    return images[labels == d][:count]


def components(canvas: np.ndarray) -> int:
    return ndimage.label(canvas > 0.3, structure=np.ones((3, 3)))[1]


def test_a_segment_is_drawn_as_an_anti_aliased_stroke_of_its_width():
    canvas = rd.draw_segments(np.zeros((1, 28, 28), np.float32), np.array([[14.0, 4.0]]), np.array([[14.0, 20.0]]),
                              np.array([2.0]))[0]
    assert (canvas[14, 4:21] == 1).all() and canvas[10].max() == 0 and canvas[14, :3].max() == 0
    assert canvas[:, 12].sum() == pytest.approx(2.0)  # the ink across the stroke is its width


def test_touching_pairs_join_two_digits_into_one_wider_stroke(digits):
    images, _ = digits
    pairs = rd.touching_pairs(images, np.random.default_rng(0), 200)
    assert len(pairs) > 100
    single_widths = ndimage.find_objects((images > 0.3).astype(int))
    widest_digit = max(s[1].stop - s[1].start for s in single_widths)
    assert np.median([p.shape[1] for p in pairs]) > 0.6 * widest_digit * 1.5
    joined = np.mean([components(p) == 1 for p in pairs])
    assert joined >= 0.85  # a digit that is itself broken leaves a pair in pieces


def test_pairs_are_made_of_digits_of_about_the_same_height(digits):
    images, _ = digits
    left, right = rd.same_height_partners(images, np.random.default_rng(0), 300)
    heights = rd.heights(images)
    assert len(left) > 150 and (np.abs(heights[left] - heights[right]) <= rd.SAME_HEIGHT).all()


def test_halves_are_smaller_than_a_digit_and_never_cut_from_a_one(digits):
    images, labels = digits
    pieces = rd.halves(images, labels, np.random.default_rng(1), 100)
    assert all(p.shape[0] * p.shape[1] < 0.8 * 20 * 20 for p in pieces)
    fragments = rd.fragments(images, np.random.default_rng(1), 100)
    assert all(max(f.shape) <= 13 for f in fragments)


def test_a_crossed_seven_gains_ink_across_its_middle(digits):
    sevens = of_digit(digits, 7)
    crossed = rd.crossed(sevens, np.random.default_rng(0))
    middle = slice(10, 20)
    assert (crossed[:, middle].sum(axis=(1, 2)) > sevens[:, middle].sum(axis=(1, 2)) + 3).all()
    assert (crossed >= sevens).all()


def test_a_one_gains_a_flag_at_its_top_and_sometimes_a_base(digits):
    ones = of_digit(digits, 1)
    styled = rd.flag_and_base(ones, np.random.default_rng(0))
    top, bottom, _, _ = rd.ink_extent(ones)
    gained_at_top = np.array([after[t : t + 6].sum() - before[t : t + 6].sum()
                              for before, after, t in zip(ones, styled, top)])
    assert (gained_at_top > 0.5).all() and gained_at_top.mean() > 3
    gained_at_bottom = np.array([after[b - 1 : b + 1].sum() - before[b - 1 : b + 1].sum()
                                 for before, after, b in zip(ones, styled, bottom)])
    assert 0.2 < (gained_at_bottom > 2).mean() < 0.8


def test_a_straight_stem_nine_keeps_its_height_and_its_stem_is_vertical(digits):
    nines = of_digit(digits, 9)
    styled = rd.straight_stem(nines, np.random.default_rng(0))
    assert (np.abs(rd.heights(styled) - rd.heights(nines)) <= 1).all()
    bottom_rows = styled[:, 20:24]
    leftmost, rightmost = rd.row_ink_columns(bottom_rows)
    inked = rightmost >= 0
    assert ((rightmost - leftmost)[inked] <= 4).mean() > 0.9  # just the stem down there


def test_a_closed_four_gains_ink_at_its_top_and_a_small_loop_eight_is_narrower_at_the_top(digits):
    fours = of_digit(digits, 4)
    closed = rd.closed_top(fours, np.random.default_rng(0))
    assert (closed[:, :12].sum() > fours[:, :12].sum() + 20)
    eights = of_digit(digits, 8)
    squeezed = rd.small_top_loop(eights, np.random.default_rng(0))
    width = lambda images: (images[:, 4:10].max(axis=1) > 0.3).sum(axis=1)  # noqa: E731
    assert width(squeezed).mean() < 0.85 * width(eights).mean()


def test_open_loops_lose_a_little_ink_in_their_upper_part(digits):
    zeros = of_digit(digits, 0)
    opened = rd.open_top_loop(zeros, np.random.default_rng(0))
    lost = zeros.sum(axis=(1, 2)) - opened.sum(axis=(1, 2))
    assert (lost > 1).all() and (lost < 0.25 * zeros.sum(axis=(1, 2))).all()


def test_broken_strokes_lose_thin_bands_of_ink_and_fall_into_more_pieces(digits):
    images, _ = digits
    sample = images[:100]
    cut = rd.broken(sample, np.random.default_rng(0))
    lost = 1 - cut.sum(axis=(1, 2)) / sample.sum(axis=(1, 2))
    assert (cut <= sample + 1e-6).all()  # ink is only taken away
    assert (lost > 0.02).all() and np.median(lost) < 0.25
    pieces_before = np.array([components(c) for c in sample])
    pieces_after = np.array([components(c) for c in cut])
    assert (pieces_after > pieces_before).mean() > 0.5


def test_slanting_leans_digits_both_ways_up_to_25_degrees(digits):
    ones = of_digit(digits, 1)
    leaned = rd.slanted(ones, np.random.default_rng(0))
    changes = np.array([slant(b) - slant(a) for a, b in zip(ones, leaned)])
    assert changes.min() < -0.15 and changes.max() > 0.15 and np.abs(changes).max() < np.tan(np.deg2rad(27))


def test_reader_split_holds_every_digit_styled_copies_and_negatives_and_is_seeded(digits, mnist):
    images, labels = mnist.train_images[:300], mnist.train_labels[:300]
    mix = rd.ReaderDataMix()
    split = rd.reader_split(images, labels, np.random.default_rng(5), mix)
    again = rd.reader_split(images, labels, np.random.default_rng(5), mix)
    other = rd.reader_split(images, labels, np.random.default_rng(6), mix)
    assert np.array_equal(split.images, again.images) and np.array_equal(split.labels, again.labels)
    assert not np.array_equal(split.images, other.images)
    assert split.images.shape[1] == 784 and split.images.dtype == np.float32
    assert 0 <= split.images.min() and split.images.max() <= 1
    assert (split.labels < 10).sum() == 300 + int(mix.styled * 300)
    assert (split.labels == rd.NOT_A_DIGIT).sum() >= 0.2 * 300
