"""The two trainers are one: the fast trainer is held to the textbook one over whole epochs, and every
activation, the loss and each layer is held to its mathematical definition."""

import numpy as np
import pytest

from digitnet.data import Split
from digitnet.modelfile import Model, load_model, save_model
from digitnet.nn.activations import ACTIVATIONS, LEAK
from digitnet.nn.layers import dense_backward, dense_forward
from digitnet.nn.losses import softmax_cross_entropy
from digitnet.nn.network import Network
from digitnet.training import TrainingConfig, TrainingRun, train
from digitnet.training.augmentation import Augmentation
from digitnet.training.schedules import Schedule

SIZES = (30, 12, 8, 5)
DEFINITIONS = {  # g(x) and g'(x), as a textbook writes them
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x > 0, x, LEAK * x), lambda x: np.where(x > 0, 1.0, LEAK)),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
}
OPTIMISERS = {
    "plain": {},
    "momentum": dict(momentum=0.9),
    "nesterov-decay": dict(momentum=0.8, nesterov=True, weight_decay=0.01),
    "decay": dict(weight_decay=0.05),
}
AUGMENTED = Augmentation(shift=2, rotation=10, scale=0.1, shear=10, elastic=1, thickness=0.3)


def toy_splits(seed: int = 0, dtype=np.float64) -> tuple[Split, Split]:
    """Learnable data with blank inputs, as MNIST has: 200 training rows, 60 validation rows."""
    rng = np.random.default_rng(seed)
    centres = rng.random((SIZES[-1], SIZES[0])) * (rng.random(SIZES[0]) < 0.7)
    labels = rng.integers(0, SIZES[-1], 260)
    images = np.clip(centres[labels] + 0.2 * rng.standard_normal((260, SIZES[0])), 0, 1)
    images[:, centres.max(axis=0) == 0] = 0
    images = images.astype(dtype)
    return Split(images[:200], labels[:200]), Split(images[200:], labels[200:])


def both_trainers(dtype: str, **settings) -> tuple[TrainingRun, TrainingRun]:
    train_split, validation = toy_splits(dtype=np.dtype(dtype))
    runs = []
    for trainer in ("reference", "fast"):
        config = TrainingConfig(layer_sizes=SIZES, batch_size=16, epochs=3, learning_rate=0.3, dtype=dtype,
                                trainer=trainer, schedule=Schedule(kind="cosine", warmup_epochs=0.5), **settings)
        runs.append(train(TrainingRun.start(config), train_split, validation))
    return runs[0], runs[1]


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("optimiser", list(OPTIMISERS))
def test_fast_and_reference_trainers_agree_over_whole_epochs_in_float64(activation, optimiser):
    reference, fast = both_trainers("float64", activation=activation, **OPTIMISERS[optimiser])
    np.testing.assert_allclose(fast.network.flat_parameters, reference.network.flat_parameters, rtol=0, atol=1e-10)
    assert [r.train_loss for r in fast.history] == pytest.approx([r.train_loss for r in reference.history], rel=1e-10)
    assert not np.allclose(fast.network.flat_parameters, TrainingRun.start(fast.config).network.flat_parameters)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("augmentation", [Augmentation(), AUGMENTED], ids=["plain", "augmented"])
def test_fast_and_reference_trainers_agree_in_float32_within_rounding(activation, augmentation):
    train_split, validation = toy_splits(dtype=np.float32)
    images = np.zeros((len(train_split), 784), np.float32)  # augmentation distorts 28 x 28 images
    images[:, 300 : 300 + SIZES[0]] = train_split.images
    runs = [train(TrainingRun.start(TrainingConfig(
        layer_sizes=(784, *SIZES[1:]), batch_size=16, epochs=2, learning_rate=0.2, momentum=0.5,
        activation=activation, augmentation=augmentation, trainer=trainer)), Split(images, train_split.labels))
        for trainer in ("reference", "fast")]
    np.testing.assert_allclose(runs[1].network.flat_parameters, runs[0].network.flat_parameters, rtol=0, atol=2e-5)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_each_activation_and_its_derivative_are_the_textbook_functions(name):
    x = np.linspace(-6, 6, 241)
    g, derivative = DEFINITIONS[name]
    activation = ACTIVATIONS[name]
    y = activation.forward(x)
    np.testing.assert_allclose(y, g(x), rtol=1e-12, atol=1e-15)
    away_from_kinks = np.abs(x) > 1e-9
    np.testing.assert_allclose(activation.derivative(y)[away_from_kinks], derivative(x)[away_from_kinks], rtol=1e-9)
    out = np.empty_like(x)  # the in-place forms give the same numbers
    np.testing.assert_array_equal(activation.derivative(activation.forward(x, out=out), out=np.empty_like(x)),
                                  activation.derivative(y))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_network_gradients_match_finite_differences_for_each_activation(name, rng):
    network = Network.initialised((6, 5, 4, 3), rng, dtype=np.float64, activation=name)
    network.flat_parameters[...] += rng.normal(size=network.flat_parameters.shape) * 0.1  # biases too
    x, labels = rng.normal(size=(7, 6)), rng.integers(0, 3, size=7)
    _, analytic = network.loss_and_gradients(x, labels)
    analytic = np.concatenate([g.ravel() for g in analytic])
    numeric = np.empty_like(analytic)
    for i in range(len(numeric)):
        saved = network.flat_parameters[i]
        network.flat_parameters[i] = saved + 1e-6
        plus = network.loss_and_gradients(x, labels)[0]
        network.flat_parameters[i] = saved - 1e-6
        minus = network.loss_and_gradients(x, labels)[0]
        network.flat_parameters[i] = saved
        numeric[i] = (plus - minus) / 2e-6
    assert np.abs(analytic - numeric).max() / np.abs(numeric).max() < 1e-6


def test_dense_layer_is_x_times_w_plus_b_and_its_gradients_are_the_textbook_ones(rng):
    x, w, b, dout = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 2))
    out, cache = dense_forward(x, w, b)
    np.testing.assert_allclose(out, np.einsum("ni,io->no", x, w) + b[None])
    dx, dw, db = dense_backward(dout, cache)
    np.testing.assert_allclose(dx, np.einsum("no,io->ni", dout, w))
    np.testing.assert_allclose(dw, np.einsum("ni,no->io", x, dout))
    np.testing.assert_allclose(db, dout.sum(axis=0))


def test_softmax_cross_entropy_is_the_mean_negative_log_probability_of_the_label(rng):
    logits, labels = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss, gradient = softmax_cross_entropy(logits, labels, scale=0.5)
    assert loss == pytest.approx(-np.log(probabilities[np.arange(5), labels]).mean(), rel=1e-12)
    np.testing.assert_allclose(gradient, 0.5 * (probabilities - np.eye(4)[labels]) / 5, rtol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("rows", [7, 2048, 5000], ids=["small", "one-chunk", "chunked"])
def test_inference_equals_the_reference_forward_pass(name, rows, rng):
    network = Network.initialised((784, 16, 12, 10), rng, activation=name)
    network.flat_parameters[...] += rng.normal(size=network.flat_parameters.shape).astype(np.float32) * 0.05
    x = rng.random((rows, 784), dtype=np.float32)
    logits, _ = network.forward(x)
    np.testing.assert_allclose(network.logits(x), logits, rtol=1e-5, atol=1e-5)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(network.predict_proba(x), expected / expected.sum(axis=1, keepdims=True), atol=1e-6)


def test_a_model_file_keeps_its_activation_and_inference_uses_it(tmp_path, rng):
    network = Network.initialised((784, 8, 10), rng, activation="sigmoid")
    save_model(tmp_path / "m.npz", Model(network))
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.metadata["activations"]["hidden"] == "sigmoid" and loaded.network.activation == "sigmoid"
    x = rng.random((3, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.network.logits(x), network.logits(x))
    assert not np.allclose(Network(network.weights, network.biases, "relu").logits(x), network.logits(x))
