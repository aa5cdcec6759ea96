"""How the shipped ``reader`` model is made: the reader's data, its recipe, training, and its file.

The reader model reads the crops ``digitnet.reading`` cuts from photos: MNIST training digits
normalised (and deslanted) exactly like those crops, restyled copies, and negatives labelled
"not a digit" (``reading.reader_data``); a variant also learns from the candidate digits the
reader itself cuts from pages of training digits (``reading.page_crops``). It is an ensemble of
two networks trained on the same data by the project's own ``digitnet.training`` loop, a dense
784-512-256-11 one and one with two convolutions in front, and reads with the mean of their
probabilities (``Model.members``). The last ``VALIDATION_DIGITS`` training digits (with their own
restyled copies and negatives) are held out to choose the best epoch and fit a temperature; the
MNIST test digits, normalised the same way, are only measured.

    make reader-model        # = python scripts/train_reader.py --out src/digitnet/models/reader.npz
"""

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from digitnet.evaluation.calibration import calibrate
from digitnet.data import Dataset, Split, test_split
from digitnet.evaluation import model_input
from digitnet.modelfile import DIGITS, Model, load_model, save_model
from digitnet.reading.normalise import available_cores, normalised
from digitnet.reading.page_crops import page_crops
from digitnet.reading.reader_data import NOT_A_DIGIT, ReaderDataMix, digit_like, reader_split
from digitnet.training import TrainingConfig, TrainingRun, history_as_dicts, train

VALIDATION_DIGITS = 5000
# Chosen on the held-out training digits only (the validation split, and development pages made of
# them: ``scripts/evaluate_reading.py --development``). The warps of the ``best`` recipe (a bank of
# sparse warps, cheap since the training/ layout) took validation digits read as crops from 0.988 to
# 0.991 at 784-256-128-11 and 0.992 at 784-512-256-11, and those called "not a digit" from 1.0% to
# 0.2-0.3%; more negatives in ``ReaderDataMix`` took rejected halves from 0.45 back to 0.56 and
# fragments from 0.56 to 0.62 after the broken-stroke style had taught the network to read them.
READER_CONFIG = TrainingConfig(
    layer_sizes=(784, 512, 256, DIGITS + 1), learning_rate=0.05, batch_size=128, epochs=40, seed=0,
    momentum=0.9, nesterov=True, weight_decay=5e-4, schedule={"kind": "cosine", "warmup_epochs": 1.0},
    augmentation={"shift": 2.0, "rotation": 10.0, "scale": 0.1, "shear": 10.0, "elastic": 1.0, "thickness": 0.3},
    keep_best=True,
)

# The reader's second network: the same training with two convolutions in front (``nn.convnet``),
# and pen skips among its distortions. Alone it reads crops better (MNIST test digits 0.995) and
# rejects more pieces, development pages no better (0.92; without pen skips 0.90, broken strokes
# 0.70 against the dense network's 0.83); with the dense network, better than either (0.94;
# docs/reading.md has the figures), at about 20x the dense network's time per crop.
CONVOLUTIONAL_READER_CONFIG = replace(READER_CONFIG, convolutions=(16, 32), layer_sizes=(784, 256, DIGITS + 1),
                                      trainer="reference", epochs=30,
                                      augmentation=replace(READER_CONFIG.augmentation, pen_skips=0.3))

# Pages per training digit whose candidate digits (``reading.page_crops``) ``train_reader.py
# --page-crops`` adds. Not shipped: held-aside pages read the same 0.93, broken strokes and touching
# digits better, an 8 with an open or small top loop worse (docs/reading.md has the figures).
PAGE_CROPS_PER_DIGIT = 0.04


@dataclass(frozen=True)
class ReaderRecipe:
    """Everything that decides the reader model besides the MNIST training images."""

    config: TrainingConfig = READER_CONFIG  # the model's own network (its seed also draws the data)...
    member_configs: tuple[TrainingConfig, ...] = (CONVOLUTIONAL_READER_CONFIG,)  # ...and the others'
    mix: ReaderDataMix = field(default_factory=ReaderDataMix)
    deslant: bool = True
    validation_digits: int = VALIDATION_DIGITS
    filter_model: str = "best"  # the shipped digit model that weeds digit-like pieces out of the negatives

    def to_dict(self) -> dict:
        return {"name": "reader", **self.config.to_dict(), "members": [c.to_dict() for c in self.member_configs],
                "mix": asdict(self.mix), "deslant": self.deslant, "validation_size": self.validation_digits,
                "filter_model": self.filter_model}


@dataclass
class ReaderData:
    """The three splits of a reader model: train and validation (labels 0-10) and the MNIST test digits
    prepared as the reader prepares crops (labels 0-9)."""

    train: Split
    validation: Split
    test: Split


def reader_data(dataset: Dataset, recipe: ReaderRecipe, workers: int = 1, limit: int | None = None) -> ReaderData:
    """Build the reader's splits from ``dataset`` (MNIST). ``limit``: use only the first that many
    training digits (and a proportional validation share) — for tests."""
    digits = len(dataset.train_labels) - recipe.validation_digits
    validation_digits = recipe.validation_digits
    if limit is not None:
        validation_digits = max(1, limit * validation_digits // digits)
        digits = limit
    seed = recipe.config.seed
    filter_model = load_model(recipe.filter_model) if recipe.filter_model else None
    train_split = _split(dataset.train_images[:digits], dataset.train_labels[:digits],
                         np.random.default_rng([seed, 1]), recipe, filter_model, workers)
    validation = _split(*held_out_digits(dataset, validation_digits),
                        np.random.default_rng([seed, 2]), recipe, filter_model, workers)
    test_count = len(dataset.test_labels) if limit is None else min(len(dataset.test_labels), limit)
    test = Split(mnist_as_reader_input(dataset.test_images[:test_count], recipe.deslant, workers),
                 dataset.test_labels[:test_count].astype(np.int64))
    return ReaderData(train_split, validation, test)


def _split(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, recipe: ReaderRecipe, filter_model,
           workers: int) -> Split:
    """One split: ``reader_split``'s digits, restyled digits and negatives, and (when
    ``recipe.mix.pages`` > 0) the labelled candidates the reader cuts from that many pages per digit
    (``page_crops``), shuffled together; negatives ``filter_model`` reads as digits are left out."""
    synthetic = reader_split(images, labels, rng, recipe.mix, recipe.deslant, filter_model, workers)
    pages = int(recipe.mix.pages * len(labels))
    if pages == 0:
        return synthetic  # (no second shuffle: the shipped recipe's data stay exactly as they were)
    page_inputs, page_labels = page_crops(images, labels, rng, pages, recipe.deslant, workers)
    if filter_model is not None and len(page_labels):
        keep = ~(digit_like(filter_model, page_inputs) & (page_labels == NOT_A_DIGIT))
        page_inputs, page_labels = page_inputs[keep], page_labels[keep]
    inputs = np.concatenate([synthetic.images, page_inputs])
    targets = np.concatenate([synthetic.labels, page_labels])
    order = rng.permutation(len(targets))
    return Split(inputs[order], targets[order])


def held_out_digits(dataset: Dataset, count: int = VALIDATION_DIGITS) -> tuple[np.ndarray, np.ndarray]:
    """The last ``count`` MNIST training digits (n, 28, 28) uint8 and their labels (n,): the reader
    model's validation digits, never trained on, and so the digits to tune the reader on."""
    return dataset.train_images[-count:], dataset.train_labels[-count:]


def mnist_as_reader_input(images: np.ndarray, deslant: bool, workers: int = 1) -> np.ndarray:
    """MNIST digits as the reader would show them to its network: (n, 28, 28) uint8 -> (n, 784) float32."""
    return normalised(list(images.astype(np.float32) / 255), deslant, workers)


def digit_scores(model: Model, test: Split) -> dict:
    """Of the test digits: the accuracy of the most likely digit (the "not a digit" output left out),
    and the fraction the model calls "not a digit" (its 11th output the most likely)."""
    probabilities = model.predict_proba(test.images)
    return {"test_accuracy": float((probabilities[:, :DIGITS].argmax(axis=1) == test.labels).mean()),
            "test_not_a_digit": float((probabilities.argmax(axis=1) == NOT_A_DIGIT).mean())}


def make_reader_model(dataset: Dataset, out: str | Path, recipe: ReaderRecipe = ReaderRecipe(),
                      workers: int | None = None, limit: int | None = None, reporter_for=None) -> Model:
    """Build the data, train every network of the recipe, and save the reader model to ``out`` with
    its full metadata. ``reporter_for(config)``: a progress reporter for each training (or None)."""
    workers = workers or available_cores()
    started = time.perf_counter()
    data = reader_data(dataset, recipe, workers, limit)
    return train_reader_model(data, dataset, out, recipe, time.perf_counter() - started, reporter_for)


def train_reader_model(data: ReaderData, dataset: Dataset, out: str | Path, recipe: ReaderRecipe,
                       data_seconds: float, reporter_for=None) -> Model:
    """Train on data already made by ``reader_data`` and save the model with its metadata: the
    network of ``recipe.config``, with one member for each of ``recipe.member_configs``."""
    model, *members = [_trained_network(config, data, recipe.deslant, reporter_for) for config in
                       (recipe.config, *recipe.member_configs)]
    model.members = members
    model.metadata.update({
        "recipe": recipe.to_dict(),
        "data": {"source": dataset.source, "sha256": dataset.sha256,
                 "train_digits": int((data.train.labels < DIGITS).sum()),
                 "train_examples": len(data.train), "train_not_a_digit": int((data.train.labels == NOT_A_DIGIT).sum()),
                 "validation_examples": len(data.validation), "test_digits": len(data.test)},
        "data_seconds": round(data_seconds, 2),
        "training_seconds": round(sum(m.metadata["training_seconds"] for m in [model, *members]), 2),
    })
    model.metadata["metrics"].update(digit_scores(model, data.test))  # the ensemble's, when there are members
    save_model(out, model)
    return model


def _trained_network(config: TrainingConfig, data: ReaderData, deslant: bool, reporter_for=None) -> Model:
    """One network trained on the reader's data, with its history, calibration and scores."""
    reporter = reporter_for(config) if reporter_for else None
    run = train(TrainingRun.start(config), data.train, data.validation, data.test, reporter=reporter)
    if reporter is not None:
        reporter.close()
    model = Model(run.network, {
        "recipe": config.to_dict(),
        "input_preparation": {"function": "digitnet.reading.normalise.mnist_style", "deslant": deslant},
        "history": history_as_dicts(run.history),
        "best_epoch": run.best_epoch,
        "epochs_run": len(run.history),
        "training_seconds": round(sum(r.seconds for r in run.history), 2),
    })
    model.metadata["calibration"] = calibrate(run.network, data.validation, data.test)
    validation_accuracy = float((run.network.predict(data.validation.images) == data.validation.labels).mean())
    model.metadata["metrics"] = {"validation_accuracy": validation_accuracy, **digit_scores(model, data.test)}
    return model
