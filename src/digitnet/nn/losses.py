"""Softmax and categorical cross-entropy, computed stably."""

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log of softmax along the last axis, via log-sum-exp: finite for logits of any size.

    logits: (batch, classes) -> (batch, classes), each row's exp sums to 1.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities: (batch, classes) -> (batch, classes), rows sum to 1."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray, scale: float = 1.0, out: np.ndarray | None = None):
    """Mean categorical cross-entropy of softmax(logits) against integer labels, and its gradient.

    logits: (batch, classes); labels: (batch,) ints in [0, classes).
    Returns (loss: float, dlogits: (batch, classes)). Softmax and cross-entropy are fused because
    their joint gradient is simply ``(softmax(logits) - one_hot(labels)) / batch``. The gradient comes
    multiplied by ``scale`` (the fast trainer passes the learning rate, so it gets ready-made steps)
    and is written into ``out`` when given (which may be ``logits`` itself).
    """
    batch, rows = len(labels), np.arange(len(labels))
    # ufunc.reduce rather than .max() / .sum(): the same numbers, without their checks, which cost
    # the fast trainer's small batches more than the arithmetic.
    shifted = np.subtract(logits, np.maximum.reduce(logits, axis=1, keepdims=True), out=out)  # exp cannot overflow
    true_logit = shifted[rows, labels]
    probabilities = np.exp(shifted, out=shifted)
    sums = np.add.reduce(probabilities, axis=1, keepdims=True)
    loss = float(np.add.reduce(np.log(sums[:, 0]) - true_logit)) / batch  # -log softmax = log-sum-exp - logit
    probabilities *= (scale / batch) / sums
    probabilities[rows, labels] -= scale / batch
    return loss, probabilities
