"""The fit loop: it learns, it stops cleanly on divergence, and a resumed run equals an uninterrupted one."""

import math

import numpy as np
import pytest

from digitnet.errors import TrainingError
from digitnet.training import (Reporter, StopRequest, TrainingConfig, TrainingRun, load_checkpoint, save_checkpoint,
                               train)

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


def test_evaluating_beside_the_next_epoch_reports_what_evaluating_in_turn_does(mnist_small, monkeypatch):
    train_split, validation = mnist_small
    train_split = type(train_split)(train_split.images[:3000], train_split.labels[:3000])
    config = TrainingConfig(epochs=3, seed=3, **SMALL)
    monkeypatch.setattr("digitnet.training.available_cores", lambda: 2)  # a core to spare, even on a 1-core runner
    beside = Collect()
    beside_run = train(TrainingRun.start(config), train_split, validation, validation, reporter=beside)
    monkeypatch.setattr("digitnet.training.available_cores", lambda: 1)  # no core to spare: evaluate in turn
    in_turn = Collect()
    in_turn_run = train(TrainingRun.start(config), train_split, validation, validation, reporter=in_turn)

    def figures(records):
        return [(r.epoch, r.train_loss, r.validation_loss, r.validation_accuracy, r.test_accuracy) for r in records]

    assert figures(beside.records) == figures(beside_run.history) == figures(in_turn_run.history)
    assert [r.epoch for r in beside.records] == [1, 2, 3]
    assert beside.events.index("done 1") > beside.events.index("start 2")  # epoch 1 was evaluated beside epoch 2
    assert in_turn.events == ["start 1", "done 1", "start 2", "done 2", "start 3", "done 3"]
    assert not any(math.isnan(r.test_accuracy) for r in beside.records)


def test_a_stop_while_an_epoch_is_being_evaluated_keeps_that_epoch(mnist_small):
    train_split, validation = mnist_small
    train_split = type(train_split)(train_split.images[:2000], train_split.labels[:2000])  # 63 steps an epoch
    stop = StopRequest()
    reporter = Collect(stop, 63 + 1)  # the first step of epoch 2, while epoch 1 may still be evaluated
    run = train(TrainingRun.start(TrainingConfig(epochs=3, seed=7, **SMALL)), train_split, validation, validation,
                reporter=reporter, stop=stop)
    assert not run.finished and run.position.epoch == 1 and run.position.step == 1
    assert [r.epoch for r in run.history] == [r.epoch for r in reporter.records] == [1]
    assert 0.5 < run.history[0].test_accuracy <= 1


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
