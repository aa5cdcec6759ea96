"""Convolutional layers in front of a fully connected network: LeNet's shape, from ``nn.conv``.

Each convolution is ``conv.KERNEL`` x ``conv.KERNEL`` ("valid"), then the network's activation,
then 2x2 max-pooling. With ``channels`` (16, 32) a 28x28 digit becomes 24x24x16, 12x12x16,
8x8x32 and 4x4x32 = 512 numbers, which the dense layers of ``Network`` take as their input.
The convolutions see the strokes' local shapes wherever they are; a dense first layer must learn
each shape at every place again.
"""

import math
from collections.abc import Sequence

import numpy as np

from digitnet.nn.activations import DEFAULT_ACTIVATION, activation_named
from digitnet.nn.conv import KERNEL, POOL, conv_backward, conv_forward, max_pool, max_pool_backward, max_pool_forward
from digitnet.nn.layers import activation_backward, activation_forward
from digitnet.nn.network import Network, initial_parameters


def feature_sides(image_side: int, convolutions: int) -> list[int]:
    """The side of the image after each convolution and its pooling: 28, 2 -> [12, 4].
    Raises ValueError where a side would not divide into pooling blocks or would vanish."""
    sides, side = [], image_side
    for _ in range(convolutions):
        side -= KERNEL - 1
        if side < POOL or side % POOL:
            raise ValueError(f"{convolutions} convolutions do not fit a {image_side}x{image_side} image")
        side //= POOL
        sides.append(side)
    return sides


def weight_shapes(channels: Sequence[int], layer_sizes: Sequence[int]) -> list[tuple[int, int]]:
    """The (n_in, n_out) of every weight matrix, convolutions first: channels (16, 32), layer sizes
    (784, 256, 11) -> [(25, 16), (400, 32), (512, 256), (256, 11)]. Raises ValueError as ``feature_sides``."""
    side = feature_sides(math.isqrt(layer_sizes[0]), len(channels))[-1]
    fan_ins = [c * KERNEL * KERNEL for c in (1, *channels[:-1])] + [side * side * channels[-1], *layer_sizes[1:-1]]
    return list(zip(fan_ins, [*channels, *layer_sizes[1:]]))


class ConvNetwork(Network):
    """A ``Network`` whose first ``len(channels)`` layers are convolutions.

    ``weights[i]`` of convolution i is its kernels as a matrix (c_in * KERNEL * KERNEL, channels[i])
    and ``biases[i]`` is (channels[i],); the dense layers follow as in ``Network``, the first taking
    the last feature maps flattened in (row, column, channel) order. Inputs are rows of
    ``image_side`` ** 2 pixels, as for ``Network``. ``layer_sizes`` is (pixels, dense widths...).
    """

    inference_chunk = 256  # the second convolution's windows of 256 crops: 26 MB

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], channels: Sequence[int],
                 activation: str = DEFAULT_ACTIVATION, image_side: int = 28):
        self.channels, self.image_side = tuple(int(c) for c in channels), int(image_side)
        super().__init__(weights, biases, activation)

    def _check_shapes(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        n = self.convolutions
        if not n or len(weights) <= n or any(w.ndim != 2 for w in weights):
            raise ValueError("a convolutional network needs at least one convolution and one dense layer of matrices")
        expected = weight_shapes(self.channels, (self.image_side ** 2, *(w.shape[1] for w in weights[n:])))
        for i, (w, b, shape) in enumerate(zip(weights, biases, expected)):
            if w.shape != shape or b.shape != (shape[1],):
                layer = f"convolution {i}" if i < n else f"layer {i}"
                raise ValueError(f"{layer}: weights {w.shape} and bias {b.shape} do not fit; expected {shape}")

    @classmethod
    def initialised(cls, channels: Sequence[int], layer_sizes: Sequence[int], rng: np.random.Generator,
                    dtype=np.float32, activation: str = DEFAULT_ACTIVATION) -> "ConvNetwork":
        """A new network with zero biases and He-style weights (``network.initial_parameters``).
        layer_sizes: (pixels, dense widths..., outputs), as in ``layer_sizes``."""
        if len(layer_sizes) < 2 or any(int(n) < 1 for n in layer_sizes) or not channels or min(channels) < 1:
            raise ValueError(f"need at least one convolution and one dense layer, got channels {list(channels)} "
                             f"and layer sizes {list(layer_sizes)}")
        image_side = math.isqrt(layer_sizes[0])
        if image_side * image_side != layer_sizes[0]:
            raise ValueError(f"a convolutional network takes square images, not {layer_sizes[0]} pixels")
        weights, biases = initial_parameters(weight_shapes(channels, layer_sizes), rng, dtype, activation)
        return cls(weights, biases, channels, activation, image_side)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.image_side ** 2,) + tuple(w.shape[1] for w in self.dense_weights)

    def with_parameters(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> "ConvNetwork":
        return ConvNetwork(weights, biases, self.channels, self.activation, self.image_side)

    def _as_images(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), self.image_side, self.image_side, 1)

    def forward(self, x: np.ndarray):
        """Logits and caches: x (batch, pixels) -> ((batch, n_out), (convolution caches, dense caches))."""
        features, conv_caches = self.convolutions_forward(x)
        logits, dense_caches = super().forward(features)
        return logits, (conv_caches, dense_caches)

    def backward_to_input(self, dlogits: np.ndarray, caches) -> tuple[list[np.ndarray], np.ndarray]:
        """Backpropagation through the dense layers, then the convolutions:
        (gradients in ``parameters`` order, dx (batch, pixels))."""
        conv_caches, dense_caches = caches
        dense_grads, dfeatures = super().backward_to_input(dlogits, dense_caches)
        conv_grads, dx = self.convolutions_backward(dfeatures, conv_caches)
        return conv_grads + dense_grads, dx

    def convolutions_forward(self, x: np.ndarray):
        """Each convolution, its activation and its pooling: x (batch, pixels) -> (features (batch, n),
        the n inputs of the first dense layer, and the caches for ``convolutions_backward``)."""
        activation = activation_named(self.activation)
        out, caches = self._as_images(x), []
        for kernels, bias in zip(self.weights[: self.convolutions], self.biases[: self.convolutions]):
            out, conv_cache = conv_forward(out, kernels, bias)
            out, activation_cache = activation_forward(out, activation)
            out, pool_cache = max_pool_forward(out)
            caches.append((conv_cache, activation_cache, pool_cache))
        return out.reshape(len(x), -1), (caches, out.shape)

    def convolutions_backward(self, dfeatures: np.ndarray, caches) -> tuple[list[np.ndarray], np.ndarray]:
        """From the gradient at the features (batch, n) back through each pooling, activation and
        convolution: (the convolutions' gradients [dkernels0, dbias0, ...], dx (batch, pixels))."""
        layer_caches, feature_shape = caches
        activation = activation_named(self.activation)
        grads, upstream = [], dfeatures.reshape(feature_shape)
        for conv_cache, activation_cache, pool_cache in reversed(layer_caches):
            upstream = max_pool_backward(upstream, pool_cache)
            upstream = activation_backward(upstream, activation_cache, activation)
            upstream, dkernels, dbias = conv_backward(upstream, conv_cache)
            grads = [dkernels, dbias] + grads
        return grads, upstream.reshape(len(dfeatures), -1)

    def feature_maps(self, x: np.ndarray) -> list[np.ndarray]:
        """Each convolution's output after its activation and pooling, no cache kept:
        x (n, pixels) -> [(n, side, side, channels[i]), ...]."""
        activation = activation_named(self.activation)
        maps, out = [], self._as_images(np.asarray(x, dtype=self.dtype))
        for kernels, bias in zip(self.weights[: self.convolutions], self.biases[: self.convolutions]):
            out = max_pool(conv_forward(out, kernels, bias)[0])  # pooling first: max and a rising activation commute
            activation.forward(out, out=out)
            maps.append(out)
        return maps

    def layer_outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """The dense layers' outputs (hidden ones after the activation) for a batch: x (n, pixels) ->
        [(n, width), ...], computed from the last feature maps."""
        return super().layer_outputs(self.feature_maps(x)[-1].reshape(len(x), -1))
