"""Convolution and max-pooling as pure functions, in the style of ``nn.layers`` (CS231n).

Images flow as (batch, height, width, channels) arrays. A convolution slides a ``KERNEL`` x
``KERNEL`` window over the image without padding ("valid": the output is ``KERNEL - 1`` pixels
smaller each way) and takes one dot product per window and output channel. Written as a matrix
product ("im2col"): every window's pixels become one row of ``columns``, so the layer is
``columns @ kernels + bias`` exactly like a dense layer, and its backward pass is a dense layer's
backward pass followed by adding each window's gradient back onto the pixels it came from.

Max-pooling keeps the largest of each 2x2 block; its gradient goes to that one pixel (the first
of equal ones, so a blank block, where all four are equal, passes it on once).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

KERNEL = 5  # the side of every convolution window, in pixels
POOL = 2    # the side of every max-pooling block


def conv_forward(x: np.ndarray, kernels: np.ndarray, bias: np.ndarray):
    """A valid convolution: x (batch, h, w, c_in); kernels (c_in * KERNEL * KERNEL, c_out), rows in
    (channel, row, column) order; bias (c_out,) -> out (batch, h - KERNEL + 1, w - KERNEL + 1, c_out)."""
    batch, h, w, _ = x.shape
    out_h, out_w = h - KERNEL + 1, w - KERNEL + 1
    # (batch, out_h, out_w, c_in, KERNEL, KERNEL): one window per output pixel, copied into rows
    columns = sliding_window_view(x, (KERNEL, KERNEL), axis=(1, 2)).reshape(batch * out_h * out_w, -1)
    out = columns @ kernels + bias
    return out.reshape(batch, out_h, out_w, -1), (columns, kernels, x.shape)


def conv_backward(dout: np.ndarray, cache):
    """Gradients of a convolution: dout (batch, h', w', c_out) -> (dx like x, dkernels, dbias (c_out,))."""
    columns, kernels, x_shape = cache
    upstream = dout.reshape(-1, kernels.shape[1])
    dkernels, dbias = columns.T @ upstream, upstream.sum(axis=0)
    batch, h, w, channels = x_shape
    out_h, out_w = h - KERNEL + 1, w - KERNEL + 1
    dcolumns = (upstream @ kernels.T).reshape(batch, out_h, out_w, channels, KERNEL, KERNEL)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for row in range(KERNEL):  # each window pixel's gradient goes back to the image pixel it was
        for column in range(KERNEL):
            dx[:, row : row + out_h, column : column + out_w, :] += dcolumns[..., row, column]
    return dx, dkernels, dbias


def _blocks(x: np.ndarray) -> np.ndarray:
    """(batch, h, w, c) -> (batch, h / POOL, w / POOL, c, POOL * POOL): the pixels of each block."""
    batch, h, w, channels = x.shape
    blocks = x.reshape(batch, h // POOL, POOL, w // POOL, POOL, channels)
    return blocks.transpose(0, 1, 3, 5, 2, 4).reshape(batch, h // POOL, w // POOL, channels, POOL * POOL)


def max_pool_forward(x: np.ndarray):
    """The largest value of each POOL x POOL block: x (batch, h, w, c), h and w multiples of POOL ->
    (batch, h / POOL, w / POOL, c). The cache is which pixel of each block won."""
    blocks = _blocks(x)
    winners = blocks.argmax(axis=-1)
    return np.take_along_axis(blocks, winners[..., None], axis=-1)[..., 0], (winners, x.shape)


def max_pool_backward(dout: np.ndarray, cache) -> np.ndarray:
    """The gradient of max-pooling: dout (batch, h', w', c) -> dx (batch, h, w, c), nonzero only at winners."""
    winners, x_shape = cache
    batch, h, w, channels = x_shape
    dblocks = np.zeros(winners.shape + (POOL * POOL,), dtype=dout.dtype)
    np.put_along_axis(dblocks, winners[..., None], dout[..., None], axis=-1)
    dx = dblocks.reshape(batch, h // POOL, w // POOL, channels, POOL, POOL).transpose(0, 1, 4, 2, 5, 3)
    return dx.reshape(x_shape)


def max_pool(x: np.ndarray) -> np.ndarray:
    """``max_pool_forward`` without a cache, for inference: (batch, h, w, c) -> (batch, h / POOL, w / POOL, c)."""
    batch, h, w, channels = x.shape
    return x.reshape(batch, h // POOL, POOL, w // POOL, POOL, channels).max(axis=(2, 4))
