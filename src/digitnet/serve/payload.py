"""The JSON the web API answers: what ``predict --json`` prints, plus what the network saw and did."""

import base64
import io

import numpy as np

from digitnet.modelfile import Model

DECIMALS = 3  # enough for bars and heat strips, and keeps a reply small
ANNOTATED_MAX_SIDE = 1600  # pixels; larger annotated photos are shrunk for the page


def reading_payload(reading, model: Model, image_name: str) -> dict:
    """``reading.to_dict(image_name)`` with two more keys for each digit.

    ``network_input``: 28 rows of 28 floats in [0, 1], the crop the network read;
    ``hidden_activations``: one list per hidden layer (128 and 64 floats for the seed model), the
    outputs of its units after ReLU for that crop.
    """
    payload = reading.to_dict(image_name)
    if not reading.digits:
        return payload
    x = np.stack([d.network_input.reshape(-1) for d in reading.digits]).astype(model.network.dtype)
    hidden = model.network.hidden_activations(x)
    for i, (digit, entry) in enumerate(zip(reading.digits, payload["digits"])):
        entry["network_input"] = np.round(digit.network_input, DECIMALS).tolist()
        entry["hidden_activations"] = [np.round(layer[i], DECIMALS).tolist() for layer in hidden]
    return payload


def png_data_url(image) -> str:
    """A PIL image as a ``data:image/png;base64,...`` URL, shrunk to at most ANNOTATED_MAX_SIDE pixels."""
    image = image.copy()
    image.thumbnail((ANNOTATED_MAX_SIDE, ANNOTATED_MAX_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def model_description(model: Model) -> dict:
    """What ``GET /api/model`` answers: the architecture and everything the model file says."""
    sizes = list(model.network.layer_sizes)
    return {
        "layer_sizes": sizes,
        "hidden_sizes": sizes[1:-1],
        "parameters": int(sum(p.size for p in model.network.parameters)),
        "metadata": model.metadata,
    }
