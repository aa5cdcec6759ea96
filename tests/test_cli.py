"""The command line as a user meets it: exit codes, one-line errors, and the train/evaluate/info flow."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from digitnet.modelfile import load_model


def digitnet(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "digitnet", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def assert_one_line_error(result, *fragments):
    """Exit status 2 and the error on one line, last, with no traceback (progress lines may precede it)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if "error:" in line] == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[-1]


@pytest.mark.parametrize("args,fragment", [
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--learning-rate", "-1"], "positive number"),
    (["train", "--batch-size", "abc"], "positive integer"),
    (["train", "--hidden"], "--hidden"),
    (["train", "--no-such-flag"], "unrecognized arguments"),
    (["evaluate", "--json", "extra"], "unrecognized"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_flags_give_one_line_errors(args, fragment):
    assert_one_line_error(digitnet(*args), fragment)


def test_no_command_is_a_usage_error():
    assert digitnet().returncode == 2


@pytest.mark.parametrize("command", ["info", "evaluate"])
def test_missing_and_malformed_model_files_give_one_line_errors(tmp_path, command):
    assert_one_line_error(digitnet(command, "--model", tmp_path / "missing.npz"), "no such model file")
    (tmp_path / "junk.npz").write_text("not a model")
    assert_one_line_error(digitnet(command, "--model", tmp_path / "junk.npz"), "junk.npz")


def test_a_data_dir_without_idx_files_gives_a_one_line_error(tmp_path):
    assert_one_line_error(digitnet("train", "--epochs", "1", "--data-dir", tmp_path, "--out", tmp_path / "m.npz"),
                          "train-images-idx3-ubyte")
    assert not (tmp_path / "m.npz").exists()


def test_train_then_info_and_evaluate_describe_the_same_model(tiny_mnist_dir, tmp_path):
    out = tmp_path / "run" / "model.npz"
    result = digitnet("train", "--epochs", "2", "--hidden", "32", "--validation", "500", "--seed", "3",
                      "--data-dir", tiny_mnist_dir, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "epoch 2/2" in result.stderr and "val acc" in result.stderr
    model = load_model(out)
    assert model.metadata["layer_sizes"] == [784, 32, 10]
    assert model.metadata["recipe"]["seed"] == 3 and model.metadata["recipe"]["validation_size"] == 500
    history = json.loads((tmp_path / "run" / "model.history.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [1, 2]

    info = json.loads(digitnet("info", "--model", out, "--json").stdout)
    assert info["metrics"]["test_accuracy"] == model.metadata["metrics"]["test_accuracy"]
    evaluation = json.loads(digitnet("evaluate", "--model", out, "--json", "--data-dir", tiny_mnist_dir).stdout)
    assert evaluation["accuracy"] == pytest.approx(model.metadata["metrics"]["test_accuracy"])
    assert np.array(evaluation["confusion_matrix"]).sum() == 1000


def test_divergence_exits_non_zero_and_writes_no_model(tiny_mnist_dir, tmp_path):
    result = digitnet("train", "--epochs", "1", "--learning-rate", "1e4", "--validation", "500",
                      "--data-dir", tiny_mnist_dir, "--out", tmp_path / "m.npz")
    assert_one_line_error(result, "the learning rate 10000 is too high")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.slow
def test_ctrl_c_writes_a_checkpoint_and_resume_matches_an_uninterrupted_run(tiny_mnist_dir, tmp_path):
    common = ["--epochs", "40", "--hidden", "16", "--validation", "0", "--seed", "5", "--data-dir", tiny_mnist_dir,
              "--quiet", "--threads", "2"]
    straight = digitnet("train", *common, "--out", tmp_path / "straight.npz", timeout=300)
    assert straight.returncode == 0, straight.stderr

    out = tmp_path / "resumed.npz"
    process = subprocess.Popen([sys.executable, "-m", "digitnet", "train", *map(str, common), "--out", str(out)],
                               stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # wait until training is under way
        if line.startswith("epoch"):
            break
    process.send_signal(signal.SIGINT)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 130, stderr
    checkpoint = tmp_path / "resumed.ckpt.npz"
    assert checkpoint.is_file() and "resume with" in stderr and not out.exists()

    resumed = digitnet("train", "--resume", checkpoint, "--quiet", timeout=300)  # the checkpoint knows its data
    assert resumed.returncode == 0, resumed.stderr
    assert not checkpoint.exists()
    assert load_model(out).metadata["blas_threads"] == 2  # and its thread count
    for ours, theirs in zip(load_model(out).network.parameters, load_model(tmp_path / "straight.npz").network.parameters):
        assert np.array_equal(ours, theirs)
