"""Reading accuracy on held-aside synthetic pages, per condition.

    python scripts/evaluate_reading.py [--pages 20] [--seed 20261122] [--model PATH] [--json]

Pages are made by ``digitnet.reading.synthetic`` from MNIST *test* digits and handwriting fonts with
a seed that the tests and the tuning never use. Exact-string accuracy: the whole text is right.
Per-digit accuracy: the fraction of written digits found (box IoU >= 0.5) and read correctly.
"""

import argparse
import json

import numpy as np

from digitnet.data import load_dataset
from digitnet.modelfile import load_model
from digitnet.reading import read_digits
from digitnet.reading.synthetic import CONDITIONS, box_iou, make_page

HELD_ASIDE_SEED = 20261122


def evaluate(model, pages: int, seed: int) -> dict:
    dataset = load_dataset()
    results = {}
    for number, condition in enumerate(CONDITIONS):
        rng = np.random.default_rng([seed, number])
        exact = digits = right = 0
        for _ in range(pages):
            page = make_page(condition, rng, dataset.test_images, dataset.test_labels)
            reading = read_digits(page.image, model)
            exact += reading.text == page.text
            truth = page.text.replace("\n", "")
            for label, box in zip(truth, page.boxes):
                digits += 1
                right += any(box_iou(box, d.box) >= 0.5 and str(d.digit) == label for d in reading.digits)
        results[condition] = {"pages": pages, "exact_string": exact / pages, "per_digit": right / digits}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--seed", type=int, default=HELD_ASIDE_SEED)
    parser.add_argument("--model", help="model file (default: the shipped model)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = evaluate(load_model(args.model), args.pages, args.seed)
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'condition':<22}{'pages':>6}{'exact string':>14}{'per digit':>11}")
    for condition, r in results.items():
        print(f"{condition:<22}{r['pages']:>6}{r['exact_string']:>14.2f}{r['per_digit']:>11.3f}")
    print(f"{'all':<22}{sum(r['pages'] for r in results.values()):>6}"
          f"{np.mean([r['exact_string'] for r in results.values()]):>14.2f}"
          f"{np.mean([r['per_digit'] for r in results.values()]):>11.3f}")


if __name__ == "__main__":
    main()
