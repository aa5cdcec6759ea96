"""A fully connected network: hidden layers with one activation (ReLU by default) and a softmax output.

The readable reference: ``forward`` and ``backward`` chain the layers of ``nn.layers``, and the
reference trainer (``nn.trainers.ReferenceTrainer``) trains with them. The fast trainer computes
the same numbers on the same parameter buffer.
"""

from collections.abc import Sequence

import numpy as np

from digitnet.nn.activations import DEFAULT_ACTIVATION, activation_named
from digitnet.nn.layers import activation_backward, activation_forward, dense_backward, dense_forward
from digitnet.nn.losses import softmax, softmax_cross_entropy


def views_like(arrays: Sequence[np.ndarray], flat: np.ndarray) -> list[np.ndarray]:
    """Views of ``flat`` with the shapes of ``arrays``, one after another: how a flat buffer holds them."""
    views, offset = [], 0
    for a in arrays:
        views.append(flat[offset : offset + a.size].reshape(a.shape))
        offset += a.size
    return views


def architecture(layer_sizes: Sequence[int], channels: Sequence[int] = ()) -> str:
    """A network's layers in one line: "784-128-64-10", or with convolutions in front (``nn.convnet``)
    "784-conv16-conv32-256-11"."""
    return "-".join([str(layer_sizes[0]), *(f"conv{c}" for c in channels), *map(str, layer_sizes[1:])])


def initial_parameters(shapes: Sequence[tuple[int, int]], rng: np.random.Generator, dtype,
                       activation: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights (n_in, n_out) for each shape, normal with std sqrt(gain / n_in) (the activation's
    ``init_gain``), and zero biases (n_out,)."""
    gain = activation_named(activation).init_gain
    weights = [(rng.standard_normal((n_in, n_out)) * np.sqrt(gain / n_in)).astype(dtype) for n_in, n_out in shapes]
    return weights, [np.zeros(n_out, dtype=dtype) for _, n_out in shapes]


class Network:
    """Weights and biases of a multi-layer perceptron, and the maths that uses them.

    ``layer_sizes`` lists the width of every layer, input first: (784, 128, 64, 10).
    ``weights[i]`` has shape (layer_sizes[i], layer_sizes[i + 1]) and ``biases[i]``
    (layer_sizes[i + 1],), so a batch of row vectors x flows as ``x @ weights[i] + biases[i]``.
    Every hidden layer applies ``activation`` (a name in ``nn.activations.ACTIVATIONS``).

    All parameters live in one flat vector, ``flat_parameters``, laid out W0, b0, W1, b1, ...;
    ``weights`` and ``biases`` are views of it, so an update of either is an update of both.
    """

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 activation: str = DEFAULT_ACTIVATION):
        if len(weights) != len(biases) or not weights:
            raise ValueError("a network needs one bias vector per weight matrix, and at least one layer")
        self._check_shapes(weights, biases)
        self.activation = activation_named(activation).name
        pairs = [p for pair in zip(weights, biases) for p in pair]
        self.flat_parameters = np.concatenate([np.ravel(p) for p in pairs]).astype(weights[0].dtype, copy=False)
        views = views_like(pairs, self.flat_parameters)
        self.weights, self.biases = views[0::2], views[1::2]

    @staticmethod
    def _check_shapes(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        """Raise ValueError unless each layer's weights (n_in, n_out) and bias (n_out,) fit each other and
        the layer before."""
        for i, (w, b) in enumerate(zip(weights, biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ValueError(f"layer {i}: weights {w.shape} and bias {b.shape} do not fit together")
            if i and w.shape[0] != weights[i - 1].shape[1]:
                raise ValueError(f"layer {i} takes {w.shape[0]} inputs but layer {i - 1} gives {weights[i - 1].shape[1]}")

    @classmethod
    def initialised(cls, layer_sizes: Sequence[int], rng: np.random.Generator, dtype=np.float32,
                    activation: str = DEFAULT_ACTIVATION) -> "Network":
        """A new network with zero biases and normal weights of std sqrt(gain / n_in): He's for the
        ReLUs (gain 2), Glorot-like for tanh and sigmoid (gain 1)."""
        if len(layer_sizes) < 2 or any(int(n) < 1 for n in layer_sizes):
            raise ValueError(f"layer sizes must be at least two positive widths, got {list(layer_sizes)}")
        return cls(*initial_parameters(list(zip(layer_sizes[:-1], layer_sizes[1:])), rng, dtype, activation),
                   activation)

    channels: tuple[int, ...] = ()  # of the convolutions in front of the dense layers (``nn.convnet``)

    @property
    def convolutions(self) -> int:
        return len(self.channels)

    @property
    def dense_weights(self) -> list[np.ndarray]:
        return self.weights[self.convolutions :]

    @property
    def dense_biases(self) -> list[np.ndarray]:
        return self.biases[self.convolutions :]

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)

    @property
    def architecture(self) -> str:
        return architecture(self.layer_sizes, self.channels)

    @property
    def dtype(self) -> np.dtype:
        return self.flat_parameters.dtype

    @property
    def parameters(self) -> list[np.ndarray]:
        """Every learned array, in the order [W0, b0, W1, b1, ...]; updates happen in place on these."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def with_parameters(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> "Network":
        """A network of this one's kind and activation holding copies of other parameters of the same shapes."""
        return Network(weights, biases, self.activation)

    def copy(self) -> "Network":
        return self.with_parameters(self.weights, self.biases)

    def forward(self, x: np.ndarray):
        """Logits of a batch and what backprop needs: x (batch, n_in) -> ((batch, n_out), caches)."""
        activation = activation_named(self.activation)
        caches = []
        out = x
        last = len(self.dense_weights) - 1
        for i, (w, b) in enumerate(zip(self.dense_weights, self.dense_biases)):
            out, dense_cache = dense_forward(out, w, b)
            activation_cache = None
            if i < last:
                out, activation_cache = activation_forward(out, activation)
            caches.append((dense_cache, activation_cache))
        return out, caches

    def backward(self, dlogits: np.ndarray, caches) -> list[np.ndarray]:
        """Backpropagation: gradients of the loss for every parameter, in ``parameters`` order."""
        return self.backward_to_input(dlogits, caches)[0]

    def backward_to_input(self, dlogits: np.ndarray, caches) -> tuple[list[np.ndarray], np.ndarray]:
        """Backpropagation down to the input: (gradients like ``backward``, dx (batch, n_in)).

        dlogits: (batch, n_out), the gradient of some scalar with respect to the logits. dx says
        how that scalar changes with each input pixel (what ``digitnet.explain`` shows).
        """
        activation = activation_named(self.activation)
        grads = []
        upstream = dlogits
        for dense_cache, activation_cache in reversed(caches):
            if activation_cache is not None:
                upstream = activation_backward(upstream, activation_cache, activation)
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
        """Every layer's output for a batch, hidden ones after the activation: x (n, n_in) -> [(n, width), ...].

        The inference path: the same layers as ``forward``, each applied in place, and no cache is kept.
        """
        activation = activation_named(self.activation)
        outputs = []
        last = len(self.dense_weights) - 1
        for i, (w, b) in enumerate(zip(self.dense_weights, self.dense_biases)):
            x = x @ w
            x += b
            if i < last:
                activation.forward(x, out=x)
            outputs.append(x)
        return outputs

    def hidden_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """The output of each hidden layer after its activation: a list of (batch, width) arrays."""
        return self.layer_outputs(x)[:-1]

    inference_chunk = 2048  # rows per pass in ``logits``

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(n, n_in) -> (n, n_out), computed in chunks of ``inference_chunk`` rows.

        A chunk's hidden activations (2048 x 128 float32: 1 MB) stay in cache between the layers,
        which makes the whole pass about 10% faster than one big product, and large inputs need little memory.
        """
        x = np.asarray(x, dtype=self.dtype)
        chunk = self.inference_chunk
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
