"""Hostile images: every format's byte-flip mutants, files that are not files, files too large.

Each ends as an ImageError (one line) or a reading; nothing is printed on stderr, nothing hangs.
"""

import os
import warnings

import numpy as np
import pytest

from digitnet.errors import ImageError
from digitnet.reading.load import MAX_FILE_BYTES, grey_levels, load_image
from tests.hostile.running import run_cli
from tests.hostile.inputs import IMAGE_FORMATS, byte_flip_mutants, digit_page, encoded

MUTANTS_PER_FORMAT = 300
READ_WHOLLY = 10  # of each format's mutants that load, this many go through the whole reading too


@pytest.mark.parametrize("fmt", sorted(IMAGE_FORMATS))
def test_byte_flip_mutants_of_every_format_load_or_raise_one_line_image_errors(fmt, model, capfd, count_mutants):
    from digitnet.reading import read_digits

    rng = np.random.default_rng(sorted(IMAGE_FORMATS).index(fmt))
    refused, read_wholly = 0, 0
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        for mutant in byte_flip_mutants(encoded(digit_page(), fmt), MUTANTS_PER_FORMAT, rng):
            try:
                grey_levels(load_image(mutant, "mutant"))
                if read_wholly < READ_WHOLLY:
                    read_digits(mutant, model, name="mutant")
                    read_wholly += 1
            except ImageError as e:
                assert "\n" not in str(e) and str(e).startswith("mutant: ")
                refused += 1
    assert refused > 0  # the mutants do hit the decoders' error paths
    count_mutants(MUTANTS_PER_FORMAT)
    assert [str(w.message) for w in warned] == []  # no Pillow or NumPy warning
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == "", captured.err[:500]  # nor libtiff's, written by C


def test_a_symlink_to_dev_zero_is_refused_without_reading_it(tmp_path):
    link = tmp_path / "zero.png"
    link.symlink_to("/dev/zero")
    run_cli("predict", str(link)).assert_clean_error(2, "not a regular file")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "f.png"
    os.mkfifo(fifo)
    run_cli("predict", str(fifo)).assert_clean_error(2, "not a regular file")


def test_a_file_over_the_byte_cap_is_refused_before_decoding(tmp_path):
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.write(encoded(digit_page(), "PNG"))
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    run_cli("predict", str(big)).assert_clean_error(2, f"{MAX_FILE_BYTES:,} bytes")


def test_bytes_over_the_cap_are_refused():
    with pytest.raises(ImageError, match="above the limit"):
        load_image(b"\x89PNG" + bytes(MAX_FILE_BYTES))


@pytest.mark.parametrize("mode", ["LAB", "YCbCr", "CMYK", "I;16", "F"])
def test_every_colour_mode_tiff_is_read_or_refused_in_one_line(mode, model):
    from PIL import Image

    from digitnet.reading import read_digits

    try:
        read_digits(encoded(Image.new(mode, (64, 48)), "TIFF"), model)
    except ImageError as e:
        assert "\n" not in str(e)


def test_an_image_of_nan_samples_reads_without_a_numpy_warning(model, capfd):
    from PIL import Image

    from digitnet.reading import read_digits

    nan_page = Image.fromarray(np.full((48, 64), np.nan, np.float32), "F")
    assert read_digits(encoded(nan_page, "TIFF"), model).digits == []
    assert capfd.readouterr().err == ""


def test_a_corrupt_avif_on_the_command_line_is_exit_2_in_one_line(tmp_path):
    data = bytearray(encoded(digit_page(), "AVIF"))
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    (tmp_path / "bad.avif").write_bytes(bytes(data))
    run_cli("predict", str(tmp_path / "bad.avif")).assert_clean_error(2, "bad.avif")


@pytest.fixture(scope="module")
def pages_at_the_pixel_limit(tmp_path_factory):
    """``digitnet predict`` on blank pages of MAX_PIXELS in the modes that cost the most memory
    (a few KB as PNG each), all run at once."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from digitnet.reading.load import MAX_PIXELS

    width = 8000
    size = (width, MAX_PIXELS // width)
    pages = {"RGBA": (255, 255, 255, 0), "I;16": 65535, "RGB": "white"}
    directory = tmp_path_factory.mktemp("pixel-limit")
    with ThreadPoolExecutor(len(pages)) as pool:
        runs = {}
        for mode, colour in pages.items():
            path = directory / f"{mode.replace(';', '')}.png"
            Image.new(mode, size, colour).save(path, compress_level=1)
            runs[mode] = pool.submit(run_cli, "predict", str(path))
        return {mode: run.result() for mode, run in runs.items()}


@pytest.mark.parametrize("mode", ["RGBA", "I;16", "RGB"])
def test_a_page_at_the_pixel_limit_reads_within_the_memory_budget(pages_at_the_pixel_limit, mode):
    ended = pages_at_the_pixel_limit[mode]
    assert ended.returncode == 0 and ended.stdout.strip().endswith("no digits found"), ended.stderr
    ended.assert_in_budget()
