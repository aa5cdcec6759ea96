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


@pytest.mark.parametrize("args,prog", [
    (["evaluate", "--json", "extra"], "digitnet evaluate"),
    (["plot", "weights", "--out", "w.png", "extra"], "digitnet plot weights"),
    (["predict", "--min-confidence", "2", "a.png"], "digitnet predict"),
])
def test_usage_errors_name_the_subcommand_and_point_to_its_help(args, prog):
    result = digitnet(*args)
    assert_one_line_error(result)
    assert result.stderr.startswith(f"{prog}: error: ") and result.stderr.rstrip().endswith(f"(see {prog} --help)")


def test_errors_while_running_name_the_subcommand(tmp_path):
    assert digitnet("info", "--model", tmp_path / "missing.npz").stderr.startswith("digitnet info: error: ")


@pytest.mark.parametrize("command", ["train", "evaluate", "info", "sweep", "plot", "predict", "serve"])
def test_every_subcommand_help_says_what_it_does(command):
    from digitnet.cli import build_parser

    subcommands = next(a for a in build_parser()._actions if a.dest == "command")
    assert len(subcommands.choices[command].description or "") > 40


def test_a_control_character_in_a_bad_argument_is_escaped(tmp_path):
    result = digitnet("info", "--model", "m\x1b[2J\n.npz")
    assert_one_line_error(result)
    assert "\x1b" not in result.stderr and "m\\x1b[2J\\n.npz" in result.stderr


def test_evaluating_a_model_on_data_it_was_not_trained_on_warns(tiny_mnist_dir):
    result = digitnet("evaluate", "--data-dir", tiny_mnist_dir, "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["accuracy"] > 0.9
    assert result.stderr.startswith("digitnet evaluate: warning: the model was trained on another dataset")


def test_the_warning_compares_the_checksum_the_model_records():
    from types import SimpleNamespace

    from digitnet.cli.evaluate_command import other_dataset_warning

    data = SimpleNamespace(sha256="ab" * 32, source="IDX files in /data/fashion")
    assert other_dataset_warning({"data": {"sha256": "ab" * 32, "source": "x"}}, data) is None
    assert other_dataset_warning({}, data) is None
    assert "/data/fashion" in other_dataset_warning({"data": {"sha256": "cd" * 32, "source": "the cache"}}, data)


def test_info_columns_stay_aligned_whatever_the_key_length():
    from digitnet.cli.info_command import format_rows

    lines = format_rows([("a", 1), ("calibration.a_very_long_key_name_indeed", "x"), ("model file", "m.npz")])
    assert len({line.index(value) for line, value in zip(lines.splitlines(), ("1", "x", "m.npz"))}) == 1


def test_sweep_progress_writes_no_carriage_returns_into_a_log(tiny_mnist_dir, tmp_path):
    result = digitnet("sweep", "lr", "--rates", "0.1", "0.2", "--epochs", "1", "--subset", "500",
                      "--validation", "500", "--jobs", "1", "--data-dir", tiny_mnist_dir, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr
