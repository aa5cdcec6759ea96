"""The layers of a fully connected network, as pure functions in the style of CS231n.

Each ``*_forward`` returns ``(out, cache)`` and each ``*_backward`` takes the upstream gradient
``dout`` (same shape as ``out``) and that cache, and returns the gradients of its inputs.
Shapes: ``batch`` rows, one example per row.
"""

import numpy as np

from digitnet.nn.activations import Activation


def dense_forward(x: np.ndarray, weights: np.ndarray, bias: np.ndarray):
    """Affine map ``x @ weights + bias``.

    x: (batch, n_in); weights: (n_in, n_out); bias: (n_out,) -> out: (batch, n_out).
    """
    return x @ weights + bias, (x, weights)


def dense_backward(dout: np.ndarray, cache):
    """Gradients of a dense layer: returns (dx (batch, n_in), dweights (n_in, n_out), dbias (n_out,))."""
    x, weights = cache
    return dout @ weights.T, x.T @ dout, dout.sum(axis=0)


def activation_forward(x: np.ndarray, activation: Activation):
    """g(x) elementwise; x: any shape. The cache is the output, from which g' is computed."""
    out = activation.forward(x)
    return out, out


def activation_backward(dout: np.ndarray, cache, activation: Activation) -> np.ndarray:
    """The chain rule through g: dout * g'(x), with g'(x) computed from the cached output."""
    return dout * activation.derivative(cache)
