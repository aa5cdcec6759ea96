"""The JSON the web API answers: what ``predict --json`` prints, plus what the network saw and did."""

import base64
import io

import numpy as np

from digitnet.explain import Explanation, explain
from digitnet.modelfile import Model

DECIMALS = 3  # enough for bars and heat strips, and keeps a reply small
WEIGHT_DECIMALS = 4  # first-layer weights are about +-0.1
GRADIENT_DIGITS = 3  # gradients span many decades: significant digits, not decimals
ANNOTATED_MAX_SIDE = 1600  # pixels; larger annotated photos are shrunk for the page


def reading_payload(reading, model: Model, image_name: str, with_explanation: bool = False) -> dict:
    """``reading.to_dict(image_name)`` with two more keys for each digit (three ``with_explanation``).

    ``network_input``: 28 rows of 28 floats in [0, 1], the crop the network read;
    ``hidden_activations``: one list per hidden layer (128 and 64 floats for the seed model), the
    outputs of its units after ReLU for that crop (of the model's own network, for an ensemble);
    ``explanation``: see ``explanation_payload``.
    """
    payload = reading.to_dict(image_name)
    if not reading.digits:
        return payload
    x = np.stack([d.network_input.reshape(-1) for d in reading.digits]).astype(model.network.dtype)
    hidden = model.network.hidden_activations(x)
    for i, (digit, entry) in enumerate(zip(reading.digits, payload["digits"])):
        entry["network_input"] = _rounded(digit.network_input, DECIMALS)
        entry["hidden_activations"] = [_rounded(layer[i], DECIMALS) for layer in hidden]
        if with_explanation:
            entry["explanation"] = explanation_payload(explain(model, digit.network_input))
    return payload


def explanation_payload(explanation: Explanation) -> dict:
    """An ``Explanation`` as JSON: 28x28 maps as 28 rows of 28 floats.

    ``units``: the most active first-layer units, most active first, each {"unit", "activation",
    "weights"}; ``saliency``: d p(digit) / d pixel; ``runner_up``: {"digit", "probability",
    "probability_after", "steps", "reached", "change"}, the ink change that makes it the answer.
    """
    nudge = explanation.runner_up
    return {
        "units": [{"unit": int(unit), "activation": round(float(activation), DECIMALS),
                   "weights": _rounded(weights, WEIGHT_DECIMALS)}
                  for unit, activation, weights in zip(explanation.units, explanation.activations, explanation.weights)],
        "saliency": _significant(explanation.saliency),
        "runner_up": {"digit": nudge.digit, "probability": round(nudge.probability_before, 6),
                      "probability_after": round(nudge.probability_after, 6), "steps": nudge.steps,
                      "reached": nudge.reached, "change": _rounded(nudge.change, DECIMALS)},
    }


def _rounded(array: np.ndarray, decimals: int) -> list:
    """A float array as nested lists rounded to ``decimals``; in float64, so that JSON prints 0.1, not
    float32's 0.10000000149011612."""
    return np.round(np.asarray(array, np.float64), decimals).tolist()


def _significant(array: np.ndarray) -> list:
    """A float array as nested lists, each value rounded to GRADIENT_DIGITS significant digits."""
    values = np.asarray(array, np.float64)
    magnitude = np.floor(np.log10(np.abs(values), out=np.zeros_like(values), where=values != 0))
    scale = 10.0 ** (GRADIENT_DIGITS - 1 - magnitude)
    return (np.round(values * scale) / scale).tolist()


def png_data_url(image) -> str:
    """A PIL image as a ``data:image/png;base64,...`` URL, shrunk to at most ANNOTATED_MAX_SIDE pixels."""
    image = image.copy()
    image.thumbnail((ANNOTATED_MAX_SIDE, ANNOTATED_MAX_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def model_description(model: Model) -> dict:
    """What ``GET /api/model`` answers: the architecture of the network the page shows (the model's
    own), those of the members that read with it, and everything the model file says."""
    sizes = list(model.network.layer_sizes)
    return {
        "layer_sizes": sizes,
        "architecture": model.network.architecture,
        "members": [member.network.architecture for member in model.members],
        "hidden_sizes": sizes[1:-1],
        "parameters": int(sum(p.size for p in model.network.parameters)),
        "metadata": model.metadata,
    }
