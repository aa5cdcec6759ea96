"""A fully connected network: ReLU hidden layers and a softmax output, e.g. 784-128-64-10."""

from collections.abc import Sequence

import numpy as np

from digitnet.nn.layers import dense_backward, dense_forward, relu_backward, relu_forward
from digitnet.nn.losses import softmax, softmax_cross_entropy


class Network:
    """Weights and biases of a multi-layer perceptron, and the maths that uses them.

    ``layer_sizes`` lists the width of every layer, input first: (784, 128, 64, 10).
    ``weights[i]`` has shape (layer_sizes[i], layer_sizes[i + 1]) and ``biases[i]``
    (layer_sizes[i + 1],), so a batch of row vectors x flows as ``x @ weights[i] + biases[i]``.
    """

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]):
        if len(weights) != len(biases) or not weights:
            raise ValueError("a network needs one bias vector per weight matrix, and at least one layer")
        for i, (w, b) in enumerate(zip(weights, biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ValueError(f"layer {i}: weights {w.shape} and bias {b.shape} do not fit together")
            if i and w.shape[0] != weights[i - 1].shape[1]:
                raise ValueError(f"layer {i} takes {w.shape[0]} inputs but layer {i - 1} gives {weights[i - 1].shape[1]}")
        self.weights = list(weights)
        self.biases = list(biases)

    @classmethod
    def initialised(cls, layer_sizes: Sequence[int], rng: np.random.Generator, dtype=np.float32) -> "Network":
        """A new network with He-normal weights (std sqrt(2 / n_in), suited to ReLU) and zero biases."""
        if len(layer_sizes) < 2 or any(int(n) < 1 for n in layer_sizes):
            raise ValueError(f"layer sizes must be at least two positive widths, got {list(layer_sizes)}")
        weights = [
            (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype)
            for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])
        ]
        biases = [np.zeros(n_out, dtype=dtype) for n_out in layer_sizes[1:]]
        return cls(weights, biases)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)

    @property
    def dtype(self) -> np.dtype:
        return self.weights[0].dtype

    @property
    def parameters(self) -> list[np.ndarray]:
        """Every learned array, in the order [W0, b0, W1, b1, ...]; updates happen in place on these."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def copy(self) -> "Network":
        return Network([w.copy() for w in self.weights], [b.copy() for b in self.biases])

    def forward(self, x: np.ndarray):
        """Logits of a batch and what backprop needs: x (batch, n_in) -> ((batch, n_out), caches)."""
        caches = []
        activation = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            activation, dense_cache = dense_forward(activation, w, b)
            relu_cache = None
            if i < last:
                activation, relu_cache = relu_forward(activation)
            caches.append((dense_cache, relu_cache))
        return activation, caches

    def backward(self, dlogits: np.ndarray, caches) -> list[np.ndarray]:
        """Backpropagation: gradients of the loss for every parameter, in ``parameters`` order."""
        return self.backward_to_input(dlogits, caches)[0]

    def backward_to_input(self, dlogits: np.ndarray, caches) -> tuple[list[np.ndarray], np.ndarray]:
        """Backpropagation down to the input: (gradients like ``backward``, dx (batch, n_in)).

        dlogits: (batch, n_out), the gradient of some scalar with respect to the logits. dx says
        how that scalar changes with each input pixel (what ``digitnet.explain`` shows).
        """
        grads = []
        upstream = dlogits
        for dense_cache, relu_cache in reversed(caches):
            if relu_cache is not None:
                upstream = relu_backward(upstream, relu_cache)
            upstream, dweights, dbias = dense_backward(upstream, dense_cache)
            grads = [dweights, dbias] + grads
        return grads, upstream

    def loss_and_gradients(self, x: np.ndarray, labels: np.ndarray):
        """Mean cross-entropy of a batch and its gradient for every parameter.

        x: (batch, n_in); labels: (batch,) ints -> (loss: float, grads like ``parameters``).
        """
        logits, caches = self.forward(x)
        loss, dlogits = softmax_cross_entropy(logits, labels)
        return loss, self.backward(dlogits, caches)

    def layer_outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's output for a batch, hidden ones after ReLU: x (n, n_in) -> [(n, width), ...].

        The inference path: each product is followed by in-place bias and ReLU, and no cache is kept.
        """
        outputs = []
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w
            x += b
            if i < last:
                np.maximum(x, 0, out=x)
            outputs.append(x)
        return outputs

    def hidden_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """The output of each hidden layer after ReLU: a list of (batch, width) arrays."""
        return self.layer_outputs(x)[:-1]

    def logits(self, x: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """(n, n_in) -> (n, n_out), computed in chunks of rows.

        A chunk's hidden activations (2048 x 128 float32: 1 MB) stay in cache between the layers,
        which makes the whole pass about 10% faster than one big product, and large inputs need little memory.
        """
        x = np.asarray(x, dtype=self.dtype)
        if len(x) <= chunk:
            return self.layer_outputs(x)[-1]
        out = np.empty((len(x), self.layer_sizes[-1]), dtype=self.dtype)
        for start in range(0, len(x), chunk):
            out[start : start + chunk] = self.layer_outputs(x[start : start + chunk])[-1]
        return out

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities: x (n, n_in) float in [0, 1] -> (n, n_out), rows sum to 1."""
        return softmax(self.logits(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Most probable class of each row: (n, n_in) -> (n,) int64."""
        return self.logits(x).argmax(axis=1)

    def score(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Accuracy: the fraction of rows whose predicted class equals its label."""
        return float((self.predict(x) == labels).mean())
