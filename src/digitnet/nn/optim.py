"""Mini-batch gradient descent: the readable reference steps, and the in-place updates the fast trainer uses.

The reference functions take plain gradients. The update objects take *steps*: gradients already
multiplied by the learning rate (that is what ``FusedSGDTrainer`` computes), and apply them with
preallocated buffers. With velocity v, momentum mu, learning rate lr and weight decay wd (on the
weights only, never the biases)::

    g   = grad + wd * w
    v   = mu * v + lr * g
    w  -= v                    (momentum)
    w  -= mu * v + lr * g      (Nesterov)
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OptimizerSettings:
    """momentum in [0, 1) (0: plain SGD); nesterov: look-ahead momentum; weight_decay: L2 factor >= 0."""

    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self):
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov needs a momentum above 0")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight decay must be a number >= 0, got {self.weight_decay}")

    @property
    def plain(self) -> bool:
        return not self.momentum and not self.weight_decay


def sgd_step(parameters: list[np.ndarray], gradients: list[np.ndarray], learning_rate: float) -> None:
    """Plain SGD, in place: ``p <- p - learning_rate * grad`` for every parameter."""
    for p, g in zip(parameters, gradients):
        p -= learning_rate * g


def with_weight_decay(weights: list[np.ndarray], weight_gradients: list[np.ndarray],
                      weight_decay: float) -> list[np.ndarray]:
    """Gradients of loss + ``weight_decay / 2 * sum(w**2)``: each ``grad + weight_decay * w``."""
    return [g + weight_decay * w for w, g in zip(weights, weight_gradients)]


def momentum_step(parameters: list[np.ndarray], gradients: list[np.ndarray], velocities: list[np.ndarray],
                  learning_rate: float, momentum: float, nesterov: bool = False) -> None:
    """SGD with (Nesterov) momentum, in place on parameters and velocities (same shapes)."""
    for p, g, v in zip(parameters, gradients, velocities):
        v *= momentum
        v += learning_rate * g
        p -= momentum * v + learning_rate * g if nesterov else v


class PlainUpdate:
    """``parameters -= steps``: plain SGD, exactly the original recipe's update."""

    # A parameter whose step is zero stays where it is, so a caller may skip parameters without steps.
    moves_only_stepped = True

    def apply(self, parameters: np.ndarray, steps: np.ndarray, learning_rate: float) -> None:
        parameters -= steps


class MomentumUpdate:
    """Momentum, Nesterov and weight decay applied in place with preallocated buffers.

    Works on flat arrays, as ``FusedSGDTrainer`` keeps them: ``parameters`` and ``steps`` hold
    every parameter of ``layout`` (``Network.parameters`` order: W0, b0, W1, b1, ...) one after
    another. ``steps`` are learning-rate-scaled gradients and may be overwritten. ``velocity``
    (flat like them; default zeros) is updated in place, so a caller can keep and restore it.
    """

    moves_only_stepped = False  # the velocity and the decay move parameters whose step is zero

    def __init__(self, layout: list[np.ndarray], settings: OptimizerSettings, velocity: np.ndarray | None = None):
        size, dtype = sum(p.size for p in layout), layout[0].dtype
        self.settings = settings
        self.velocity = np.zeros(size, dtype) if velocity is None else velocity
        self._scratch = np.empty(size, dtype)
        # 1 where a weight sits, 0 where a bias does: decay shrinks weights only.
        self._decays = np.concatenate([np.full(p.size, i % 2 == 0, dtype) for i, p in enumerate(layout)])

    def apply(self, parameters: np.ndarray, steps: np.ndarray, learning_rate: float) -> None:
        mu, scratch, velocity = self.settings.momentum, self._scratch, self.velocity
        if self.settings.weight_decay:
            np.multiply(parameters, self._decays, out=scratch)
            scratch *= learning_rate * self.settings.weight_decay
            steps += scratch
        velocity *= mu
        velocity += steps
        if self.settings.nesterov:
            np.multiply(velocity, mu, out=scratch)
            scratch += steps
            parameters -= scratch
        else:
            parameters -= velocity
