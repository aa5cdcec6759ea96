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
# # 5. A photo of handwriting through the reader
#
# The network reads one centred 28x28 digit, white ink on black, like MNIST. A photo is nothing
# like that: uneven light, paper that is not white, noise, several digits. `read_digits` bridges
# the gap in four stages, and this notebook shows each one on a photo from `examples/`:
#
# 1. **ink**: which pixels are ink, with the paper's own brightness taken out;
# 2. **blobs**: connected pieces of ink, each a candidate digit;
# 3. **crops**: each digit cut out, scaled and centred the way MNIST digits are;
# 4. **answers**: the network's probabilities for every crop, in reading order.
#
# Only the reader's public results are used (`read_digits`, the `Reading` and its `DigitReading`s,
# `load_image`, and `measure_ink` for the mask), so the notebook shows what the reader does, not
# how its internals happen to be written.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from scipy import ndimage

import digitnet
from digitnet import load_model, read_digits
from digitnet.reading import load_image
from digitnet.reading.ink import measure_ink

EXAMPLES = Path(digitnet.__file__).resolve().parents[2] / "examples"  # in a source checkout
photo = EXAMPLES / "shadow-noise-photo.jpg"
TRUE_TEXT = "0851"  # the page holds MNIST test digits 0, 8, 5, 1 (scripts/make_examples.py prints them)

image = load_image(photo)  # a PIL image, EXIF orientation applied; refuses non-images with one line
grey = np.asarray(image.convert("L"), dtype=np.float32) / 255  # (height, width) in [0, 1]
print(f"{photo.name}: {image.size[0]}x{image.size[1]} pixels")
figure, ax = plt.subplots(figsize=(7, 3.5))
ax.imshow(image)
ax.set_axis_off()
ax.set_title("the photo: a shadow across the page, and noise")

# %% [markdown]
# ## 1. Ink
#
# A fixed threshold fails on this page: the shadowed paper is darker than the ink in the light.
# `measure_ink` first decides the polarity (dark ink on light paper, or chalk on a board) and
# turns the grey level $g$ into "ink-positive" $\tilde g$ ($1 - g$ for dark ink). It estimates the
# paper's own level on a coarse grid over the page and measures ink as the excess over it:
#
# $$\text{ink}(p) = \mathrm{clip}\left(\frac{\tilde g(p) - \text{paper}(p) - f}{s - f},\ 0,\ 1\right)$$
#
# with $s$ the typical strength of a stroke and $f$ a floor above the paper's noise. The mask keeps
# pixels above a fraction of a typical stroke.

# %%
ink_model = measure_ink(grey)
ink = ink_model.ink(grey)     # (height, width) in [0, 1]: 0 paper, 1 a full-strength stroke
mask = ink_model.mask(ink)    # (height, width) bool
print(f"dark ink on light paper: {ink_model.dark_ink}; {mask.mean():.1%} of the pixels are ink")

figure, axes = plt.subplots(1, 3, figsize=(13, 3))
for ax, (picture, title) in zip(axes, [(grey, "grey levels"), (ink, "ink strength, paper removed"),
                                       (mask, "ink mask")]):
    ax.imshow(picture, cmap="gray_r" if picture is not grey else "gray")
    ax.set_title(title)
    ax.set_axis_off()

# %% [markdown]
# ## 2. Blobs
#
# Pixels of ink that touch form connected components (here with `scipy.ndimage.label`, 8-connected).
# Most digits are one component; specks of noise that got past the floor would be tiny ones,
# which the reader drops (this page has none). (The
# reader also splits components that hold two touching digits and joins the pieces of a broken
# one, letting the network's confidence decide; see `digitnet.reading.segment`.)

# %%
components, count = ndimage.label(mask, structure=np.ones((3, 3)))
areas = np.bincount(components.ravel())[1:]
print(f"{count} connected components; areas of the five largest: {sorted(areas.tolist())[-5:]}")
shown = np.ma.masked_equal(components, 0)
figure, ax = plt.subplots(figsize=(7, 3.5))
ax.imshow(shown, cmap="tab20", interpolation="nearest")
ax.set_axis_off()
ax.set_title(f"{count} connected pieces of ink, one colour each")

# %% [markdown]
# ## 3. Crops, MNIST style
#
# MNIST digits were scaled to fit a 20x20 box, keeping their aspect ratio, and placed in the 28x28
# image so that their centre of mass is in the middle. The reader does the same to each digit it
# found, from the full-resolution ink: the network sees the photo's digits as it saw its training data.

# %%
model = load_model()
reading = read_digits(photo, model)
print(f"read {reading.text!r}; {len(reading.digits)} digits")

figure, ax = plt.subplots(figsize=(7, 3.5))
ax.imshow(image)
for digit in reading.digits:
    x0, y0, x1, y1 = digit.box  # input-image pixels, x1 and y1 exclusive
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="crimson", linewidth=1.5))
    ax.text(x0, y0 - 4, f"{digit.digit}", color="crimson", fontsize=12, fontweight="bold")
ax.set_axis_off()
ax.set_title("what the reader found (boxes) and read")

figure, axes = plt.subplots(1, len(reading.digits), figsize=(2 * len(reading.digits), 2.4), squeeze=False)
for ax, digit in zip(axes[0], reading.digits):
    ax.imshow(digit.network_input, cmap="gray", vmin=0, vmax=1)  # (28, 28) in [0, 1], ink 1
    ax.set_title(f"{digit.digit}  ({digit.confidence:.1%})", fontsize=10)
    ax.set_axis_off()
figure.suptitle("the 28x28 crops the network read")

for digit in reading.digits:
    crop = digit.network_input
    assert crop.shape == (28, 28) and crop.min() >= 0 and crop.max() <= 1
    centre = np.array(ndimage.center_of_mass(crop))
    assert np.abs(centre - 13.5).max() < 1.5, centre  # centred by mass, as MNIST

# %% [markdown]
# ## 4. Answers
#
# Each crop goes through the network once; `probabilities` is the softmax of its logits (divided by
# the model's fitted temperature). The answer is the most probable digit and its probability is
# the confidence. Digits are put in reading order (rows top to bottom, left to right in a row);
# `read_digits(..., min_confidence=0.9)` would write unsure ones as `?`.

# %%
probabilities = np.stack([digit.probabilities for digit in reading.digits])  # (digits, 10)
figure, ax = plt.subplots(figsize=(7, 0.6 * len(reading.digits) + 1))
ax.imshow(probabilities, cmap="Blues", vmin=0, vmax=1)
ax.set_xticks(range(10))
ax.set_yticks(range(len(reading.digits)), [f"digit {i + 1}" for i in range(len(reading.digits))])
ax.set_xlabel("class")
ax.set_title("probabilities of each crop")
for row, p in enumerate(probabilities):
    ax.text(p.argmax(), row, f"{p.max():.2f}", ha="center", va="center", color="white", fontsize=8)

print("text:", reading.text)
assert reading.text == TRUE_TEXT
