"""Hostile output paths for figures: a path that cannot be written is one line, exit 2."""

import pytest

from tests.hostile.conftest import run_cli


@pytest.mark.parametrize("out,words", [("/proc/p.png", "cannot write /proc/p.png"),
                                       ("/dev/null", "not a file to write")])
def test_a_figure_that_cannot_be_written_is_a_one_line_error(out, words):
    run_cli("plot", "weights", "--out", out).assert_clean_error(2, words)
