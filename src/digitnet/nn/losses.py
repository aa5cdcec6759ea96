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


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """Mean categorical cross-entropy of softmax(logits) against integer labels, and its gradient.

    logits: (batch, classes); labels: (batch,) ints in [0, classes).
    Returns (loss: float, dlogits: (batch, classes)). Softmax and cross-entropy are fused because
    their joint gradient is simply ``(softmax(logits) - one_hot(labels)) / batch``.
    """
    batch = len(labels)
    log_probs = log_softmax(logits)
    loss = -log_probs[np.arange(batch), labels].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(batch), labels] -= 1
    return float(loss), dlogits / batch
