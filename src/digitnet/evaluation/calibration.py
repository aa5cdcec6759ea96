"""How far a model's confidence can be trusted: expected calibration error and temperature scaling."""

import numpy as np

from digitnet.evaluation.metrics import mean_cross_entropy
from digitnet.modelfile import TEMPERATURE_RANGE
from digitnet.nn.losses import softmax

ECE_BINS = 15


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: |accuracy - mean confidence| averaged over equal-width confidence bins, weighted by size.

    probabilities: (n, classes) rows summing to 1; labels: (n,) ints. 0 is perfectly calibrated.
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    gap = np.bincount(which, weights=correct - confidence, minlength=bins)
    return float(np.abs(gap).sum() / max(len(labels), 1))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 that minimises the cross-entropy of softmax(logits / T) on held-out data (Guo et al. 2017).

    logits: (n, classes) float; labels: (n,) ints. T > 1 softens an over-confident model.
    """
    from scipy.optimize import minimize_scalar  # only fitting needs SciPy (digitnet[train]); evaluating does not

    logits = logits.astype(np.float64)
    low, high = np.log(TEMPERATURE_RANGE)
    result = minimize_scalar(lambda log_t: mean_cross_entropy(logits / np.exp(log_t), labels),
                             bounds=(low, high), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))


def calibration_errors(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """ECE of softmax(logits) and of softmax(logits / temperature) on the same examples."""
    return {"ece": expected_calibration_error(softmax(logits), labels),
            "ece_scaled": expected_calibration_error(softmax(logits / temperature), labels)}


def calibrate(network, validation, test) -> dict:
    """Fit a softmax temperature on the validation split; ECE before and after on both splits.

    network: a ``Network``; validation, test: ``Split``s. Returns the model file's ``calibration`` entry.
    """
    validation_logits = network.logits(validation.images)
    temperature = fit_temperature(validation_logits, validation.labels)
    return {"temperature": temperature, "fitted_on": f"validation split ({len(validation)} images)",
            "validation": calibration_errors(validation_logits, validation.labels, temperature),
            "test": calibration_errors(network.logits(test.images), test.labels, temperature)}
