"""Hostile history and sweep files (``plot history``, ``plot sweep``): a FIFO, deep nesting, rows
of the wrong type. Each is one StudyError, never a wait or a traceback. (A deeply nested sweep
file is among test_study's malformed sweep files.)"""

import json
import os

import pytest

from digitnet.errors import StudyError
from digitnet.study import load_run_history, load_sweep

ROW = {"epoch": 1, "train_loss": 0.5, "validation_loss": None, "validation_accuracy": None,
       "test_accuracy": 0.9, "seconds": 1.0}
RECIPE = {"layer_sizes": [784, 10], "learning_rate": 0.1, "batch_size": 32, "seed": 0}

HISTORIES = {
    "deep_nesting": ("[" * 100_000 + "]" * 100_000, "not a training history"),
    "a_list": (json.dumps([ROW]), "not a training history"),
    "rows_of_strings": (json.dumps({"recipe": RECIPE, "history": [{**ROW, "train_loss": "low"}]}), "epoch records"),
    "rows_missing_a_field": (json.dumps({"recipe": RECIPE, "history": [{"epoch": 1}]}), "epoch records"),
    "not_utf8": (b"\xff\xfe{", "not a training history"),
}


@pytest.mark.parametrize("kind", sorted(HISTORIES))
def test_a_damaged_history_file_is_one_study_error(kind, tmp_path):
    content, words = HISTORIES[kind]
    path = tmp_path / "run.history.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(StudyError, match=words) as caught:
        load_run_history(path)
    assert "\n" not in str(caught.value)


def test_a_good_history_file_loads(tmp_path):
    path = tmp_path / "run.history.json"
    path.write_text(json.dumps({"recipe": RECIPE, "history": [ROW]}))
    assert load_run_history(path)[1][0].test_accuracy == 0.9


@pytest.mark.parametrize("load", [load_run_history, load_sweep])
def test_a_fifo_for_a_results_file_is_refused_without_waiting(load, tmp_path):
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    with pytest.raises(StudyError, match="not a regular file"):
        load(fifo)

