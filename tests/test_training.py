"""The fit loop: it learns, it stops cleanly on divergence, and a resumed run equals an uninterrupted one."""

import json
import math

import numpy as np
import pytest

from digitnet.data import Split
from digitnet.errors import TrainingError
from digitnet.training import (Reporter, StopRequest, TrainingConfig, TrainingData, TrainingRun, history_path,
                               load_checkpoint, save_checkpoint, save_trained_model, train, train_model)
from digitnet.training.augmentation import Augmentation
from digitnet.training.recipes import Recipe

SMALL = dict(layer_sizes=(784, 32, 16, 10), batch_size=32, learning_rate=0.1)


def test_eight_thousand_real_images_for_two_epochs_exceed_90_percent_validation_accuracy(mnist_small):
    train_split, validation = mnist_small
    run = train(TrainingRun.start(TrainingConfig(epochs=2, learning_rate=0.05, seed=0)), train_split, validation)
    assert len(run.history) == 2 and run.finished
    assert run.history[-1].validation_accuracy > 0.90
    assert run.history[1].train_loss < run.history[0].train_loss
    assert math.isnan(run.history[-1].test_accuracy)


class StopAfter(Reporter):
    """Requests a stop once ``steps`` steps have run, as Ctrl-C would."""

    def __init__(self, stop: StopRequest, steps: int):
        self.stop, self.remaining = stop, steps

    def step_done(self, loss):
        self.remaining -= 1
        if self.remaining == 0:
            self.stop.requested = True


@pytest.mark.parametrize("stop_after_steps", [1, 40, 126])
def test_interrupted_then_resumed_run_ends_with_identical_weights(mnist_small, tmp_path, stop_after_steps):
    train_split, validation = mnist_small
    train_split = type(train_split)(train_split.images[:2000], train_split.labels[:2000])  # 63 steps an epoch
    config = TrainingConfig(epochs=3, seed=7, **SMALL)
    uninterrupted = train(TrainingRun.start(config), train_split, validation)

    stop = StopRequest()
    partial = train(TrainingRun.start(config), train_split, validation, reporter=StopAfter(stop, stop_after_steps),
                    stop=stop)
    assert not partial.finished
    save_checkpoint(tmp_path / "run.ckpt.npz", partial, {"note": "kept"})
    resumed_run, state = load_checkpoint(tmp_path / "run.ckpt.npz")
    assert state["note"] == "kept" and resumed_run.position == partial.position
    resumed = train(resumed_run, train_split, validation)

    for ours, theirs in zip(resumed.network.parameters, uninterrupted.network.parameters):
        assert np.array_equal(ours, theirs)
    assert [r.train_loss for r in resumed.history] == pytest.approx([r.train_loss for r in uninterrupted.history])


class Collect(StopAfter):
    """Records every epoch reported, and (optionally) requests a stop after some steps."""

    def __init__(self, stop: StopRequest | None = None, steps: int = 0):
        super().__init__(stop or StopRequest(), steps)
        self.records, self.events = [], []

    def epoch_started(self, epoch, steps):
        self.events.append(f"start {epoch + 1}")

    def epoch_done(self, record):
        self.records.append(record)
        self.events.append(f"done {record.epoch}")


def test_each_epoch_is_reported_after_its_steps_and_before_the_next_starts(mnist_small):
    train_split, validation = mnist_small
    train_split = type(train_split)(train_split.images[:1000], train_split.labels[:1000])
    reporter = Collect()
    run = train(TrainingRun.start(TrainingConfig(epochs=3, seed=3, **SMALL)), train_split, validation, validation,
                reporter=reporter)
    assert reporter.events == ["start 1", "done 1", "start 2", "done 2", "start 3", "done 3"]
    assert reporter.records == run.history
    assert not any(math.isnan(r.test_accuracy) for r in run.history)


def test_a_stop_right_after_an_epoch_keeps_that_epoch(mnist_small):
    train_split, validation = mnist_small
    train_split = type(train_split)(train_split.images[:2000], train_split.labels[:2000])  # 63 steps an epoch
    stop = StopRequest()
    reporter = Collect(stop, 63 + 1)  # the first step of epoch 2
    run = train(TrainingRun.start(TrainingConfig(epochs=3, seed=7, **SMALL)), train_split, validation, validation,
                reporter=reporter, stop=stop)
    assert not run.finished and run.position.epoch == 1 and run.position.step == 1
    assert [r.epoch for r in run.history] == [r.epoch for r in reporter.records] == [1]
    assert 0.5 < run.history[0].test_accuracy <= 1


def test_an_augmented_momentum_run_resumed_mid_epoch_ends_with_identical_weights(mnist_small, tmp_path):
    train_split, validation = mnist_small
    train_split = type(train_split)(train_split.images[:1000], train_split.labels[:1000])  # 32 steps an epoch
    config = TrainingConfig(epochs=3, seed=5, momentum=0.9, nesterov=True, keep_best=True,
                            augmentation=Augmentation(shift=2, rotation=10, elastic=1, thickness=0.3), **SMALL)
    uninterrupted = train(TrainingRun.start(config), train_split, validation)
    stop = StopRequest()
    partial = train(TrainingRun.start(config), train_split, validation, reporter=StopAfter(stop, 50), stop=stop)
    save_checkpoint(tmp_path / "run.ckpt.npz", partial)
    resumed = train(load_checkpoint(tmp_path / "run.ckpt.npz")[0], train_split, validation)
    assert np.array_equal(resumed.network.flat_parameters, uninterrupted.network.flat_parameters)
    assert resumed.best_epoch == uninterrupted.best_epoch


def test_a_learning_rate_that_diverges_stops_training_with_a_clear_message(mnist_small):
    train_split, _ = mnist_small
    run = TrainingRun.start(TrainingConfig(epochs=1, seed=0, learning_rate=50))
    with pytest.raises(TrainingError, match=r"loss became \S+ at epoch 1 step \d+: the learning rate 50 is too high"):
        train(run, train_split)


def test_same_seed_gives_the_same_network_and_another_seed_does_not(mnist_small):
    train_split, _ = mnist_small
    small = type(train_split)(train_split.images[:500], train_split.labels[:500])
    a, b, c = (train(TrainingRun.start(TrainingConfig(epochs=1, seed=s, **SMALL)), small) for s in (1, 1, 2))
    assert np.array_equal(a.network.weights[0], b.network.weights[0])
    assert not np.array_equal(a.network.weights[0], c.network.weights[0])


@pytest.mark.parametrize("bad", [dict(learning_rate=0), dict(learning_rate=float("nan")), dict(batch_size=0),
                                 dict(epochs=0), dict(layer_sizes=(784,)), dict(dtype="float16")])
def test_invalid_hyper_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        TrainingConfig(**bad)


@pytest.mark.parametrize("bad,message", [
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(batch_size=1e9), "batch_size must be an integer, got 1000000000.0"),
    (dict(epochs="many"), "epochs must be an integer, got 'many'"),
    (dict(learning_rate="fast"), "learning_rate must be a number"),
    (dict(nesterov="yes"), "nesterov must be true or false"),
    (dict(layer_sizes=(784, 12.5, 10)), "each of layer_sizes must be an integer"),
    (dict(activation="softplus"), "activation must be one of relu, leaky_relu, tanh, sigmoid"),
    (dict(trainer="turbo"), "trainer must be one of fast, reference"),
    (dict(schedule={"kind": 3}), "schedule.kind must be a string"),
    (dict(augmentation={"shift": "two"}), "augmentation.shift must be a number"),
    (dict(layer_sizes=(784, 100_000, 100_000, 10)), r"needs about \S+ GiB, more than the 8 GiB allowed"),
    (dict(batch_size=100_000_000), r"needs about \S+ GiB"),
])
def test_a_config_of_the_wrong_type_or_size_is_refused_naming_the_field(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**bad)


def test_a_batch_larger_than_the_training_set_is_refused(mnist_small):
    train_split, _ = mnist_small
    small = Split(train_split.images[:100], train_split.labels[:100])
    with pytest.raises(TrainingError, match="batch size 101 is larger than the 100 training images"):
        train(TrainingRun.start(TrainingConfig(epochs=1, batch_size=101)), small)


def test_eleven_classes_and_other_input_widths_train_as_the_data_says():
    rng = np.random.default_rng(0)
    images = rng.random((300, 20)).astype(np.float32)
    labels = (images[:, :11].argmax(axis=1)).astype(np.int64)  # 11 classes, 20 inputs
    run = train(TrainingRun.start(TrainingConfig(layer_sizes=(20, 16, 11), epochs=30, batch_size=10, learning_rate=0.5)),
                Split(images, labels))
    assert run.network.layer_sizes == (20, 16, 11)
    assert run.history[-1].train_loss < 0.5 * run.history[0].train_loss
    with pytest.raises(TrainingError, match="labels up to 10, but the network takes 20 inputs into 10 classes"):
        train(TrainingRun.start(TrainingConfig(layer_sizes=(20, 16, 10), epochs=1, batch_size=10)), Split(images, labels))


def test_one_library_call_makes_a_complete_model_for_any_number_of_classes(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((400, 20)).astype(np.float32)
    labels = images[:, :11].argmax(axis=1).astype(np.int64)  # 11 classes from 20 inputs
    data = TrainingData(Split(images[:300], labels[:300]), Split(images[300:350], labels[300:350]),
                        Split(images[350:], labels[350:]), {"source": "toy"})
    config = TrainingConfig(layer_sizes=(20, 16, 11), epochs=20, batch_size=10, learning_rate=0.5, keep_best=True)
    run, model = train_model(Recipe("toy", config, validation_size=50, calibrate=True), data)
    assert model.network is run.network and model.network.layer_sizes == (20, 16, 11)
    assert model.metadata["data"] == {"source": "toy", "train_images": 300}
    assert model.metadata["epochs_run"] == 20 and 1 <= model.metadata["best_epoch"] <= 20
    assert 3 / 11 < model.metadata["metrics"]["test_accuracy"] <= 1  # well above chance (1 in 11)
    assert 0 < model.metadata["calibration"]["temperature"] < 20
    history_file = save_trained_model(tmp_path / "toy.npz", model, run)
    assert history_file == history_path(tmp_path / "toy.npz") and (tmp_path / "toy.npz").is_file()
    assert [row["epoch"] for row in json.loads(history_file.read_text())["history"]] == list(range(1, 21))


CONVOLUTIONAL = dict(convolutions=(4, 8), layer_sizes=(784, 16, 10), trainer="reference", batch_size=32,
                     learning_rate=0.05)


def test_a_network_with_convolutions_learns_and_resumes_mid_epoch_to_identical_weights(mnist_small, tmp_path):
    train_split, validation = mnist_small
    train_split = type(train_split)(train_split.images[:1000], train_split.labels[:1000])
    config = TrainingConfig(epochs=2, seed=1, momentum=0.9, keep_best=True, **CONVOLUTIONAL)
    uninterrupted = train(TrainingRun.start(config), train_split, validation)
    assert uninterrupted.network.channels == (4, 8)
    assert uninterrupted.history[-1].validation_accuracy > 0.6  # 1,000 digits, two epochs; chance is 0.1
    stop = StopRequest()
    partial = train(TrainingRun.start(config), train_split, validation, reporter=StopAfter(stop, 40), stop=stop)
    save_checkpoint(tmp_path / "conv.ckpt.npz", partial)
    resumed = train(load_checkpoint(tmp_path / "conv.ckpt.npz")[0], train_split, validation)
    assert np.array_equal(resumed.network.flat_parameters, uninterrupted.network.flat_parameters)


@pytest.mark.parametrize("settings, problem", [
    (dict(CONVOLUTIONAL, trainer="fast"), "reference trainer"),
    (dict(CONVOLUTIONAL, convolutions=(4, 8, 8)), "do not fit a 28x28"),
    (dict(CONVOLUTIONAL, convolutions=(4, 0)), "at least one channel"),
])
def test_convolutions_the_trainer_cannot_train_are_refused(settings, problem):
    with pytest.raises(ValueError, match=problem):
        TrainingConfig(**settings)
