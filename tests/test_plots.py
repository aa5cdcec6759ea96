"""Figures: every plot command writes a real, non-blank image; plotting stays out of the fast commands."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digitnet.cli import main
from digitnet.cli.options import FIGURE_FORMATS
from digitnet.cli.plot_command import figure_path
from digitnet.errors import DigitnetError
from digitnet.modelfile import Model, save_model
from digitnet.study import DataSpec, LearningRateSweep, load_splits, sweep_to_dict, train_one
from digitnet.training import TrainingConfig, TrainingRun, history_as_dicts, train

TINY = DataSpec(validation_size=500, subset=1000)
SMALL_NETWORK = (784, 16, 10)


def assert_is_a_drawn_png(path, min_side=200, max_side=2500):
    """Opens with Pillow, has a README-sized shape, and shows more than a blank canvas."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert min_side <= min(image.size) and max(image.size) <= max_side, image.size
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert (pixels < 128).mean() > 0.005, "almost nothing dark: blank figure?"
    assert len(np.unique(pixels)) > 20


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 784-16-10 network trained two epochs on 1,000 images, saved with its history like 'digitnet train'."""
    config = TrainingConfig(layer_sizes=SMALL_NETWORK, epochs=2)
    training, validation = load_splits(TINY)
    run = train(TrainingRun.start(config), training, validation)
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    save_model(path, Model(run.network, {"recipe": config.to_dict()}))
    recipe = {**config.to_dict(), "validation_size": TINY.validation_size}
    history = {"recipe": recipe, "history": history_as_dicts(run.history)}
    path.with_name("tiny.history.json").write_text(json.dumps(history))
    return path


@pytest.mark.parametrize("figure", ["confusion", "errors", "weights"])
def test_model_insight_commands_write_a_png(tiny_model, tmp_path, figure, capsys):
    out = tmp_path / f"{figure}.png"
    assert main(["plot", figure, "--model", str(tiny_model), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    assert_is_a_drawn_png(out)


def test_plot_history_reads_the_history_beside_a_model(tiny_model, tmp_path):
    assert main(["plot", "history", str(tiny_model), "--out", str(tmp_path / "history")]) == 0
    assert_is_a_drawn_png(tmp_path / "history.png")


def test_plot_sweep_redraws_a_recorded_sweep(tmp_path):
    outcomes = [train_one(TrainingConfig(layer_sizes=SMALL_NETWORK, epochs=1, learning_rate=rate, seed=seed), TINY)
                for rate in (0.1, 1e5) for seed in (0, 1)]
    results = tmp_path / "sweep.json"
    results.write_text(json.dumps(sweep_to_dict(LearningRateSweep(TINY, outcomes))))
    assert main(["plot", "sweep", str(results), "--out", str(tmp_path / "sweep.png")]) == 0
    assert_is_a_drawn_png(tmp_path / "sweep.png")


@pytest.mark.parametrize("format, magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_other_formats_are_written_on_request(tiny_model, tmp_path, format, magic):
    assert main(["plot", "weights", "--model", str(tiny_model), "--out", str(tmp_path / "w"), "--format", format]) == 0
    assert (tmp_path / f"w.{format}").read_bytes().startswith(magic)


def test_the_figure_path_takes_its_format_from_the_option_or_the_suffix(tmp_path):
    assert figure_path(tmp_path / "a.svg", None) == (tmp_path / "a.svg", "svg")
    assert figure_path(tmp_path / "a", None) == (tmp_path / "a.png", "png")
    assert figure_path(tmp_path / "lr-0.1", "pdf") == (tmp_path / "lr-0.1.pdf", "pdf")
    with pytest.raises(DigitnetError, match="--format"):
        figure_path(tmp_path / "a.png", "svg")


@pytest.mark.parametrize("name", ["h.bmp", "h.jpg", "h.PNG.txt"])
def test_a_figure_named_with_another_extension_is_refused_not_renamed(tmp_path, name):
    with pytest.raises(DigitnetError, match=r"\.png, \.svg, \.pdf"):
        figure_path(tmp_path / name, None)


def test_plot_sweep_of_the_csv_table_says_to_give_the_json(tmp_path, capsys):
    table = tmp_path / "learning-rate-sweep.csv"
    table.write_text("learning_rate,seed\n0.1,0\n")
    assert main(["plot", "sweep", str(table), "--out", str(tmp_path / "s.png")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("digitnet plot sweep: error:") and ".json file that 'digitnet sweep' wrote" in error
    assert "Expecting value" not in error and error.count("\n") == 1


def test_a_missing_history_is_one_line_and_writes_nothing(tmp_path, capsys):
    assert main(["plot", "history", str(tmp_path / "none.npz"), "--out", str(tmp_path / "h.png")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no such history file" in error
    assert not (tmp_path / "h.png").exists()


def test_the_cli_formats_are_those_plots_can_save():
    from digitnet.plots import FORMATS

    assert FIGURE_FORMATS == FORMATS


def test_building_the_cli_does_not_import_matplotlib():
    code = "import sys; from digitnet.cli import build_parser; build_parser(); print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_sweep_legends_sit_outside_the_curves_area(tmp_path):
    from digitnet.plots import sweep_figure
    from digitnet.study import EpochSweep

    outcomes = [train_one(TrainingConfig(layer_sizes=SMALL_NETWORK, epochs=2, learning_rate=rate), TINY)
                for rate in (0.1, 1e5)]
    for sweep in (LearningRateSweep(TINY, outcomes), EpochSweep(TINY, outcomes[:1])):
        figure = sweep_figure(sweep)
        figure.savefig(tmp_path / "f.png")
        (legend,) = figure.legends
        for ax in figure.axes:
            assert ax.get_legend() is None
            assert legend.get_window_extent().y1 <= ax.get_window_extent().y0, "the legend is below the curves"
