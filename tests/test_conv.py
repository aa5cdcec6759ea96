"""The convolutional layers against their definitions and finite differences."""

import numpy as np
import pytest

from digitnet.nn.conv import KERNEL, conv_forward, max_pool, max_pool_backward, max_pool_forward
from digitnet.nn.convnet import ConvNetwork, feature_sides


def relative_error(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12)


def numeric_gradient(loss, array, h=1e-6):
    numeric = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        plus = loss()
        array[index] = saved - h
        minus = loss()
        array[index] = saved
        numeric[index] = (plus - minus) / (2 * h)
    return numeric


def test_convolution_is_the_sum_over_each_window_as_the_textbook_writes_it(rng):
    x = rng.normal(size=(2, 7, 6, 3))
    kernels, bias = rng.normal(size=(3 * KERNEL * KERNEL, 4)), rng.normal(size=4)
    out, _ = conv_forward(x, kernels, bias)
    weights = kernels.reshape(3, KERNEL, KERNEL, 4)  # rows in (channel, row, column) order
    assert out.shape == (2, 7 - KERNEL + 1, 6 - KERNEL + 1, 4)
    for n, i, j, f in np.ndindex(out.shape):
        window = x[n, i : i + KERNEL, j : j + KERNEL, :]  # (row, column, channel)
        expected = np.sum(window.transpose(2, 0, 1) * weights[..., f]) + bias[f]
        assert out[n, i, j, f] == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_max_pooling_keeps_each_blocks_largest_and_routes_its_gradient_there_once(rng):
    x = rng.normal(size=(2, 4, 6, 3))
    out, cache = max_pool_forward(x)
    assert np.array_equal(out, x.reshape(2, 2, 2, 3, 2, 3).max(axis=(2, 4)))
    assert np.array_equal(max_pool(x), out)
    blank = np.zeros((1, 2, 2, 1))  # four equal values: the gradient goes to one of them, not to all four
    _, blank_cache = max_pool_forward(blank)
    assert max_pool_backward(np.ones((1, 1, 1, 1)), blank_cache).sum() == 1.0
    dx = max_pool_backward(np.ones_like(out), cache)
    assert dx.sum() == out.size and set(np.unique(dx)) == {0.0, 1.0}


def small_network(rng):
    network = ConvNetwork.initialised((2, 3), (16 * 16, 5, 4), rng, dtype=np.float64)
    for b in network.biases:
        b[:] = rng.normal(size=b.shape) * 0.1
    return network


def test_gradients_match_central_finite_differences_for_every_parameter_and_pixel(rng):
    network = small_network(rng)  # 16x16 -> 12x12x2 -> 6x6x2 -> 2x2x3 -> 12 -> 5 -> 4
    x = rng.normal(size=(3, 256))
    labels = np.array([0, 3, 1])
    _, analytic = network.loss_and_gradients(x, labels)
    for param, grad in zip(network.parameters, analytic):
        assert relative_error(grad, numeric_gradient(lambda: network.loss_and_gradients(x, labels)[0], param)) < 1e-6
    logits, caches = network.forward(x)
    dlogits = rng.normal(size=logits.shape)  # the gradient of sum(dlogits * logits), down to the pixels
    _, dx = network.backward_to_input(dlogits, caches)
    numeric = numeric_gradient(lambda: float(np.sum(dlogits * network.forward(x)[0])), x)
    assert relative_error(dx, numeric) < 1e-6


def test_inference_gives_the_training_pass_logits_in_any_chunking(rng):
    network = small_network(rng)
    network.inference_chunk = 2
    x = rng.normal(size=(5, 256))
    assert np.allclose(network.logits(x), network.forward(x)[0], rtol=1e-12, atol=1e-12)
    assert np.allclose(network.predict_proba(x).sum(axis=1), 1)
    copy = network.copy()
    assert copy.channels == (2, 3) and np.array_equal(copy.flat_parameters, network.flat_parameters)


def test_shapes_that_do_not_fit_are_refused(rng):
    network = small_network(rng)
    with pytest.raises(ValueError, match="convolution 1"):
        ConvNetwork(network.weights, network.biases, (2, 4), image_side=16)
    with pytest.raises(ValueError, match="do not fit a 28x28"):
        feature_sides(28, 3)
    assert feature_sides(28, 2) == [12, 4]
