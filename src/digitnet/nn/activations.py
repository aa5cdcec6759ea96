"""Hidden-layer activations and their derivatives, one small registry (as in scikit-learn's MLP).

Each activation g is applied elementwise; its derivative is written in terms of the output
y = g(x), which is what backpropagation keeps. Both take an optional ``out`` array (same shape) so
the fast trainer can work in preallocated buffers; the readable ``Network`` calls them plainly.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAK = 0.01  # leaky ReLU's slope for negative inputs


@dataclass(frozen=True)
class Activation:
    """name; forward(x, out=None) -> g(x); derivative(y, out=None) -> g'(x) given y = g(x);
    init_gain: the weights start with std sqrt(init_gain / n_in) (2: He, for the ReLUs; 1: Glorot-like)."""

    name: str
    forward: Callable[..., np.ndarray]
    derivative: Callable[..., np.ndarray]
    init_gain: float


def relu(x, out=None):
    return np.maximum(x, 0, out=out)


def relu_derivative(y, out=None):
    return np.greater(y, 0, out=out) if out is not None else (y > 0).astype(y.dtype)


def leaky_relu(x, out=None):
    return np.maximum(x, LEAK * x, out=out)


def leaky_relu_derivative(y, out=None):
    out = relu_derivative(y, out)
    out *= 1 - LEAK
    out += LEAK
    return out


def tanh(x, out=None):
    return np.tanh(x, out=out)


def tanh_derivative(y, out=None):
    out = np.multiply(y, y, out=out)
    np.subtract(1, out, out=out)
    return out


def sigmoid(x, out=None):
    """1 / (1 + exp(-x)), written as (1 + tanh(x / 2)) / 2, which cannot overflow."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def sigmoid_derivative(y, out=None):
    out = np.subtract(1, y, out=out)
    out *= y
    return out


ACTIVATIONS = {a.name: a for a in (
    Activation("relu", relu, relu_derivative, 2.0),
    Activation("leaky_relu", leaky_relu, leaky_relu_derivative, 2.0),
    Activation("tanh", tanh, tanh_derivative, 1.0),
    Activation("sigmoid", sigmoid, sigmoid_derivative, 1.0),
)}
DEFAULT_ACTIVATION = "relu"


def activation_named(name: str) -> Activation:
    """The registered activation called ``name``; ValueError naming the choices otherwise."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]
