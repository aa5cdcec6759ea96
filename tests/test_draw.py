"""The annotated picture: every label sized to its digit, and none covering a digit or another label."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from digitnet.reading.draw import LABEL_HEIGHT_FRACTION, MIN_LABEL_PX, annotate, line_width, place_labels
from digitnet.reading.read import DigitReading, Reading


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grown(box):
    w = line_width(box)
    return box[0] - w, box[1] - w, box[2] + w, box[3] + w


def assert_labels_clear(boxes, labels, size):
    width, height = size
    for i, label in enumerate(labels):
        x0, y0, x1, y1 = label.rect
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1, label
        assert y1 <= height or y0 > height, "a label is inside the image or wholly in the strip under it"
        assert not any(_overlap(label.rect, _grown(box)) for box in boxes), label
        assert not any(_overlap(label.rect, other.rect) for other in labels[i + 1:]), label


boxes_on_a_page = st.lists(st.tuples(st.integers(0, 560), st.integers(0, 360), st.integers(8, 80), st.integers(12, 90)),
                           max_size=25).map(lambda rows: [(x, y, x + w, y + h) for x, y, w, h in rows])


@settings(max_examples=60, deadline=None)
@given(boxes_on_a_page)
def test_labels_never_cover_a_digit_or_each_other(boxes):
    labels = place_labels(boxes, ["7 100%"] * len(boxes), (640, 450))
    assert len(labels) == len(boxes)
    assert_labels_clear(boxes, labels, (640, 450))


def test_a_lone_digit_gets_a_label_sized_to_it_above_its_box():
    for height in (20, 100, 1500):
        box = (1000, 2000, 1000 + height // 2, 2000 + height)
        (label,) = place_labels([box], ["3 99%"], (4000, 3000))
        assert label.font_size == max(MIN_LABEL_PX, round(LABEL_HEIGHT_FRACTION * height))
        assert label.rect[3] <= box[1], "above the box"


def test_digits_packed_edge_to_edge_in_a_full_page_still_get_clear_labels():
    boxes = [(x, y, x + 30, y + 40) for y in range(0, 400, 40) for x in range(0, 300, 30)]
    labels = place_labels(boxes, ["8 100%"] * len(boxes), (300, 400))
    assert_labels_clear(boxes, labels, (300, 400))
    assert all(label.rect[1] > 400 for label in labels), "no room on the page: all in the strip"


def _reading(boxes) -> Reading:
    digits = [DigitReading(digit=7, confidence=0.99, box=box, probabilities=np.full(10, 0.1, np.float32),
                           network_input=np.zeros((28, 28), np.float32), row=0) for box in boxes]
    return Reading(digits=digits)


def test_a_4000_by_3000_photo_gets_labels_in_proportion_to_its_digits():
    boxes = [(400, 1000, 1000, 2000), (1100, 1000, 1700, 2000)]
    annotated = annotate(Image.new("RGB", (4000, 3000), "white"), _reading(boxes))
    assert annotated.size == (4000, 3000)
    red = np.all(np.asarray(annotated) == (230, 40, 40), axis=2)
    rows = np.flatnonzero(red[:1000].any(axis=1))  # the labels above the boxes
    label_height = rows.max() - rows.min() + 1
    assert 0.2 * 1000 <= label_height <= 0.5 * 1000


def test_a_tiny_image_grows_to_hold_its_label_whole():
    annotated = annotate(Image.new("L", (12, 16), 255), _reading([(2, 2, 10, 14)]))
    assert annotated.width > 12 and annotated.height > 16
    red = np.all(np.asarray(annotated) == (230, 40, 40), axis=2)
    assert red[16:].any(), "the label is in the strip under the image"
