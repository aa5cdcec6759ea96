"""How well a model does the reader's job, on MNIST digits it never trained on (test digits by default).

    python scripts/evaluate_reader_model.py [--model reader] [--against best] [--digits 500] [--json]
                                            [--development]

For each model: accuracy on the 10,000 test digits prepared as the reader prepares crops (the most
likely digit, and how many it calls "not a digit"); single test digits drawn dark on white at 100,
200 and 400 px read through ``read_digits`` (exact text); how often crops that are not one digit
(two touching test digits, a digit with a piece of its neighbour, half digits, fragments) are
answered "not a digit"; and the seconds the model's file says its data and training took. Speed
is printed as a ratio against the ``--against`` model in the same process. ``--development``
measures on the last 5,000 MNIST *training* digits instead (held out of the reader model's
training): the figures to choose a recipe by.
"""

import argparse
import json
import time

import numpy as np
from PIL import Image

from digitnet.data import load_dataset
from digitnet.modelfile import DIGITS, load_model
from digitnet.reader_model import held_out_digits, mnist_as_reader_input
from digitnet.reading import read_digits
from digitnet.reading import reader_data as rd
from digitnet.reading.normalise import available_cores

SIDES = (100, 200, 400)
SEED = 20261201  # the draws of negatives and of single digits; no training or tuning uses it


def single_digit_pages(images: np.ndarray, side: int) -> list[Image.Image]:
    """Each MNIST digit drawn dark on white, scaled to side x side pixels."""
    return [Image.fromarray(255 - image).resize((side, side), Image.BICUBIC) for image in images]


def negatives(images: np.ndarray, labels: np.ndarray, count: int) -> dict[str, list[np.ndarray]]:
    digits = images.astype(np.float32) / 255
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(SEED)
    return {"two touching digits": rd.touching_pairs(digits, rng, count),
            "digit + piece of neighbour": rd.with_neighbour_piece(digits, rng, count),
            "half digit": rd.halves(digits, labels, rng, count),
            "fragment or junction": rd.fragments(digits, rng, count)}


def evaluate(model, images: np.ndarray, labels: np.ndarray, digits: int, crops: dict[str, list[np.ndarray]]) -> dict:
    """The figures of one model on MNIST digits ``images`` (n, 28, 28) uint8 with ``labels`` (n,)."""
    workers = available_cores()
    prepared = mnist_as_reader_input(images, model.deslants_input, workers)
    probabilities = model.predict_proba(prepared)
    result = {
        "mnist_digits": float((probabilities[:, :DIGITS].argmax(axis=1) == labels).mean()),
        "mnist_digits_called_not_a_digit": float((probabilities.argmax(axis=1) == DIGITS).mean()),
    }
    chosen = np.random.default_rng(SEED).choice(len(labels), digits, replace=False)
    for side in SIDES:
        pages = single_digit_pages(images[chosen], side)
        started = time.perf_counter()
        right = sum(read_digits(page, model).text == str(label) for page, label in zip(pages, labels[chosen]))
        result[f"single_digits_{side}px"] = right / digits
        result[f"seconds_per_read_{side}px"] = (time.perf_counter() - started) / digits
    if len(model.classes) > DIGITS:
        for name, pieces in crops.items():
            answers = model.predict_proba(rd.normalised(pieces, model.deslants_input, workers)).argmax(axis=1)
            result[f"rejected: {name}"] = float((answers == DIGITS).mean())
    x = prepared[:2000]
    started = time.perf_counter()
    for _ in range(5):
        model.predict_proba(x)
    result["seconds_per_1000_crops"] = (time.perf_counter() - started) / 10
    m = model.metadata
    result["data_seconds"], result["training_seconds"] = m.get("data_seconds"), m.get("training_seconds")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="reader")
    parser.add_argument("--against", default="best", help="the model speed is compared with")
    parser.add_argument("--digits", type=int, default=500, help="single test digits read at each size")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--development", action="store_true",
                        help="measure on the held-out MNIST training digits (for choosing a recipe)")
    args = parser.parse_args()
    dataset = load_dataset()
    images, labels = held_out_digits(dataset) if args.development else (dataset.test_images, dataset.test_labels)
    crops = negatives(images, labels, 1000)
    results = {name: evaluate(load_model(name), images, labels, args.digits, crops) for name in (args.model, args.against)}
    if args.json:
        print(json.dumps(results))
        return
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    print(f"{'':<40}" + "".join(f"{name:>12}" for name in results))
    for key in keys:
        cells = [results[name].get(key) for name in results]
        print(f"{key:<40}" + "".join(f"{'-':>12}" if c is None else f"{c:>12.4f}" for c in cells))
    ours, theirs = results[args.model], results[args.against]
    print(f"prediction time {args.model} / {args.against}: "
          f"{ours['seconds_per_1000_crops'] / theirs['seconds_per_1000_crops']:.2f}x per crop, "
          f"{ours['seconds_per_read_200px'] / theirs['seconds_per_read_200px']:.2f}x per single-digit read at 200 px")


if __name__ == "__main__":
    main()
