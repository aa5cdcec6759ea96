"""Mini-batch stochastic gradient descent, the reference way."""

import numpy as np


def sgd_step(parameters: list[np.ndarray], gradients: list[np.ndarray], learning_rate: float) -> None:
    """Plain SGD, in place: ``p <- p - learning_rate * grad`` for every parameter."""
    for p, g in zip(parameters, gradients):
        p -= learning_rate * g
