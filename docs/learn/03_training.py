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
# # 3. Training the 784-128-64-10 network
#
# Mini-batch stochastic gradient descent in ten lines, on real MNIST: the loss per step and per
# epoch, what a learning rate that is too high does and the guard that stops it, and why the
# examples must be shuffled. First with digitnet's textbook step (`ReferenceTrainer.step`:
# `Network.loss_and_gradients`, then `sgd_step`), then with digitnet's own training loop
# (`digitnet.training.train`), which takes the same steps with the fast trainer.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from digitnet import Network, TrainingConfig, TrainingRun, train
from digitnet.data import Split, load_dataset, split_train_validation, test_split
from digitnet.errors import TrainingError
from digitnet.nn.optim import sgd_step
from digitnet.nn.trainers import FusedSGDTrainer, ReferenceTrainer
from digitnet.training import Reporter
from digitnet.training.loop import DIVERGED_LOSS

# A batch of 32 makes small matrices: one BLAS thread does them fastest, and extra threads only
# wait for each other (several-fold slower on a busy machine). digitnet's trainer does the same.
threadpool_limits(1, user_api="blas")

dataset = load_dataset()
training, validation = split_train_validation(dataset, 5000)  # the last 5,000 training images held out
test = test_split(dataset)                                     # evaluation only, never for choices
subset = Split(training.images[:10_000], training.labels[:10_000])
print(f"{len(training):,} training, {len(validation):,} validation, {len(test):,} test images; "
      f"the textbook loop uses the first {len(subset):,}")

# %% [markdown]
# ## The loop
#
# Each step takes a batch $X_t$ of $B = 32$ images, computes the loss $L$ and its gradient for
# every parameter $\theta$ (weights and biases of all three layers) by backpropagation, and steps
# downhill:
#
# $$\theta \leftarrow \theta - \eta \, \frac{\partial L(X_t)}{\partial \theta}, \qquad \eta = 0.1 .$$
#
# An *epoch* is one pass over the training images, in a fresh random order.
#
# Both of digitnet's trainers take a step through one contract,
# `trainer.step(images, labels, batch_indices, learning_rate) -> loss`: the batch is the rows
# `batch_indices` of the whole training set, and the loss returned is the batch's before the
# update. `ReferenceTrainer.step` is the textbook: gather the batch,
# `network.loss_and_gradients` (forward, softmax cross-entropy, backward), then `sgd_step`. One
# step written out by hand moves the weights exactly as it does:

# %%
rng = np.random.default_rng(0)
by_hand = Network.initialised((784, 128, 64, 10), np.random.default_rng(0))
reference = ReferenceTrainer(by_hand.copy(), batch_size=32)
batch = rng.permutation(len(subset))[:32]
loss, gradients = by_hand.loss_and_gradients(subset.images[batch], subset.labels[batch])
sgd_step(by_hand.parameters, gradients, 0.1)  # θ ← θ - η ∂L/∂θ
reference_loss = reference.step(subset.images, subset.labels, batch, 0.1)
assert reference_loss == loss and np.array_equal(reference.network.flat_parameters, by_hand.flat_parameters)
print(f"one step by hand == ReferenceTrainer.step: loss {loss:.3f} (ln 10 = {math.log(10):.3f})")

# %% [markdown]
# An epoch is then a loop of such steps over the shuffled order:

# %%
def textbook_epoch(network, split, learning_rate, order, batch_size=32):
    """One epoch of plain mini-batch SGD over ``split`` in the given order; returns the loss of every step."""
    trainer = ReferenceTrainer(network, batch_size)
    return np.array([trainer.step(split.images, split.labels, order[start : start + batch_size], learning_rate)
                     for start in range(0, len(order), batch_size)])

rng = np.random.default_rng(0)
network = Network.initialised((784, 128, 64, 10), rng)
step_losses, epoch_losses, accuracies = [], [], []
for epoch in range(2):
    losses = textbook_epoch(network, subset, 0.1, rng.permutation(len(subset)))
    step_losses.append(losses)
    epoch_losses.append(losses.mean())
    accuracies.append(network.score(test.images, test.labels))
    print(f"epoch {epoch + 1}: mean training loss {epoch_losses[-1]:.3f}, test accuracy {accuracies[-1]:.4f}")
assert accuracies[0] > 0.85  # one epoch on 10,000 images already reads most test digits

# %%
figure, ax = plt.subplots(figsize=(8, 3.5))
all_steps = np.concatenate(step_losses)
ax.plot(all_steps, color="tab:blue", alpha=0.3, linewidth=0.8, label="loss of each step's batch")
window = 20
ax.plot(np.arange(window - 1, len(all_steps)), np.convolve(all_steps, np.ones(window) / window, "valid"),
        color="tab:blue", label=f"mean of {window} steps")
steps_per_epoch = len(step_losses[0])
ax.plot([steps_per_epoch * (e + 1) for e in range(2)], epoch_losses, "o", color="black", label="mean of each epoch")
ax.axhline(math.log(10), color="grey", linestyle=":", label="guessing: ln 10")
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy (nats)")
ax.set_ylim(0, 2.6)
ax.legend()

# %% [markdown]
# A single step's loss is noisy (32 images), but the trend falls fast: from $\ln 10$ (a fresh
# network guesses) to about 0.3 by the end of the first epoch.
#
# ## The same, fast: `digitnet.training.train`
#
# digitnet's loop uses, unless told `trainer="reference"`, the fast trainer `FusedSGDTrainer`:
# the same contract and the same maths (the same activation from the registry, the same
# softmax cross-entropy), with preallocated buffers and fewer, larger array operations. The test
# suite holds it to the reference; here, one step from the same start agrees to float32 rounding:

# %%
fast = FusedSGDTrainer(Network.initialised((784, 128, 64, 10), np.random.default_rng(0)), batch_size=32)
fast_loss = fast.step(subset.images, subset.labels, batch, 0.1)
difference = np.abs(fast.network.flat_parameters - by_hand.flat_parameters).max()
print(f"fast step: loss {fast_loss:.6f} (reference {loss:.6f}); largest weight difference {difference:.1e}")
assert abs(fast_loss - loss) < 1e-5 and difference < 1e-6

# %% [markdown]
# `train` shuffles, steps, measures and reports. A `Reporter` hears every step's loss;
# `run.history` keeps one `EpochRecord` per epoch. One epoch over all 55,000 training images:

# %%
class StepLosses(Reporter):
    def __init__(self):
        self.losses = []

    def step_done(self, loss):
        self.losses.append(loss)

steps = StepLosses()
run = train(TrainingRun.start(TrainingConfig(epochs=1, seed=0)), training, validation, test, reporter=steps)
record = run.history[-1]
print(f"{len(steps.losses)} steps in {record.seconds:.2f} s; training loss {record.train_loss:.3f}, "
      f"validation accuracy {record.validation_accuracy:.4f}, test accuracy {record.test_accuracy:.4f}")
assert record.test_accuracy > 0.94

# %% [markdown]
# ## A learning rate that is too high
#
# The step is $\eta$ times the gradient. Too small and learning crawls; too large and a step
# overshoots the valley it was aiming for, lands where the gradient is larger still, and the next
# step overshoots further. One epoch on the 10,000 images at several rates:

# %%
for learning_rate in (0.01, 0.1, 0.5, 1.0):
    config = TrainingConfig(learning_rate=learning_rate, epochs=1, seed=0)
    record = train(TrainingRun.start(config), subset, validation).history[-1]
    print(f"learning rate {learning_rate:<5} training loss {record.train_loss:.3f}  "
          f"validation accuracy {record.validation_accuracy:.4f}")

# %% [markdown]
# At 1.0 the loss stays near $\ln 10$: the first large steps pushed most ReLU units to where they
# never fire again ("dead" units get zero gradient), and the network is stuck. At 2.0 it blows up
# outright. Here is the textbook loop at $\eta = 2$, step by step: within a few steps the loss is in
# the thousands (logits of hundreds, pointing the wrong way), and then it falls back to $\ln 10$,
# not because the network recovered but because the huge steps have switched off every unit.

# %%
network = Network.initialised((784, 128, 64, 10), np.random.default_rng(0))
with np.errstate(over="ignore", invalid="ignore"):
    blown = textbook_epoch(network, subset, 2.0, np.random.default_rng(0).permutation(len(subset))[:32 * 15])
print("loss per step at learning rate 2:", np.array2string(blown, precision=3, max_line_width=100))

figure, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(np.arange(1, len(blown) + 1), np.where(np.isfinite(blown), blown, np.nan), "o-", color="tab:red")
ax.axhline(DIVERGED_LOSS, color="black", linestyle="--", label=f"the guard: loss > {DIVERGED_LOSS:g}")
ax.set_xlabel("step")
ax.set_ylabel("loss (log scale)")
ax.legend()

# %% [markdown]
# Training on would spend the whole run on a dead network (or on `nan`, at higher rates).
# digitnet's loop checks every step: a loss
# above `DIVERGED_LOSS` (1,000 nats, hundreds of times worse than guessing) or `nan` stops training
# at once with a `TrainingError` that says what to change, and the command line prints that one
# line instead of a traceback.

# %%
try:
    train(TrainingRun.start(TrainingConfig(learning_rate=2.0, epochs=1, seed=0)), subset)
    stopped = None
except TrainingError as error:
    stopped = str(error)
print("TrainingError:", stopped)
assert stopped is not None and "too high" in stopped

# %% [markdown]
# ## Why shuffling matters
#
# SGD assumes each batch is a fair sample of the data, so that its gradient points, on average,
# where the full gradient does. Feed the images sorted by digit instead (all the 0s, then all the
# 1s, ...) and each stretch of steps teaches "the answer is always 3": the network forgets the
# earlier digits as it goes and ends the epoch predicting mostly the last one.

# %%
by_digit = np.argsort(subset.labels, kind="stable")
sorted_network = Network.initialised((784, 128, 64, 10), np.random.default_rng(0))
sorted_losses = textbook_epoch(sorted_network, subset, 0.1, by_digit)
sorted_accuracy = sorted_network.score(test.images, test.labels)
predicted = np.bincount(sorted_network.predict(test.images), minlength=10)
print(f"one epoch in digit order: test accuracy {sorted_accuracy:.4f} (shuffled: {accuracies[0]:.4f})")
print("how often it predicts each digit:", dict(enumerate(predicted.tolist())))
assert sorted_accuracy < accuracies[0] - 0.3

figure, ax = plt.subplots(figsize=(8, 3))
ax.plot(sorted_losses, color="tab:orange", linewidth=0.8, label="sorted by digit")
ax.plot(step_losses[0], color="tab:blue", alpha=0.6, linewidth=0.8, label="shuffled")
for digit, start in enumerate(np.searchsorted(subset.labels[by_digit], np.arange(10))):
    ax.axvline(start / 32, color="grey", linewidth=0.5)
    ax.text(start / 32 + 2, 5.5, str(digit), color="grey")
ax.set_xlabel("step")
ax.set_ylabel("loss")
ax.set_ylim(0, 6)
ax.legend(loc="upper right")
ax.set_title("Sorted data: the loss is tiny within a digit and jumps when the next one starts")

# %% [markdown]
# Within one digit the loss falls to almost nothing (the answer is always the same), and it jumps
# every time a new digit starts. digitnet shuffles every epoch with its own generator,
# `epoch_order(seed, epoch, n)`: a pure function of the seed, so a run is reproducible and a
# stopped run resumes with exactly the same order.
