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
# # 4. What the network learned
#
# The shipped `seed` model is the original project's recipe (784-128-64-10, learning rate 0.1,
# batch 32, 200 epochs) trained by digitnet on all 60,000 training images. This notebook looks
# inside it: the first layer's weights as pictures, the test digits it gets wrong, the confusion
# matrix, an experiment that explains a puzzle from the original project (its output layer was
# never trained, and it still read 97.65% of the test digits), and, last, the explanation the web
# page gives for one answer.
#
# The figures come from `digitnet.plots`, the functions behind `digitnet plot ...`; they are plain
# matplotlib `Figure`s, which the `%matplotlib inline` line lets Jupyter show under each cell.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from digitnet import Network, load_dataset, load_model
from digitnet.data import split_train_validation, test_split
from digitnet.explain import explain
from digitnet.insight import first_layer_tiles, mistakes
from digitnet.evaluation.metrics import confusion_matrix
from digitnet.nn.optim import sgd_step
from digitnet.plots import confusion_figure, mistakes_figure, weights_figure

threadpool_limits(1, user_api="blas")  # small matrices: one BLAS thread is fastest (notebook 3)
dataset = load_dataset()
test = test_split(dataset)
model = load_model("seed")
accuracy = model.network.score(test.images, test.labels)
print(f"seed model {model.network.layer_sizes}: test accuracy {accuracy:.4f}")
assert accuracy > 0.98

# %% [markdown]
# ## The first layer's weights, as pictures
#
# Hidden unit $j$ of the first layer computes $h_j = \max(0, \sum_k x_k W_{kj} + b_j)$: a weighted
# sum of the 784 pixels. Column $W_{\cdot j}$ has one weight per pixel, so it can be drawn as a
# 28x28 image (`first_layer_tiles`): red where ink *excites* the unit, blue where ink *inhibits*
# it. Some units plainly look for a stroke in one place and for its absence beside it, learned from
# nothing but labelled digits; most are a blend that only means something together with the others.

# %%
tiles = first_layer_tiles(model)  # (128, 28, 28): tiles[j][r, c] = W[28 r + c, j]
assert np.array_equal(tiles[5].reshape(-1), model.network.weights[0][:, 5])
weights_figure(tiles, pixel=3)

# %% [markdown]
# The speckle around the edges of every tile is left over from the start. The gradient of a
# weight is $\partial L / \partial W = X^\top D$ (notebook 1): a pixel that is blank in every
# training image gets exactly zero gradient, so its weights never move from their random initial
# values (and a pixel inked in a few images barely moves). The seed model was trained from `Network.initialised(..., default_rng(0))`, so we can
# rebuild those initial weights and compare.

# %%
never_inked = dataset.train_images.reshape(len(dataset.train_images), -1).max(axis=0) == 0  # (784,)
initial = Network.initialised((784, 128, 64, 10), np.random.default_rng(0))
unchanged = np.array_equal(model.network.weights[0][never_inked], initial.weights[0][never_inked])
print(f"{never_inked.sum()} pixels are blank in all 60,000 training images; "
      f"their weights are still the initial ones: {unchanged}")
assert unchanged

# %% [markdown]
# ## The digits it gets wrong
#
# `mistakes` lists every misread test digit, the ones the model was surest about first. Many are
# digits a person would hesitate over too; some are labels one could argue with.

# %%
wrong = mistakes(model, test)
print(f"{len(wrong)} mistakes in {len(test):,} test digits")
assert len(wrong) == round((1 - accuracy) * len(test))
shown = wrong.indices[:20]
mistakes_figure(dataset.test_images[shown], wrong.labels[:20], wrong.predictions[:20], wrong.confidences[:20],
                of_total=len(wrong))

# %% [markdown]
# ## The confusion matrix
#
# Row $i$, column $j$ counts the test digits labelled $i$ that the model read as $j$. The
# diagonal holds the right answers; everything off it is a mistake, and the largest off-diagonal
# cells name the pairs that look alike to the network.

# %%
predictions = model.network.predict(test.images)
confusion = confusion_matrix(test.labels, predictions)
assert np.trace(confusion) == int((predictions == test.labels).sum())
off_diagonal = confusion - np.diag(np.diag(confusion))
true, read_as = np.unravel_index(off_diagonal.argmax(), confusion.shape)
print(f"the most frequent mistake: {true} read as {read_as} ({off_diagonal.max()} times)")
confusion_figure(confusion)

# %% [markdown]
# ## Why a frozen output layer still reached 0.9765
#
# The original project's update loop skipped its last layer: the 64-to-10 weights $W_3$ and biases
# $b_3$ kept their random initial values for all 200 epochs, and the model still scored 0.9765
# (digitnet's `seed`, which trains every layer, scores 0.9816).
#
# Backpropagation explains it. The gradient still flows *through* the frozen layer:
# $\partial L / \partial h_2 = (\partial L / \partial z)\, W_3^\top$, so the first two layers keep
# learning. They cannot change the read-out $z = h_2 W_3 + b_3$, so they learn to produce hidden
# vectors $h_2$ that this fixed random read-out maps to the right digit. A random $64 \times 10$
# matrix has rank 10, so for every digit there are directions of $h_2$ that raise exactly its
# logit; the network has 64 dimensions to find them in. The frozen layer holds only 650 of the
# 109,386 parameters (0.6%), and it is the rest that does the learning.
#
# The experiment: the same network and initial weights, one epoch each of the textbook step
# (notebook 3: `loss_and_gradients`, then `sgd_step`), once training all layers and once updating
# all but the last.

# %%
training, _ = split_train_validation(dataset, 5000)

def one_epoch(trained_parameters):
    """One epoch of SGD (lr 0.1, batch 32) over the 55,000 images, updating the first ``trained_parameters`` arrays."""
    network = Network.initialised((784, 128, 64, 10), np.random.default_rng(0))
    output_layer_before = network.weights[-1].copy()
    order = np.random.default_rng(1).permutation(len(training))
    for start in range(0, len(order), 32):
        batch = order[start : start + 32]
        _, gradients = network.loss_and_gradients(training.images[batch], training.labels[batch])
        sgd_step(network.parameters[:trained_parameters], gradients[:trained_parameters], 0.1)
    return network, output_layer_before

every_layer, _ = one_epoch(trained_parameters=6)     # W1 b1 W2 b2 W3 b3
frozen, output_layer_before = one_epoch(trained_parameters=4)  # W3 and b3 stay as initialised
assert np.array_equal(frozen.weights[-1], output_layer_before)  # the output layer never moved

every_accuracy = every_layer.score(test.images, test.labels)
frozen_accuracy = frozen.score(test.images, test.labels)
print(f"after one epoch: every layer trained {every_accuracy:.4f}, output layer frozen {frozen_accuracy:.4f}")
assert frozen_accuracy > 0.9 and every_accuracy - frozen_accuracy < 0.01

# %% [markdown]
# After a single epoch the frozen network is close behind the fully trained one (under one
# point on this seed).
# Over 200 epochs the gap stays small: 0.9765 against digitnet's 0.9816 for the same recipe. The
# lost half point is the price of a read-out that cannot adapt: the hidden layers must bend their
# features to fit it, rather than meeting it halfway.

# %% [markdown]
# ## Why one answer: the page's explanation, here
#
# `digitnet serve` shows, for every digit read, *why* (module `digitnet.explain`, the same code).
# The **saliency** is the gradient of the answer's probability with respect to every pixel,
# computed by the network's own backward pass: with $p = \mathrm{softmax}(z / T)$,
#
# $$\frac{\partial p_c}{\partial z} = \frac{p_c\,(\mathrm{onehot}_c - p)}{T}, \qquad
# \frac{\partial p_c}{\partial x} = \text{backprop of } \frac{\partial p_c}{\partial z} \text{ down to the input}.$$
#
# **Why not $X$?** steps the ink up the gradient of the margin $z_X - z_{\text{answer}}$ until $X$
# wins: the change it took is what separates the two digits, for this network. Here is the
# seed model's most confident mistake.

# %%
surest_mistake = test.images[wrong.indices[0]].reshape(28, 28)
why = explain(model, surest_mistake)
nudge = why.runner_up
print(f"true digit {wrong.labels[0]}, read as {why.digit} ({why.probabilities[why.digit]:.1%}); "
      f"runner-up {nudge.digit}: {nudge.probability_before:.1%} -> {nudge.probability_after:.1%} "
      f"after {nudge.steps} steps")
assert why.digit == wrong.predictions[0] and nudge.reached

figure, axes = plt.subplots(1, 3, figsize=(9, 3.2))
limit = np.abs(why.saliency).max() or 1
change_limit = np.abs(nudge.change).max() or 1
for ax, picture, cmap, vmin, vmax, title in [
        (axes[0], surest_mistake, "gray", 0, 1, f"the input (label {wrong.labels[0]})"),
        (axes[1], why.saliency, "RdBu_r", -limit, limit, f"d p({why.digit}) / d pixel"),
        (axes[2], nudge.change, "PiYG", -change_limit, change_limit,
         f"why not {nudge.digit}? ink to add (green), remove (pink)")]:
    ax.imshow(picture, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
