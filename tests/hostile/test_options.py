"""Hostile output paths for figures: a path that cannot be written is one line, exit 2."""

from tests.hostile.running import run_cli


def test_a_figure_into_proc_is_a_one_line_error():
    run_cli("plot", "weights", "--out", "/proc/p.png").assert_clean_error(2, "cannot write /proc/p.png")


def test_a_figure_onto_a_directory_is_a_one_line_error(tmp_path):
    (tmp_path / "figure.png").mkdir()
    run_cli("plot", "weights", "--out", str(tmp_path / "figure.png")).assert_clean_error(2, "not a file to write")
