"""The explanation views: gradients held to finite differences of the same network, units, the "why not" nudge."""

import numpy as np
import pytest

from digitnet.explain import (NUDGE_STEP, NUDGE_STEPS, explain, margin_gradient, nudge_toward, probability_gradient,
                              unit_pixel_maps)
from digitnet.modelfile import Model, load_model
from digitnet.nn.convnet import ConvNetwork
from digitnet.reading import reader_data as rd


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def model64(model):
    """The shipped model in float64, temperature and all, so finite differences are exact to ~1e-9."""
    network = model.network.with_parameters([w.astype(np.float64) for w in model.network.weights],
                                            [b.astype(np.float64) for b in model.network.biases])
    return Model(network, model.metadata)


@pytest.fixture(scope="module")
def digits(mnist_test, model):
    """Two MNIST test digits as (28, 28) float64: the one the model is least sure of, and a sure one."""
    probabilities = model.network_proba(mnist_test.images[:1000])  # explanations are of the network alone
    unsure, sure = probabilities.max(axis=1).argmin(), probabilities.max(axis=1).argmax()
    return [mnist_test.images[i].reshape(28, 28).astype(np.float64) for i in (unsure, sure)]


def finite_difference_gradient(f, image, eps=1e-6):
    """Central differences of a scalar function of a (28, 28) image, one pixel at a time."""
    gradient = np.zeros_like(image)
    for index in np.ndindex(image.shape):
        up, down = image.copy(), image.copy()
        up[index] += eps
        down[index] -= eps
        gradient[index] = (f(up) - f(down)) / (2 * eps)
    return gradient


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("which", [0, 1], ids=["unsure", "sure"])
def test_saliency_is_the_finite_difference_gradient_of_the_answers_probability(model64, digits, which):
    image = digits[which]
    digit = int(model64.predict_proba(image.reshape(1, -1)).argmax())

    def probability(x):  # p_c less 1, as minus the others' sum: differences of a p_c near 1 are rounding noise
        return -np.delete(model64.predict_proba(x.reshape(1, -1))[0], digit).sum()

    numeric = finite_difference_gradient(probability, image)
    saliency = probability_gradient(model64, image, digit)
    assert saliency.shape == (28, 28)
    assert np.abs(numeric).max() > 0
    assert relative_error(saliency, numeric) < 1e-6


def test_margin_gradient_is_the_finite_difference_gradient_of_the_logit_margin(model64, digits):
    image = digits[0]
    margin = lambda x: np.subtract(*model64.network.logits(x.reshape(1, -1))[0, [3, 8]])  # noqa: E731
    assert relative_error(margin_gradient(model64, image, 3, 8), finite_difference_gradient(margin, image)) < 1e-6


@pytest.mark.parametrize("name", ["reader", "best"])
def test_the_shown_units_are_the_most_active_first_dense_units_and_how_each_pixel_moves_them(name, digits):
    model = load_model(name)
    explanation = explain(model, digits[0], top_units=5)
    first_hidden = model.network.hidden_activations(digits[0].reshape(1, -1).astype(np.float32))[0][0]
    assert np.allclose(explanation.activations, np.sort(first_hidden)[::-1][:5])
    assert np.allclose(explanation.activations, first_hidden[explanation.units])
    if not model.network.convolutions:  # the maps are the weights from each pixel
        for unit, tile in zip(explanation.units, explanation.weights):
            assert np.array_equal(tile.reshape(-1), model.network.weights[0][:, unit])


def test_behind_convolutions_a_units_pixel_map_is_the_finite_difference_gradient_of_its_input_sum(rng):
    network = ConvNetwork.initialised((4, 6), (784, 12, 11), rng, dtype=np.float64)
    model = Model(network, {})
    image = rng.random((28, 28))
    units = np.array([3, 0, 7])
    maps = unit_pixel_maps(model, image, units)
    for unit, tile in zip(units, maps):
        input_sum = lambda x: (network.convolutions_forward(x.reshape(1, -1))[0] @ network.dense_weights[0])[0, unit]  # noqa: E731
        assert relative_error(tile, finite_difference_gradient(input_sum, image)) < 1e-6


def test_the_nudge_makes_the_runner_up_the_answer_with_ink_kept_in_range(model, digits):
    image = digits[0].astype(np.float32)
    explanation = explain(model, image)
    nudge = explanation.runner_up
    second = int(np.argsort(-explanation.probabilities[:10])[1])  # the runner-up digit
    assert nudge.digit == second != explanation.digit
    assert nudge.reached and nudge.probability_after > nudge.probability_before
    nudged = image + nudge.change
    assert nudged.min() >= -1e-6 and nudged.max() <= 1 + 1e-6
    assert int(model.predict_proba(nudged.reshape(1, -1)).argmax()) == second
    assert np.abs(nudge.change).max() <= NUDGE_STEP * nudge.steps + 1e-6
    assert 0 < nudge.steps <= NUDGE_STEPS


def test_a_blank_input_is_explained_without_error(model):
    explanation = explain(model, np.zeros((28, 28), np.float32))
    assert np.isfinite(explanation.saliency).all()
    assert np.isfinite(explanation.runner_up.change).all()


def test_the_nudge_toward_the_answer_itself_changes_nothing(model, digits):
    image = digits[1].astype(np.float32)
    answer = int(model.predict_proba(image.reshape(1, -1)).argmax())
    nudge = nudge_toward(model, image, answer)
    assert nudge.reached and nudge.steps == 0 and not nudge.change.any()


def test_a_crop_the_reader_calls_not_a_digit_is_explained_as_its_most_probable_digit(model, mnist):
    pairs = rd.touching_pairs(mnist.train_images[:200].astype(np.float32) / 255, np.random.default_rng(3), 40)
    crops = rd.normalised(pairs, model.deslants_input)
    rejected = crops[model.predict_proba(crops).argmax(axis=1) == rd.NOT_A_DIGIT][0].reshape(28, 28)
    explanation = explain(model, rejected)
    assert explanation.digit == int(explanation.probabilities[:10].argmax())
    assert explanation.runner_up.digit not in (explanation.digit, rd.NOT_A_DIGIT)
