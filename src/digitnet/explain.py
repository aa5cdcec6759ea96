"""Why the network gave its answer for one 28x28 input: what fired, which pixels mattered, what would change it.

Three views, each a few lines of maths on the network's own passes (``Network.forward`` and
``Network.backward_to_input``; nothing here differentiates a second time):

- the first fully connected layer's units that fired most, with how each pixel moves them: the
  weights from every pixel into them, or, behind convolutions, the gradient of each unit's input
  sum with respect to every pixel (what those weights are for a network without convolutions);
- a saliency map, the gradient of the answer's probability with respect to every input pixel:
  with p = softmax(z / T), dp_c/dz = p_c (onehot_c - p) / T, carried back to the pixels;
- "why not X?": a change of ink that makes X the answer, found by small steps up the gradient
  of the logit margin z_X - z_answer (ink stays in [0, 1]).

For an ensemble (``Model.members``: the ``reader``) every view is of the model's own network
(``Model.network``), its probabilities included.
"""

from dataclasses import dataclass

import numpy as np

from digitnet.insight import first_layer_tiles
from digitnet.modelfile import DIGITS, Model
from digitnet.nn.losses import softmax

TOP_UNITS = 8        # first-layer units shown per digit
NUDGE_STEP = 0.05    # how far one "why not" step moves the pixel that changes most (full ink = 1)
NUDGE_STEPS = 60     # at most this many steps; ink may change by up to NUDGE_STEP * NUDGE_STEPS


@dataclass(frozen=True)
class Nudge:
    """The change of input that moves the answer toward ``digit``.

    change: (28, 28) float, ink to add (> 0) or remove (< 0); probability_before / probability_after:
    the probability of ``digit`` for the input and for input + change; steps: steps taken;
    reached: whether ``digit`` became the answer within NUDGE_STEPS.
    """

    digit: int
    change: np.ndarray
    probability_before: float
    probability_after: float
    steps: int
    reached: bool


@dataclass(frozen=True)
class Explanation:
    """Why the network read one input as ``digit``.

    digit: the most probable digit, as the reader reads it (a "not a digit" output is never the answer);
    probabilities: (outputs,) as the model gives them (temperature applied; 11 with "not a digit");
    units: (k,) indices of the most active units of the first dense layer, most active first;
    activations: (k,) their outputs after ReLU; weights: (k, 28, 28) how each pixel moves their input
    sum (``unit_pixel_maps``);
    saliency: (28, 28) d probabilities[digit] / d pixel (per unit of ink);
    runner_up: the nudge toward the second most probable digit (never "not a digit").
    """

    digit: int
    probabilities: np.ndarray
    units: np.ndarray
    activations: np.ndarray
    weights: np.ndarray
    saliency: np.ndarray
    runner_up: Nudge


def _as_row(model: Model, image: np.ndarray) -> np.ndarray:
    """(28, 28) or (784,) -> (1, 784) in the network's dtype."""
    return np.asarray(image, dtype=model.network.dtype).reshape(1, -1)


def probability_gradient(model: Model, image: np.ndarray, digit: int) -> np.ndarray:
    """d p_digit / d x for one input: image (28, 28) in [0, 1] -> (28, 28), p as ``model.network_proba``."""
    x = _as_row(model, image)
    logits, caches = model.network.forward(x)
    temperature = model.temperature
    probabilities = softmax(logits / temperature)
    one_hot_minus_p = -probabilities
    # 1 - p_c as the sum of the other classes: still accurate where p_c rounds to 1 in float32
    one_hot_minus_p[0, digit] = np.delete(probabilities[0], digit).sum()
    dlogits = probabilities[0, digit] * one_hot_minus_p / temperature  # dp_c/dz = p_c (onehot_c - p) / T
    _, dx = model.network.backward_to_input(dlogits, caches)
    return dx.reshape(np.shape(image))


def _margin_dlogits(logits: np.ndarray, toward: int, away_from: int) -> np.ndarray:
    """d (z_toward - z_away_from) / d logits: +1 and -1 in a row of zeros, (1, classes)."""
    dlogits = np.zeros_like(logits)
    dlogits[0, toward], dlogits[0, away_from] = 1, -1
    return dlogits


def margin_gradient(model: Model, image: np.ndarray, toward: int, away_from: int) -> np.ndarray:
    """d (z_toward - z_away_from) / d x, the logit margin's gradient: image (28, 28) -> (28, 28)."""
    logits, caches = model.network.forward(_as_row(model, image))
    _, dx = model.network.backward_to_input(_margin_dlogits(logits, toward, away_from), caches)
    return dx.reshape(np.shape(image))


def nudge_toward(model: Model, image: np.ndarray, digit: int) -> Nudge:
    """Step the ink up the margin between ``digit`` and the current answer until ``digit`` wins.

    Each step moves every pixel by NUDGE_STEP * g / max|g| (g the margin's gradient) and clips to [0, 1].
    """
    start = np.asarray(image, dtype=model.network.dtype)
    x, steps = start.copy(), 0
    logits, caches = model.network.forward(_as_row(model, x))
    before = float(softmax(logits / model.temperature)[0, digit])
    while steps < NUDGE_STEPS and (answer := int(logits.argmax())) != digit:
        _, gradient = model.network.backward_to_input(_margin_dlogits(logits, digit, answer), caches)
        largest = np.abs(gradient).max()
        if largest == 0:  # no pixel moves the margin: every first-layer unit is off
            break
        x = np.clip(x + NUDGE_STEP * gradient.reshape(x.shape) / largest, 0, 1)
        steps += 1
        logits, caches = model.network.forward(_as_row(model, x))
    after = float(softmax(logits / model.temperature)[0, digit])
    return Nudge(digit, x - start, before, after, steps, int(logits.argmax()) == digit)


def explain(model: Model, image: np.ndarray, top_units: int = TOP_UNITS) -> Explanation:
    """All three views for one input: image (28, 28) float in [0, 1], as ``DigitReading.network_input``."""
    x = _as_row(model, image)
    probabilities = model.network_proba(x)[0]
    digit, runner_up = (int(d) for d in np.argsort(-probabilities[:DIGITS], kind="stable")[:2])
    first_hidden = model.network.layer_outputs(x)[0][0]
    units = np.argsort(-first_hidden, kind="stable")[:top_units]
    return Explanation(
        digit=digit,
        probabilities=probabilities,
        units=units,
        activations=first_hidden[units],
        weights=unit_pixel_maps(model, image, units),
        saliency=probability_gradient(model, image, digit),
        runner_up=nudge_toward(model, image, runner_up),
    )


def unit_pixel_maps(model: Model, image: np.ndarray, units: np.ndarray) -> np.ndarray:
    """d (input sum of each first-dense-layer unit) / d pixel: (k,) units -> (k, 28, 28). For a fully
    connected network these are the unit's weights (``insight.first_layer_tiles``), whatever the image;
    behind convolutions they depend on the image, and come from the convolutions' backward pass."""
    network = model.network
    if not network.convolutions:
        return first_layer_tiles(model)[units]
    rows = np.repeat(_as_row(model, image), len(units), axis=0)
    _, caches = network.convolutions_forward(rows)
    dfeatures = np.ascontiguousarray(network.dense_weights[0][:, units].T)  # (k, features)
    return network.convolutions_backward(dfeatures, caches)[1].reshape(-1, 28, 28)
