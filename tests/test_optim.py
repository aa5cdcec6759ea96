"""Optimiser updates, learning-rate schedules and early stopping."""

import math

import numpy as np
import pytest

from digitnet.data import Split
from digitnet.errors import TrainingError
from digitnet.nn.fused import FusedSGDTrainer
from digitnet.nn.network import Network
from digitnet.nn.optim import MomentumUpdate, OptimizerSettings, momentum_step, sgd_step, with_weight_decay
from digitnet.nn.trainers import ReferenceTrainer
from digitnet.training import TrainingConfig, TrainingRun, evaluate_split, train
from digitnet.training.schedules import Schedule, learning_rate_at

SIZES = (12, 9, 7, 4)


def toy_data(n: int, seed: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """n inputs in [0, 1] with blank pixels, as in MNIST: some in every image, others in most."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, SIZES[0])).astype(dtype)
    x[:, rng.random(SIZES[0]) < 0.3] = 0
    x[rng.random(x.shape) < 0.7] = 0
    return x, rng.integers(0, SIZES[-1], n)


def steps_of(trainer_class, network: Network, x, y, batches, rates, settings: OptimizerSettings) -> Network:
    trainer = trainer_class(network, 8, settings)
    for batch, lr in zip(batches, rates):
        trainer.step(x, y, batch, lr)
    return network


@pytest.mark.parametrize("settings", [
    OptimizerSettings(),
    OptimizerSettings(momentum=0.9),
    OptimizerSettings(momentum=0.9, nesterov=True),
    OptimizerSettings(momentum=0.8, nesterov=True, weight_decay=0.01),
    OptimizerSettings(weight_decay=0.05),
])
def test_fast_update_matches_the_reference_optimiser(settings):
    x, y = toy_data(60, seed=3)
    batches = [np.arange(i, min(i + 8, 60)) for i in range(0, 60, 8)] * 3
    rates = [0.2 * (1 + math.cos(k / 5)) for k in range(len(batches))]  # a changing rate, as schedules give
    start = Network.initialised(SIZES, np.random.default_rng(0), np.float64)
    expected = steps_of(ReferenceTrainer, start.copy(), x, y, batches, rates, settings)
    actual = steps_of(FusedSGDTrainer, start.copy(), x, y, batches, rates, settings)
    for e, a in zip(expected.parameters, actual.parameters):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)
    assert not np.allclose(actual.weights[0], start.weights[0])


def test_the_reference_momentum_step_is_the_textbook_formula():
    p, g, v = np.array([1.0, -2.0]), np.array([0.5, 0.25]), np.array([0.1, 0.2])
    momentum_step([p], [g], [v], learning_rate=0.1, momentum=0.9)
    np.testing.assert_allclose(v, [0.9 * 0.1 + 0.05, 0.9 * 0.2 + 0.025])
    np.testing.assert_allclose(p, [1.0 - v[0], -2.0 - v[1]])
    q, w = np.array([1.0]), np.array([0.0])
    momentum_step([q], [np.array([1.0])], [w], learning_rate=0.1, momentum=0.5, nesterov=True)
    np.testing.assert_allclose(q, [1.0 - (0.5 * 0.1 + 0.1)])
    r = np.array([3.0])
    sgd_step([r], [np.array([2.0])], 0.25)
    assert r[0] == 2.5
    np.testing.assert_allclose(with_weight_decay([np.array([2.0])], [np.array([1.0])], 0.1)[0], [1.2])


def test_nesterov_differs_from_plain_momentum():
    x, y = toy_data(40, seed=1)
    batches, rates = [np.arange(0, 8), np.arange(8, 16), np.arange(16, 24)], [0.1] * 3
    start = Network.initialised(SIZES, np.random.default_rng(2), np.float64)
    classic = steps_of(FusedSGDTrainer, start.copy(), x, y, batches, rates, OptimizerSettings(momentum=0.9))
    nesterov = steps_of(FusedSGDTrainer, start.copy(), x, y, batches, rates,
                        OptimizerSettings(momentum=0.9, nesterov=True))
    assert not np.allclose(classic.weights[0], nesterov.weights[0])


def test_weight_decay_leaves_biases_alone():
    network = Network.initialised(SIZES, np.random.default_rng(0), np.float64)
    network.biases[0][:] = 1.0
    flat = np.concatenate([p.ravel() for p in network.parameters])  # W0, b0, W1, ... one after another
    update = MomentumUpdate(network.parameters, OptimizerSettings(weight_decay=0.5))
    update.apply(flat, np.zeros_like(flat), learning_rate=0.1)
    w0, b0 = network.weights[0].size, network.biases[0].size
    np.testing.assert_allclose(flat[:w0], network.weights[0].ravel() * (1 - 0.05))
    np.testing.assert_array_equal(flat[w0 : w0 + b0], 1.0)


@pytest.mark.parametrize("bad", [dict(momentum=1.0), dict(momentum=-0.1), dict(nesterov=True),
                                 dict(weight_decay=-1.0), dict(weight_decay=float("nan"))])
def test_invalid_optimiser_settings_are_refused(bad):
    with pytest.raises(ValueError):
        OptimizerSettings(**bad)


def test_constant_schedule_returns_the_base_rate_itself():
    rates = {learning_rate_at(Schedule(), 0.1, epoch, step, 100, 5) for epoch in range(5) for step in range(100)}
    assert rates == {0.1}


def test_step_schedule_divides_the_rate_every_step_every_epochs():
    schedule = Schedule(kind="step", step_every=10, step_factor=0.5)
    assert [learning_rate_at(schedule, 0.2, epoch, 3, 50, 40) for epoch in (0, 9, 10, 19, 20, 39)] == \
        pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05, 0.025])


def test_cosine_schedule_falls_from_base_through_half_to_the_floor():
    schedule = Schedule(kind="cosine", final_fraction=0.1)
    steps, epochs = 100, 10
    assert learning_rate_at(schedule, 1.0, 0, 0, steps, epochs) == pytest.approx(1.0)
    assert learning_rate_at(schedule, 1.0, 5, 0, steps, epochs) == pytest.approx(0.55)
    assert learning_rate_at(schedule, 1.0, 9, 99, steps, epochs) == pytest.approx(0.1, abs=1e-4)
    rates = [learning_rate_at(schedule, 1.0, e, s, steps, epochs) for e in range(epochs) for s in range(steps)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_warmup_climbs_linearly_to_the_base_rate_then_hands_over():
    schedule = Schedule(kind="cosine", warmup_epochs=2)
    steps = 10
    warm = [learning_rate_at(schedule, 0.5, e, s, steps, 20) for e in range(2) for s in range(steps)]
    assert warm == pytest.approx([0.5 * (k + 1) / 20 for k in range(20)])
    assert learning_rate_at(schedule, 0.5, 2, 0, steps, 20) == pytest.approx(0.5)
    assert learning_rate_at(schedule, 0.5, 11, 0, steps, 20) == pytest.approx(0.25)


@pytest.mark.parametrize("bad", [dict(kind="linear"), dict(warmup_epochs=-1), dict(step_every=0),
                                 dict(step_factor=0), dict(final_fraction=2)])
def test_invalid_schedules_are_refused(bad):
    with pytest.raises(ValueError):
        Schedule(**bad)


def separable_splits() -> tuple[Split, Split]:
    rng = np.random.default_rng(0)
    centres = rng.random((SIZES[-1], SIZES[0]))
    labels = rng.integers(0, SIZES[-1], 700)
    images = np.clip(centres[labels] + 0.35 * rng.standard_normal((700, SIZES[0])), 0, 1).astype(np.float32)
    return Split(images[:500], labels[:500]), Split(images[500:], labels[500:])


def test_early_stopping_keeps_the_best_validation_epoch():
    train_split, validation = separable_splits()
    config = TrainingConfig(layer_sizes=SIZES, learning_rate=2.0, batch_size=16, epochs=40, patience=3,
                            keep_best=True)
    run = train(TrainingRun.start(config), train_split, validation)
    best = max(run.history, key=lambda r: (r.validation_accuracy, -r.validation_loss))
    assert run.best_epoch == best.epoch
    assert run.stopped_early and len(run.history) == best.epoch + 3 < 40
    assert evaluate_split(run.network, validation) == pytest.approx(
        (best.validation_loss, best.validation_accuracy), rel=1e-5)


def test_early_stopping_without_validation_is_refused():
    train_split, _ = separable_splits()
    with pytest.raises(TrainingError, match="validation"):
        train(TrainingRun.start(TrainingConfig(layer_sizes=SIZES, epochs=2, patience=1)), train_split)
