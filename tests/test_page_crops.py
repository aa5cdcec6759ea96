"""reading.page_crops: the reader's own candidate digits, cut from pages of training digits and labelled."""

import numpy as np

from digitnet.reading import page_crops
from digitnet.reading.reader_data import NOT_A_DIGIT
from digitnet.reading.synthetic import make_page


def test_on_a_clean_page_each_written_digit_is_one_candidate_with_its_label(mnist):
    images, labels = mnist.train_images[:2000], mnist.train_labels[:2000]
    for seed in range(5):
        page = make_page("clean", np.random.default_rng(seed), images, labels)
        inputs, targets, boxes = page_crops.labelled_candidates(page, deslant=True)
        assert inputs.shape == (len(targets), 28, 28) and inputs.dtype == np.float32 and boxes.shape == (len(targets), 4)
        digits = targets[targets != NOT_A_DIGIT]
        assert "".join(map(str, digits)) == page.text  # candidates come in reading order


def test_two_touching_digits_taken_as_one_are_not_a_digit(mnist):
    images, labels = mnist.train_images[:2000], mnist.train_labels[:2000]
    pairs_seen = 0
    for seed in range(5):
        page = make_page("touching_pair", np.random.default_rng(seed), images, labels)
        _, targets, boxes = page_crops.labelled_candidates(page, deslant=True)
        assert set(targets) <= {int(d) for d in page.text} | {NOT_A_DIGIT}
        (a, b) = page.boxes
        both = (boxes[:, 0] <= min(a[0], b[0]) + 2) & (boxes[:, 2] >= max(a[2], b[2]) - 2)
        assert (targets[both] == NOT_A_DIGIT).all()
        pairs_seen += both.any()
    assert pairs_seen >= 3  # (a pair wider than lattice.MAX_WIDTH digit heights and not one piece is no candidate)


def test_page_crops_are_seeded_and_the_same_whatever_the_workers(mnist, monkeypatch):
    monkeypatch.setattr(page_crops, "PAGES_PER_TASK", 3)
    images, labels = mnist.train_images[:2000], mnist.train_labels[:2000]
    one = page_crops.page_crops(images, labels, np.random.default_rng(4), 7, True, workers=1)
    two = page_crops.page_crops(images, labels, np.random.default_rng(4), 7, True, workers=2)
    other = page_crops.page_crops(images, labels, np.random.default_rng(5), 7, True, workers=1)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert one[0].shape == (len(one[1]), 784) and not np.array_equal(one[1], other[1])
    assert (one[1] == NOT_A_DIGIT).any() and (one[1] < NOT_A_DIGIT).any()
