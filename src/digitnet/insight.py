"""What a trained model gets wrong, and what its first layer looks for: the data behind the insight figures."""

from dataclasses import dataclass

import numpy as np

from digitnet.data import IMAGE_SIDE, Split
from digitnet.errors import ModelFileError
from digitnet.modelfile import DIGITS, Model
from digitnet.nn.conv import KERNEL


@dataclass(frozen=True)
class Mistakes:
    """Misclassified examples, most confident first: indices into the split (k,), true labels (k,),
    predicted labels (k,) and the probability the model gave its prediction (k,) in [0, 1]."""

    indices: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)


def mistakes(model: Model, split: Split) -> Mistakes:
    """Every example of ``split`` the model reads wrong, sorted by how sure it was (surest first); what
    it reads is its most likely digit (a "not a digit" output left out, as ``evaluate_model`` does)."""
    probabilities = model.predict_proba(split.images)
    predictions = probabilities[:, :DIGITS].argmax(axis=1)
    wrong = np.flatnonzero(predictions != split.labels)
    confidences = probabilities[wrong, predictions[wrong]]
    order = np.argsort(-confidences, kind="stable")
    wrong = wrong[order]
    return Mistakes(wrong, split.labels[wrong], predictions[wrong], confidences[order].astype(np.float64))


def first_layer_tiles(model: Model) -> np.ndarray:
    """The weights into each first-layer unit as an image: (units, side, side), same units as the weights.

    Pixel (r, c) of tile u is the weight from input pixel (r, c) to hidden unit u (side 28); for a
    network with convolutions, tile u is the kernel of the first convolution's channel u (side
    ``nn.conv.KERNEL``).
    """
    weights = model.network.weights[0]  # (784, units), or the first kernels (KERNEL * KERNEL, channels)
    if model.network.convolutions:
        return weights.T.reshape(-1, KERNEL, KERNEL)
    if weights.shape[0] != IMAGE_SIDE * IMAGE_SIDE:
        raise ModelFileError(f"the model's first layer takes {weights.shape[0]} inputs, not a 28x28 image")
    return weights.T.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
