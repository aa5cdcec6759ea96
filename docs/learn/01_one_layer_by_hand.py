# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. One layer by hand
#
# A dense layer is one matrix product and one addition. This notebook writes its forward pass and
# its backward pass (the chain rule) with NumPy, checks them against digitnet's own layer code in
# `digitnet.nn.layers` and its activation registry `digitnet.nn.activations`, and then checks both against the definition of a derivative: nudge one
# weight, see how much the loss moves. If the gradient check passes, backpropagation is right.
#
# Everything runs on real MNIST digits from the offline copy (`digitnet.data.load_dataset`).

# %%
import matplotlib.pyplot as plt
import numpy as np

from digitnet.data import as_network_input, load_dataset
from digitnet.nn.activations import activation_named
from digitnet.nn.layers import activation_backward, activation_forward, dense_backward, dense_forward

dataset = load_dataset()
x = as_network_input(dataset.train_images[:8]).astype(np.float64)  # (batch, 784), pixels in [0, 1]
labels = dataset.train_labels[:8]
print(x.shape, labels)

# %% [markdown]
# ## The forward pass
#
# A batch is a matrix with one example per row, $X \in \mathbb{R}^{B \times 784}$. A layer with
# $n$ units holds weights $W \in \mathbb{R}^{784 \times n}$ (column $j$: what unit $j$ looks for)
# and a bias $b \in \mathbb{R}^{n}$:
#
# $$Y = X W + b, \qquad Y_{ij} = \sum_k X_{ik} W_{kj} + b_j .$$
#
# $b$ is added to every row (NumPy broadcasting). Then the ReLU keeps the positive part:
# $H = \max(Y, 0)$.
#
# digitnet looks its hidden activation up by name in a small registry, `ACTIVATIONS` in
# `digitnet.nn.activations` (ReLU, leaky ReLU, tanh, sigmoid): each entry holds the function $g$,
# its derivative $g'$ written in terms of the output $y = g(x)$, and the initialisation gain.
# `Network` and both trainers train with exactly these entries.

# %%
rng = np.random.default_rng(0)
units = 5
relu = activation_named("relu")  # the entry of digitnet.nn.activations.ACTIVATIONS that Network uses
W = rng.standard_normal((784, units)) * np.sqrt(relu.init_gain / 784)  # He: gain 2, as Network.initialised
b = rng.standard_normal(units) * 0.1

Y = x @ W + b              # Y = XW + b
H = np.maximum(Y, 0)       # H = max(Y, 0)

Y_digitnet, dense_cache = dense_forward(x, W, b)
H_digitnet, relu_cache = activation_forward(Y_digitnet, relu)
assert np.allclose(Y, Y_digitnet) and np.allclose(H, H_digitnet)
print("Y:", Y.shape, " H:", H.shape, " units off (H = 0):", int((H == 0).sum()), "of", H.size)

# %% [markdown]
# ## The backward pass: the chain rule
#
# Give the layer a scalar to minimise. Any will do for checking gradients; take
# $L = \sum_{ij} H_{ij} G_{ij}$ for a fixed random matrix $G$, so that $\partial L / \partial H = G$
# (in a network, $G$ is whatever the layers above send down).
#
# Through the ReLU the gradient passes where the input was positive and stops elsewhere:
#
# $$\frac{\partial L}{\partial Y} = G \odot [Y > 0].$$
#
# ($[Y > 0]$ is $g'(Y)$, and since $H = \max(Y, 0)$ is positive exactly where $Y$ is, it equals
# $[H > 0]$: that is why the registry can compute $g'$ from the cached output $H$.)
#
# Through $Y = XW + b$, with $D = \partial L / \partial Y$ (the "upstream" gradient, $B \times n$):
#
# $$\frac{\partial L}{\partial W_{kj}} = \sum_i X_{ik} D_{ij}
# \;\Rightarrow\; \frac{\partial L}{\partial W} = X^\top D, \qquad
# \frac{\partial L}{\partial b} = \sum_i D_{i\,\cdot}, \qquad
# \frac{\partial L}{\partial X} = D W^\top .$$
#
# The shapes tell you the order of the products: $X^\top D$ is $(784 \times B)(B \times n)$,
# the shape of $W$.

# %%
G = rng.standard_normal(H.shape)

def loss_of(W, b):
    """L = sum(relu(xW + b) * G): a scalar whose gradient we know how to compute."""
    return float((np.maximum(x @ W + b, 0) * G).sum())

D = G * (Y > 0)       # dL/dY = G ⊙ [Y > 0]
assert np.array_equal(relu.derivative(H), Y > 0)  # g' from the output H, as the registry computes it
dW = x.T @ D          # dL/dW = Xᵀ D
db = D.sum(axis=0)    # dL/db = Σ_i D_i
dX = D @ W.T          # dL/dX = D Wᵀ

dX_digitnet, dW_digitnet, db_digitnet = dense_backward(activation_backward(G, relu_cache, relu), dense_cache)
assert np.allclose(dW, dW_digitnet) and np.allclose(db, db_digitnet) and np.allclose(dX, dX_digitnet)
print("by hand == digitnet.nn.layers:", dW.shape, db.shape, dX.shape)

# %% [markdown]
# ## The finite-difference check
#
# The definition of a derivative gives an answer that needs no calculus at all. With a small
# $\varepsilon$, the central difference
#
# $$\frac{\partial L}{\partial W_{kj}} \approx \frac{L(W + \varepsilon E_{kj}) - L(W - \varepsilon E_{kj})}{2\varepsilon}$$
#
# is off by $O(\varepsilon^2)$. We compute it for **every** one of the $784 \times 5$ weights and
# the 5 biases, and compare with the relative error
# $\lVert a - n \rVert / (\lVert a \rVert + \lVert n \rVert)$ (CS231n's bar: about $10^{-7}$ in float64).

# %%
def numeric_gradient(f, array, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of ``array`` (changed in place, restored)."""
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        up = f()
        array[index] = saved - eps
        down = f()
        array[index] = saved
        gradient[index] = (up - down) / (2 * eps)
    return gradient

def relative_error(analytic, numeric):
    return float(np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric)))

dW_numeric = numeric_gradient(lambda: loss_of(W, b), W)
db_numeric = numeric_gradient(lambda: loss_of(W, b), b)
errors = {"W": relative_error(dW, dW_numeric), "b": relative_error(db, db_numeric)}
print({name: f"{error:.1e}" for name, error in errors.items()})
assert max(errors.values()) < 1e-6, errors  # the gradient check passes

# %% [markdown]
# Both relative errors are far below $10^{-6}$: the chain rule above is right, and so is the code
# digitnet trains with. A wrong transpose or a forgotten ReLU mask gives errors near 1.
#
# To see what a bug looks like, drop the ReLU mask (pretend the gradient flows everywhere):

# %%
wrong_dW = x.T @ G
print(f"relative error without the ReLU mask: {relative_error(wrong_dW, dW_numeric):.2f}")
assert relative_error(wrong_dW, dW_numeric) > 0.1

# %% [markdown]
# ## What the gradient of a weight looks like
#
# Each column of $\partial L / \partial W$ has one entry per pixel, so it is a 28x28 image: where
# this batch's ink is, and how this unit's upstream gradient weighted it. Pixels with no ink in any
# of the 8 digits get exactly zero gradient ($X_{ik} = 0$ in $X^\top D$).

# %%
figure, axes = plt.subplots(1, units, figsize=(2.2 * units, 2.4))
for unit, ax in enumerate(axes):
    limit = np.abs(dW[:, unit]).max() or 1
    ax.imshow(dW[:, unit].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"dL/dW[:, {unit}]", fontsize=9)
    ax.set_axis_off()
figure.suptitle("The gradient of each unit's weights, as images (red +, blue -)")
print("pixels with no ink in the batch have zero gradient:",
      bool(np.all(dW[x.sum(axis=0) == 0] == 0)))
