"""The training step digitnet runs: the same maths as ``Network`` + ``sgd_step``, made fast.

``Network.loss_and_gradients`` is the readable reference; this module computes the identical
update (tests hold them to float32 rounding) with fewer, allocation-free NumPy calls:

- every intermediate array is preallocated once and written with ``out=``;
- the batch is gathered straight from the full training array into a buffer (``np.take``),
  so no shuffled copy of the data set is ever made;
- the learning rate and the 1/batch of the mean loss are folded into the output gradient, so the
  backward pass yields ready-made parameter updates;
- all parameters live in one flat buffer (the network's arrays become views of it), and so do
  their updates, so that SGD is a single in-place subtraction; momentum, Nesterov and weight
  decay are applied to those same flat arrays by an update from ``nn.optim``.
"""

import numpy as np

from digitnet.nn.network import Network
from digitnet.nn.optim import PlainUpdate


class FusedSGDTrainer:
    """Applies SGD steps to ``network`` in place, for batches of at most ``batch_size`` rows.

    ``update`` turns the learning-rate-scaled steps into parameter changes (default: plain SGD).
    """

    def __init__(self, network: Network, batch_size: int, update=None):
        self.network = network
        self.update = update or PlainUpdate()
        dtype = network.dtype
        sizes = network.layer_sizes
        self.batch_size = batch_size
        self._x = np.empty((batch_size, sizes[0]), dtype)
        self._activations = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        self._upstream = [np.empty((batch_size, n), dtype) for n in sizes[1:-1]]  # gradients at hidden outputs
        self._positive = [np.empty((batch_size, n), bool) for n in sizes[1:-1]]
        self._parameters = _flatten_into_views(network)
        self._steps = np.empty_like(self._parameters)
        self._weight_steps, self._bias_steps = _views_like(network, self._steps)
        self._row_max = np.empty((batch_size, 1), dtype)
        self._row_sum = np.empty((batch_size, 1), dtype)
        self._rows = np.arange(batch_size)

    def step(self, images: np.ndarray, labels: np.ndarray, batch_indices: np.ndarray,
             learning_rate: float) -> float:
        """One gradient step on the rows ``batch_indices`` of images (n, n_in) / labels (n,).

        Returns the batch's mean cross-entropy before the update.
        """
        batch = len(batch_indices)
        if batch == self.batch_size:
            x, acts, ups, positive, rows = self._x, self._activations, self._upstream, self._positive, self._rows
        else:  # the last, smaller batch of an epoch: views on the buffers' first rows
            x, rows = self._x[:batch], self._rows[:batch]
            acts = [a[:batch] for a in self._activations]
            ups = [u[:batch] for u in self._upstream]
            positive = [p[:batch] for p in self._positive]
        np.take(images, batch_indices, axis=0, out=x)
        y = labels[batch_indices]
        weights, biases = self.network.weights, self.network.biases
        last = len(weights) - 1

        inputs = x
        for i, (w, b) in enumerate(zip(weights, biases)):
            np.matmul(inputs, w, out=acts[i])
            acts[i] += b
            if i < last:
                np.maximum(acts[i], 0, out=acts[i])
            inputs = acts[i]

        # Softmax in place on the logits; the loss comes from the same numbers (log-sum-exp).
        logits = acts[last]
        row_max, row_sum = self._row_max[:batch], self._row_sum[:batch]
        np.max(logits, axis=1, keepdims=True, out=row_max)
        logits -= row_max
        true_logit = logits[rows, y]
        np.exp(logits, out=logits)
        np.sum(logits, axis=1, keepdims=True, out=row_sum)
        loss = float(np.log(row_sum).mean() - true_logit.mean())

        # dL/dlogits = (p - one_hot) / batch, pre-multiplied by the learning rate: one scaling
        # turns the exponentials into probabilities and the probabilities into that gradient.
        scale = learning_rate / batch
        np.divide(scale, row_sum, out=row_sum)
        logits *= row_sum
        logits[rows, y] -= scale
        upstream = logits
        for i in range(last, -1, -1):
            below = acts[i - 1] if i else x
            np.matmul(below.T, upstream, out=self._weight_steps[i])
            np.sum(upstream, axis=0, out=self._bias_steps[i])
            if i:
                np.matmul(upstream, weights[i].T, out=ups[i - 1])
                np.greater(below, 0, out=positive[i - 1])
                ups[i - 1] *= positive[i - 1]
                upstream = ups[i - 1]
        self.update.apply(self._parameters, self._steps, learning_rate)
        return loss


def _flatten_into_views(network: Network) -> np.ndarray:
    """Copy the network's parameters into one flat array and make its arrays views of it."""
    flat = np.concatenate([p.ravel() for p in network.parameters])
    network.weights, network.biases = _views_like(network, flat)
    return flat


def _views_like(network: Network, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Views of ``flat`` shaped like the network's weights and biases, in ``parameters`` order."""
    views, offset = [], 0
    for p in network.parameters:
        views.append(flat[offset : offset + p.size].reshape(p.shape))
        offset += p.size
    return views[0::2], views[1::2]
