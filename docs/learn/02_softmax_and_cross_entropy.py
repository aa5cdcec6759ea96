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
# # 2. Softmax, cross-entropy, and the gradient that makes them one
#
# The network's last layer gives ten numbers per image, the *logits* $z$. Softmax turns them into
# probabilities, cross-entropy scores them against the true digit, and together they have the
# simplest gradient in the whole network: $(\mathrm{softmax}(z) - \mathrm{onehot}(y)) / B$.
# The code is `digitnet.nn.losses`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from digitnet.nn.losses import log_softmax, softmax, softmax_cross_entropy

# %% [markdown]
# ## Softmax
#
# $$p_j = \mathrm{softmax}(z)_j = \frac{e^{z_j}}{\sum_k e^{z_k}}$$
#
# Every $p_j$ is positive and they sum to 1. Adding the same constant to every logit changes
# nothing: $e^{z_j + c} / \sum_k e^{z_k + c} = e^{z_j} / \sum_k e^{z_k}$.

# %%
z = np.array([[2.0, 1.0, 0.1, -1.0, 0.0, 0.5, -0.5, 3.0, 0.2, 1.5]])
p = softmax(z)
print(np.round(p, 3), "sum:", p.sum())
assert np.allclose(softmax(z + 100), p)

figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
left.bar(range(10), z[0], color="grey")
left.set_title("logits z")
right.bar(range(10), p[0], color="tab:blue")
right.set_title("softmax(z): probabilities")
for ax in (left, right):
    ax.set_xticks(range(10))

# %% [markdown]
# ## Why log-sum-exp
#
# Written as the formula, softmax overflows: $e^{1000}$ is `inf` in floating point, and
# `inf / inf` is `nan`. Trained networks do produce logits of hundreds when they are sure, and a
# diverging one produces thousands. The cure is the invariance above: subtract the largest logit
# first, $m = \max_k z_k$, so the largest exponent is $e^0 = 1$:
#
# $$\log p_j = z_j - m - \log \sum_k e^{z_k - m}.$$
#
# That is `log_softmax`; nothing in it can overflow, and $\log p$ is exact even where $p$ itself
# rounds to 0.

# %%
huge = np.array([[1000.0, 0.0, -1000.0]])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(huge) / np.exp(huge).sum()
print("naive softmax:   ", naive)
print("digitnet softmax:", softmax(huge))
print("log_softmax:     ", log_softmax(huge))
assert np.isnan(naive).any() and np.isfinite(log_softmax(huge)).all()

# %% [markdown]
# ## Cross-entropy
#
# For a batch of $B$ images with true digits $y_i$, the loss is the mean surprise at the truth:
#
# $$L = -\frac{1}{B} \sum_{i=1}^{B} \log p_{i, y_i}.$$
#
# A network that guesses uniformly has $p = 1/10$ everywhere and $L = \ln 10 \approx 2.303$: the
# loss a fresh network starts near. A sure right answer costs almost nothing, a sure wrong one a lot.

# %%
labels = np.array([7])
loss, _ = softmax_cross_entropy(z, labels)
print(f"loss for the logits above, true digit 7: {loss:.4f} = -log({p[0, 7]:.4f})")
uniform_loss, _ = softmax_cross_entropy(np.zeros((1, 10)), labels)
assert np.isclose(uniform_loss, np.log(10))

probability = np.linspace(0.005, 1, 200)
figure, ax = plt.subplots(figsize=(5, 3))
ax.plot(probability, -np.log(probability))
ax.axhline(np.log(10), color="grey", linestyle=":", label="uniform guess, ln 10")
ax.set_xlabel("probability given to the true digit")
ax.set_ylabel("loss  -log p")
ax.legend()

# %% [markdown]
# ## The gradient: $(\mathrm{softmax} - \mathrm{onehot}) / B$
#
# For one example, $\ell = -\log p_y = -z_y + \log \sum_k e^{z_k}$. Differentiate by $z_j$:
#
# $$\frac{\partial \ell}{\partial z_j} = -[j = y] + \frac{e^{z_j}}{\sum_k e^{z_k}} = p_j - [j = y].$$
#
# Averaging over the batch divides by $B$:
#
# $$\frac{\partial L}{\partial z} = \frac{\mathrm{softmax}(z) - \mathrm{onehot}(y)}{B}.$$
#
# Each row says: push every wrong class down by its probability, and the true class up by what it
# is missing. `softmax_cross_entropy` returns exactly this: it exponentiates the shifted logits
# $z - m$, divides each row by its sum and by $B$, then subtracts $1/B$ at the true digits (its
# loss is $\log \sum_k e^{z_k - m} - (z_y - m)$, the $-\log p_y$ of `log_softmax`). We check it
# against finite differences on a random batch.

# %%
rng = np.random.default_rng(0)
batch = 16
logits = rng.standard_normal((batch, 10)) * 3
labels = rng.integers(0, 10, batch)
loss, dlogits = softmax_cross_entropy(logits, labels)

by_formula = (softmax(logits) - np.eye(10)[labels]) / batch
assert np.allclose(dlogits, by_formula)

eps = 1e-6
numeric = np.zeros_like(logits)
for index in np.ndindex(logits.shape):
    up, down = logits.copy(), logits.copy()
    up[index] += eps
    down[index] -= eps
    numeric[index] = (softmax_cross_entropy(up, labels)[0] - softmax_cross_entropy(down, labels)[0]) / (2 * eps)
relative_error = np.linalg.norm(dlogits - numeric) / (np.linalg.norm(dlogits) + np.linalg.norm(numeric))
print(f"relative error of (softmax - onehot) / B against finite differences: {relative_error:.1e}")
assert relative_error < 1e-6

# %% [markdown]
# Both of digitnet's trainers (notebook 3) call this same function. The fast one passes
# `scale=learning_rate`: the gradient comes out multiplied by $\eta$, so the backward pass yields
# the steps $\eta\, \partial L / \partial \theta$ themselves, with no separate multiplication.

# %%
scaled_loss, steps = softmax_cross_entropy(logits, labels, scale=0.1)
assert scaled_loss == loss and np.allclose(steps, 0.1 * dlogits)

# %% [markdown]
# Every row of the gradient sums to zero (probabilities sum to 1, the one-hot sums to 1), so the
# gradient only moves logits *relative to each other*, the one thing softmax cares about.

# %%
assert np.allclose(dlogits.sum(axis=1), 0)
figure, ax = plt.subplots(figsize=(6, 3))
ax.imshow(dlogits[:6] * batch, cmap="RdBu_r", vmin=-1, vmax=1)
ax.scatter(labels[:6], range(6), marker="x", color="black", label="true digit")
ax.set_xlabel("class")
ax.set_ylabel("example")
ax.set_title("B · dL/dz = softmax - onehot (blue: pushed up, red: pushed down)")
ax.legend(loc="upper right", fontsize=8)
