"""Hostile IDX data: an empty set, a gzip bomb, headers whose sizes overflow. Each ends in one
DataError line (exit 2 on the CLI), decompressing no more than the header declares."""

import gzip
import struct

import numpy as np
import pytest

from digitnet.errors import DataError
from digitnet.idx import MAX_IDX_BYTES, read_idx, write_idx
from tests.hostile.running import run_cli

TRAIN_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_STEMS = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_dir(directory, test_images_file: str = "t10k-images-idx3-ubyte", test_images: bytes | None = None,
            test_count: int = 5):
    """An IDX data directory of blank images; the test images' file replaced by ``test_images``."""
    write_idx(directory / TRAIN_STEMS[0], np.zeros((5, 28, 28), np.uint8))
    write_idx(directory / TRAIN_STEMS[1], np.zeros(5, np.uint8))
    write_idx(directory / TEST_STEMS[1], np.zeros(test_count, np.uint8))
    if test_images is None:
        write_idx(directory / test_images_file, np.zeros((test_count, 28, 28), np.uint8))
    else:
        (directory / test_images_file).write_bytes(test_images)
    return directory


def header(*shape: int) -> bytes:
    return bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def gzip_bomb(data_header: bytes, mebibytes: int) -> bytes:
    """``data_header`` followed by ``mebibytes`` MiB of zeros, as a gzip stream of one member per
    MiB (gzip reads them on as one stream): about 1,000 to 1, made in milliseconds."""
    return gzip.compress(data_header) + gzip.compress(bytes(2**20), compresslevel=9) * mebibytes


def test_an_idx_test_set_of_zero_images_is_a_clean_error(tmp_path):
    run_cli("evaluate", "--data-dir", str(idx_dir(tmp_path, test_count=0))).assert_clean_error(2, "0 test images")


def test_a_gzip_bomb_is_refused_without_decompressing_it(tmp_path):
    bomb = gzip_bomb(header(5, 28, 28), 4096)  # 4 GiB of zeros after an honest header, in 4 MB
    assert len(bomb) < 5 * 2**20
    directory = idx_dir(tmp_path, "t10k-images-idx3-ubyte.gz", bomb)
    (directory / "t10k-images-idx3-ubyte").unlink(missing_ok=True)
    run_cli("evaluate", "--data-dir", str(directory)).assert_clean_error(2, "trailing bytes")


def test_a_header_declaring_more_than_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header(70_000, 64, 64)))
    with pytest.raises(DataError, match=f"the limit is {MAX_IDX_BYTES:,} bytes"):
        read_idx(path)


def test_four_huge_dimensions_give_their_true_size_not_an_overflow(tmp_path):
    path = tmp_path / "overflow-idx4-ubyte"
    path.write_bytes(header(2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1))
    with pytest.raises(DataError) as caught:
        read_idx(path)
    assert f"{(2**32 - 1) ** 4:,} bytes" in str(caught.value) and "-" not in str(caught.value).split("=")[1]


def test_a_fifo_as_an_idx_file_is_refused_without_waiting(tmp_path):
    import os

    directory = idx_dir(tmp_path)
    (directory / TEST_STEMS[0]).unlink()
    os.mkfifo(directory / TEST_STEMS[0])
    with pytest.raises(DataError, match="not a regular file"):
        read_idx(directory / TEST_STEMS[0])
