"""Sweeps: learning-rate and epoch sweeps on a small subset, parallel = serial, divergence, results files."""

import csv
import json
import math

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.errors import StudyError
from digitnet.study import (DataSpec, LearningRateSweep, epoch_sweep, learning_rate_sweep, load_run_history,
                            load_sweep, sweep_from_dict, sweep_to_dict, worse_than_guessing)
from digitnet.training import TrainingConfig

SMALL = DataSpec(validation_size=1000, subset=1500)
BASE = TrainingConfig(epochs=1)
RATES = (0.05, 1e5)  # a good rate and one whose loss blows up within a few steps


def measurements(sweep) -> list[dict]:
    """Everything a sweep measured, without the wall-clock times that differ between runs."""
    runs = sweep_to_dict(sweep)["runs"]
    for run in runs:
        del run["seconds"]
        for epoch in run["history"]:
            del epoch["seconds"]
    return runs


@pytest.fixture(scope="module")
def serial_sweep() -> LearningRateSweep:
    return learning_rate_sweep(BASE, RATES, seeds=2, data=SMALL, jobs=1)


def test_learning_rate_sweep_trains_every_rate_with_every_seed(serial_sweep):
    assert [(o.config.learning_rate, o.config.seed) for o in serial_sweep.outcomes] == \
        [(0.05, 0), (0.05, 1), (1e5, 0), (1e5, 1)]
    assert serial_sweep.rates.tolist() == [0.05, 1e5]
    good = serial_sweep.outcomes[:2]
    assert all(o.training_images == 1500 and len(o.history) == 1 and not o.diverged for o in good)
    assert all(0.1 < o.train_loss < 1.5 and 0.6 < o.validation_accuracy <= 1 for o in good)
    assert good[0].validation_loss == pytest.approx(good[0].history[-1].validation_loss)
    assert good[0].train_loss != good[1].train_loss  # the seeds differ
    band = serial_sweep.band("validation_loss")
    assert band.low[0] <= band.mean[0] <= band.high[0] and band.low[0] < band.high[0]


def test_a_diverging_rate_is_reported_as_diverged_not_raised(serial_sweep):
    diverged = serial_sweep.outcomes[2:]
    assert all("too high" in o.diverged and math.isnan(o.validation_loss) for o in diverged)
    assert serial_sweep.diverged_mask().tolist() == [[False, True], [False, True]]
    assert serial_sweep.chosen_rate == 0.05


def test_a_network_worse_than_a_uniform_guess_counts_as_diverged():
    assert "uniform guess" in worse_than_guessing(2.5, TrainingConfig(learning_rate=5.0))
    assert worse_than_guessing(math.log(10) - 0.01, TrainingConfig()) == ""


def test_a_parallel_sweep_equals_the_serial_sweep(serial_sweep):
    parallel = learning_rate_sweep(BASE, RATES, seeds=2, data=SMALL, jobs=2)
    assert measurements(parallel) == measurements(serial_sweep)


def test_epoch_sweep_measures_every_epoch_and_marks_the_best():
    sweep = epoch_sweep(TrainingConfig(epochs=3, learning_rate=0.1), seeds=1, data=SMALL)
    losses = sweep.values("validation_loss")
    assert sweep.epochs.tolist() == [1, 2, 3] and losses.shape == (1, 3)
    assert sweep.best_epoch == int(np.argmin(losses[0])) + 1
    assert len(sweep.table_rows()) == 3


def test_a_sweep_survives_its_json_record(serial_sweep):
    record = json.loads(json.dumps(sweep_to_dict(serial_sweep)))
    assert sweep_to_dict(sweep_from_dict(record)) == sweep_to_dict(serial_sweep)


@pytest.mark.parametrize("text", ["{", '{"kind": "pizza"}', '{"kind": "epoch-sweep", "data": {}}', "[]",
                                  '{"kind": "epoch-sweep", "data": {}, "runs": []}',
                                  pytest.param('{"runs": ' + "[" * 100_000 + "]" * 100_000 + "}", id="deeply-nested")])
def test_a_malformed_sweep_file_is_a_study_error(tmp_path, text):
    path = tmp_path / "sweep.json"
    path.write_text(text)
    with pytest.raises(StudyError, match="sweep.json"):
        load_sweep(path)


def test_run_history_is_found_beside_the_model_or_read_directly(tmp_path):
    history = {"recipe": TrainingConfig().to_dict(),
               "history": [{"epoch": 1, "train_loss": 0.3, "validation_loss": None, "validation_accuracy": None,
                            "test_accuracy": 0.9, "seconds": 1.0}]}
    (tmp_path / "run.history.json").write_text(json.dumps(history))
    for path in (tmp_path / "run.npz", tmp_path / "run.history.json"):
        recipe, records = load_run_history(path)
        assert recipe["learning_rate"] == 0.1 and records[0].test_accuracy == 0.9
        assert math.isnan(records[0].validation_loss)
    with pytest.raises(StudyError, match="no such history file"):
        load_run_history(tmp_path / "other.npz")
    (tmp_path / "bare.history.json").write_text(json.dumps({**history, "recipe": {"epochs": 1}}))
    with pytest.raises(StudyError, match="does not say its layer_sizes, learning_rate"):
        load_run_history(tmp_path / "bare.npz")


def test_a_single_training_reports_its_epochs_unless_quiet(tmp_path, capsys):
    assert main(["sweep", "epochs", "--epochs", "2", "--subset", "500", "--validation", "500",
                 "--out", str(tmp_path)]) == 0
    progress = capsys.readouterr().err
    assert "epoch 1/2" in progress and "epoch 2/2" in progress


def test_sweep_lr_command_writes_results_table_and_figure(tmp_path, capsys):
    code = main(["sweep", "lr", "--rates", "0.05", "1e5", "--seeds", "2", "--epochs", "1", "--subset", "1500",
                 "--validation", "1000", "--jobs", "2", "--out", str(tmp_path), "--quiet", "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["kind"] == "learning-rate-sweep" and printed["chosen_learning_rate"] == 0.05
    rows = list(csv.DictReader((tmp_path / "learning-rate-sweep.csv").open()))
    assert [(r["learning_rate"], r["seed"], bool(r["diverged"])) for r in rows] == \
        [("0.05", "0", False), ("0.05", "1", False), ("100000.0", "0", True), ("100000.0", "1", True)]
    assert load_sweep(tmp_path / "learning-rate-sweep.json").chosen_rate == 0.05
    assert (tmp_path / "learning-rate-sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_epochs_command_prints_the_best_epoch(tmp_path, capsys):
    code = main(["sweep", "epochs", "--epochs", "2", "--subset", "1500", "--validation", "1000",
                 "--out", str(tmp_path), "--format", "svg", "--quiet"])
    assert code == 0
    assert "best validation loss" in capsys.readouterr().out
    assert (tmp_path / "epoch-sweep.svg").read_text().lstrip().startswith("<?xml")
    assert len(list(csv.DictReader((tmp_path / "epoch-sweep.csv").open()))) == 2


def test_dask_backend_without_a_scheduler_is_one_line_error(tmp_path, capsys):
    code = main(["sweep", "lr", "--rates", "0.1", "--backend", "dask", "--out", str(tmp_path), "--quiet"])
    assert code == 2
    assert "--scheduler" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_subset_larger_than_the_training_images_is_one_line_error(tmp_path, capsys):
    code = main(["sweep", "lr", "--rates", "0.1", "--subset", "59000", "--out", str(tmp_path), "--quiet"])
    assert code == 2
    assert "more than the 55000 training images" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_a_study_error(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("digitnet.study.SCHEDULER_TIMEOUT_S", 1)
    with pytest.raises(StudyError, match="could not reach the Dask scheduler"):
        learning_rate_sweep(BASE, (0.1,), seeds=1, data=SMALL, jobs=2, backend="dask", scheduler="tcp://127.0.0.1:9")


@pytest.mark.slow
def test_the_dask_backend_runs_a_sweep_on_a_local_cluster_and_equals_serial(serial_sweep):
    distributed = pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_cluster = learning_rate_sweep(BASE, RATES, seeds=2, data=SMALL, jobs=2, backend="dask",
                                         scheduler=cluster.scheduler_address)
        assert any("train_one" in prefix for prefix in cluster.scheduler.task_prefixes)  # ran there, not here
    assert measurements(on_cluster) == measurements(serial_sweep)
