"""The layers of a fully connected network, as pure functions in the style of CS231n.

Each ``*_forward`` returns ``(out, cache)`` and each ``*_backward`` takes the upstream gradient
``dout`` (same shape as ``out``) and that cache, and returns the gradients of its inputs.
Shapes: ``batch`` rows, one example per row.
"""

import numpy as np


def dense_forward(x: np.ndarray, weights: np.ndarray, bias: np.ndarray):
    """Affine map ``x @ weights + bias``.

    x: (batch, n_in); weights: (n_in, n_out); bias: (n_out,) -> out: (batch, n_out).
    """
    return x @ weights + bias, (x, weights)


def dense_backward(dout: np.ndarray, cache):
    """Gradients of a dense layer: returns (dx (batch, n_in), dweights (n_in, n_out), dbias (n_out,))."""
    x, weights = cache
    return dout @ weights.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x: np.ndarray):
    """max(x, 0) elementwise; x: any shape."""
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache) -> np.ndarray:
    """The gradient flows where the input was positive and stops elsewhere."""
    x = cache
    return dout * (x > 0)
