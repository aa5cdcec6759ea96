"""digitnet train never loses work: bad outputs and options are refused before training, in one line,
and a signal at any moment leaves the finished model or a checkpoint."""

import os
import signal
import subprocess
import sys

import pytest

from digitnet.atomic import replaced_atomically, temporary_path
from digitnet.cli import main
from digitnet.modelfile import load_model, shipped_model_path
from test_cli import assert_one_line_error, digitnet

QUICK = ["--epochs", "2", "--hidden", "16", "--validation", "300", "--quiet"]


def refused_before_training(capsys, args, *fragments):
    """Run ``digitnet train ARGS`` in this process; it must fail in one line before loading any data."""
    code = main(["train", *map(str, args)])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("digitnet train: error: "), stderr
    for fragment in fragments:
        assert fragment in stderr
    assert "training 784" not in stderr  # the check came before the data was even loaded


def under_a_file(tmp):
    (tmp / "file.npz").write_bytes(b"x")
    return tmp / "file.npz" / "m.npz"


def history_is_a_directory(tmp):
    (tmp / "m.history.json").mkdir()
    return tmp / "m.npz"


@pytest.mark.parametrize("make_out,fragment", [
    (lambda tmp: tmp, "is a directory"),
    (under_a_file, "is not a directory"),
    (lambda tmp: "/proc/m.npz", "cannot write in /proc"),
    (lambda tmp: "/dev/null", "is not a regular file"),
    (history_is_a_directory, "m.history.json is a directory"),
    (lambda tmp: shipped_model_path("seed"), "--overwrite-shipped"),
])
def test_an_output_that_cannot_be_written_is_refused_before_training(capsys, tmp_path, make_out, fragment):
    refused_before_training(capsys, [*QUICK, "--out", make_out(tmp_path)], fragment)


@pytest.mark.parametrize("flags,named", [
    (["--learning-rate", "0.5"], "--learning-rate"),
    (["--batch-size", "8", "--seed", "2"], "--batch-size, --seed"),
    (["--recipe", "best"], "--recipe"),
    (["--activation", "tanh"], "--activation"),
])
def test_resume_refuses_every_option_the_checkpoint_fixes_by_name(capsys, tmp_path, flags, named):
    refused_before_training(capsys, ["--resume", tmp_path / "x.ckpt.npz", *flags], f"it cannot take {named}")


@pytest.mark.parametrize("toml,fragment", [
    ("seed = -1", "seed must be an integer >= 0, got -1"),
    ("batch_size = 1e9", "batch_size must be an integer, got 1000000000.0"),
    ('epochs = "many"', "epochs must be an integer, got 'many'"),
    ("schedule = 3", "schedule must be a table of settings"),
    ("validation_size = 1.5", "validation_size must be an integer"),
])
def test_a_recipe_file_of_the_wrong_types_names_the_field(capsys, tmp_path, toml, fragment):
    recipe = tmp_path / "r.toml"
    recipe.write_text(toml + "\n")
    refused_before_training(capsys, ["--recipe", recipe, "--out", tmp_path / "m.npz"], fragment)


@pytest.mark.parametrize("flags,fragment", [
    (["--batch-size", "100000000"], "GiB, more than the 8 GiB allowed"),
    (["--hidden", "100000", "100000"], "784-100000-100000-10 network"),
    (["--activation", "softplus"], "activation must be one of relu, leaky_relu, tanh, sigmoid"),
    (["--trainer", "turbo"], "trainer must be one of fast, reference"),
])
def test_options_too_big_or_unknown_are_refused_before_anything_is_allocated(capsys, tmp_path, flags, fragment):
    refused_before_training(capsys, [*flags, "--out", tmp_path / "m.npz"], fragment)


@pytest.mark.parametrize("target,fragment", [("/proc/r.toml", "cannot write in /proc"), (".", "is a directory")])
def test_save_recipe_where_it_cannot_be_written_is_one_line(capsys, tmp_path, target, fragment):
    refused_before_training(capsys, ["--save-recipe", target], "--save-recipe", fragment)


def test_a_batch_larger_than_the_training_set_is_one_line(tiny_mnist_dir, tmp_path):
    result = digitnet("train", *QUICK, "--batch-size", "5000", "--data-dir", tiny_mnist_dir, "--out", tmp_path / "m.npz")
    assert_one_line_error(result, "batch size 5000 is larger than the 2700 training images")


def test_the_reference_trainer_reaches_the_fast_trainers_accuracy(tiny_mnist_dir, tmp_path):
    accuracies = {}
    for trainer in ("reference", "fast"):
        out = tmp_path / f"{trainer}.npz"
        result = digitnet("train", *QUICK, "--trainer", trainer, "--activation", "tanh", "--data-dir", tiny_mnist_dir,
                          "--out", out)
        assert result.returncode == 0, result.stderr
        model = load_model(out)
        assert model.network.activation == "tanh" and model.metadata["recipe"]["trainer"] == trainer
        accuracies[trainer] = model.metadata["metrics"]["test_accuracy"]
    assert accuracies["reference"] == pytest.approx(accuracies["fast"], abs=0.002)
    assert accuracies["fast"] > 0.7


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_leaves_a_checkpoint_and_resume_honours_out_and_epochs(tiny_mnist_dir, tmp_path, sig):
    out = tmp_path / "m.npz"
    process = subprocess.Popen([sys.executable, "-m", "digitnet", "train", "--epochs", "30", "--hidden", "16",
                                "--validation", "0", "--quiet", "--data-dir", str(tiny_mnist_dir), "--out", str(out)],
                               stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # wait until training is under way
        if line.startswith("epoch"):
            break
    process.send_signal(sig)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 130, stderr
    checkpoint = tmp_path / "m.ckpt.npz"
    assert checkpoint.is_file() and not out.exists()

    elsewhere = tmp_path / "elsewhere" / "y.npz"
    resumed = digitnet("train", "--resume", checkpoint, "--out", elsewhere, "--epochs", "3", "--quiet", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    model = load_model(elsewhere)
    assert model.metadata["epochs_run"] == 3 and model.metadata["recipe"]["epochs"] == 3
    assert not checkpoint.exists() and not out.exists()


def test_a_temporary_file_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "m.npz"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stray = temporary_path(target, int(dead.stdout))  # a process that has exited
    stray.write_bytes(b"half a model")
    alive = temporary_path(target, os.getppid())  # a process that still runs may be writing it
    alive.write_bytes(b"being written")
    with replaced_atomically(target) as tmp:
        tmp.write_bytes(b"model")
    assert target.read_bytes() == b"model"
    assert not stray.exists() and alive.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, alive.name])
