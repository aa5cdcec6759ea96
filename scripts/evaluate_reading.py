"""Reading accuracy and speed on held-aside synthetic pages, per condition, for this reader or another.

    python scripts/evaluate_reading.py [--pages 20] [--seed 20261122] [--model PATH] [--json]
                                       [--reader-src DIR] [--save FILE.json] [--compare FILE.json]
                                       [--development] [--conditions A,B,...]

Pages are made by ``digitnet.reading.synthetic`` (of this checkout) from MNIST *test* digits,
handwriting fonts and drawn strokes, with a seed that the tests and the tuning never use, and saved
as PNG files. ``--development`` makes the pages for tuning the reader instead: from the last 5,000
MNIST *training* digits (which the reader model holds out of its training), with seed 7, and only
the conditions whose digits are all MNIST digits (no fonts, no drawn styles). A reader process then
reads them: by default this checkout's ``digitnet``; with ``--reader-src DIR`` the ``digitnet``
package found in DIR (e.g. ``src/`` of a ``git worktree`` of an older commit), so that the previous
reader is measured on the very same pages. Exact string: the whole text is right. Per digit: the
fraction of written digits found (box IoU >= 0.5) and read correctly. Seconds: ``read_digits`` per
page, in the reader process. Digits alone: the share of pages whose MNIST digits the model reads
right one by one, each prepared as the reader model's training digits are (what a reader that found
every digit perfectly would read, on the digits' own 28x28 images; none for pages with font or
drawn digits). The "all" row is given both as the mean over conditions and over pages (every page
counts once). Interval: the 95% (Wilson) interval of the exact-page share, the noise of a few
hundred pages (at 100 pages, 0.95 reads as anything from 0.89 to 0.98). ``--save`` writes the table
as JSON; ``--compare`` prints a saved table's figures beside this run's.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

import digitnet
from digitnet.data import load_dataset
from digitnet.modelfile import DIGITS, load_model
from digitnet.reader_model import held_out_digits, mnist_as_reader_input
from digitnet.reading.normalise import available_cores
from digitnet.reading.synthetic import CONDITIONS, MNIST_CONDITIONS, box_iou, make_page

HELD_ASIDE_SEED = 20261122
DEVELOPMENT_SEED = 7
DEVELOPMENT_CONDITIONS = MNIST_CONDITIONS
READER = """
import json, sys, time
from digitnet.modelfile import load_model
from digitnet.reading import read_digits
model = load_model(sys.argv[1] or None)
for path in sys.argv[2:]:
    start = time.perf_counter()
    reading = read_digits(path, model)
    seconds = time.perf_counter() - start
    print(json.dumps({"text": reading.text, "seconds": seconds,
                      "digits": [[d.digit, list(d.box)] for d in reading.digits]}), flush=True)
"""


def measure(pages: int, seed: int, model: str | None, reader_src: str | None, development: bool = False,
            conditions: tuple[str, ...] = CONDITIONS) -> dict:
    """{condition: {"pages", "exact_string", "exact_interval", "per_digit", "seconds_per_page", "alone_exact",
    "_counts"}} for each of ``conditions`` (with ``development``, those of ``DEVELOPMENT_CONDITIONS``, on
    pages of held-out training digits). Each condition's pages are the same whichever others are measured."""
    dataset = load_dataset()
    images, labels = held_out_digits(dataset) if development else (dataset.test_images, dataset.test_labels)
    right_alone = read_alone(images, labels, model)
    raw = {}
    with tempfile.TemporaryDirectory() as folder:
        for number, condition in enumerate(CONDITIONS):
            if condition not in conditions or development and condition not in DEVELOPMENT_CONDITIONS:
                continue
            rng = np.random.default_rng([seed, number])
            written = [make_page(condition, rng, images, labels) for _ in range(pages)]
            paths = [str(Path(folder) / f"{condition}-{i}.png") for i in range(pages)]
            for page, path in zip(written, paths):
                page.image.save(path)
            raw[condition] = score(written, read_pages(paths, model, reader_src), right_alone)
    return raw


def read_alone(images: np.ndarray, labels: np.ndarray, model: str | None) -> np.ndarray:
    """Which of ``images`` (n, 28, 28) uint8 the model reads as their ``labels`` (n,) one by one,
    each prepared as the reader model's training digits are: (n,) bool."""
    network = load_model(model)
    inputs = mnist_as_reader_input(images, network.deslants_input, available_cores())
    return network.predict_proba(inputs)[:, :DIGITS].argmax(axis=1) == labels


def read_pages(paths: list[str], model: str | None, reader_src: str | None) -> list[dict]:
    """Each page's reading ({"text", "seconds", "digits": [[digit, box], ...]}) by a reader process."""
    source = reader_src or str(Path(digitnet.__file__).parents[1])
    env = dict(os.environ, PYTHONPATH=source)
    out = subprocess.run([sys.executable, "-c", READER, model or "", *paths], env=env, check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def score(pages, readings, right_alone: np.ndarray) -> dict:
    """One condition's figures from its pages and their readings (``_counts``: exact, right, digits).
    right_alone: (n,) bool, whether each MNIST image the pages draw from is read right alone."""
    exact = digits = right = 0
    for page, reading in zip(pages, readings):
        exact += reading["text"] == page.text
        for label, box in zip(page.text.replace("\n", ""), page.boxes):
            digits += 1
            right += any(box_iou(box, found) >= 0.5 and str(digit) == label for digit, found in reading["digits"])
    all_mnist = all(page.sources and min(page.sources) >= 0 for page in pages)
    alone = float(np.mean([right_alone[page.sources].all() for page in pages])) if all_mnist else None
    return {"pages": len(pages), "exact_string": exact / len(pages),
            "exact_interval": exact_interval(exact, len(pages)), "per_digit": right / digits,
            "seconds_per_page": float(np.mean([r["seconds"] for r in readings])), "alone_exact": alone,
            "_counts": [exact, right, digits]}


def exact_interval(exact: int, pages: int) -> list[float]:
    """The 95% Wilson interval [low, high] of the share of exact pages, ``exact`` of ``pages``."""
    interval = binomtest(exact, pages).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(interval.low), float(interval.high)]


def with_totals(results: dict) -> dict:
    """Add the two "all" rows: the mean over conditions, and over pages (and over digits)."""
    rows = dict(results)
    counts = np.array([r.pop("_counts") for r in rows.values()])
    pages = sum(r["pages"] for r in rows.values())
    keys = ("exact_string", "per_digit", "seconds_per_page")
    rows["all (mean over conditions)"] = {"pages": pages,
                                          **{key: float(np.mean([r[key] for r in results.values()])) for key in keys}}
    rows["all (over pages)"] = {"pages": pages, "exact_string": counts[:, 0].sum() / pages,
                                "exact_interval": exact_interval(int(counts[:, 0].sum()), pages),
                                "per_digit": counts[:, 1].sum() / counts[:, 2].sum(),
                                "seconds_per_page": float(np.sum([r["seconds_per_page"] * r["pages"]
                                                                  for r in results.values()]) / pages)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--seed", type=int, help=f"default {HELD_ASIDE_SEED} ({DEVELOPMENT_SEED} with --development)")
    parser.add_argument("--development", action="store_true",
                        help="pages for tuning: held-out MNIST training digits, MNIST-only conditions")
    parser.add_argument("--model", help="model file or shipped model name (default: the reader's default model)")
    parser.add_argument("--conditions", type=lambda text: tuple(text.split(",")), default=CONDITIONS,
                        help="comma-separated conditions to measure (default: all)")
    parser.add_argument("--reader-src", help="folder holding the digitnet package to measure (default: this one)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--save", help="write the table to this JSON file")
    parser.add_argument("--compare", help="a table saved by --save, printed beside this run's")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else DEVELOPMENT_SEED if args.development else HELD_ASIDE_SEED
    unknown = set(args.conditions) - set(CONDITIONS)
    if unknown:
        parser.error(f"unknown conditions: {', '.join(sorted(unknown))} (known: {', '.join(CONDITIONS)})")
    results = with_totals(measure(args.pages, seed, args.model, args.reader_src, args.development, args.conditions))
    if args.save:
        Path(args.save).write_text(json.dumps(results, indent=1) + "\n")
    if args.json:
        print(json.dumps(results))
        return
    before = json.loads(Path(args.compare).read_text()) if args.compare else {}
    print(f"{'condition':<28}{'pages':>6}{'exact string':>14}{'interval':>11}{'per digit':>11}{'s/page':>8}"
          f"{'alone':>7}" + (f"{'before: exact':>15}{'per digit':>11}{'s/page':>8}" if before else ""))
    for condition, r in results.items():
        alone = r.get("alone_exact")
        interval = "{:.2f}-{:.2f}".format(*r["exact_interval"]) if "exact_interval" in r else "-"
        line = (f"{condition:<28}{r['pages']:>6}{r['exact_string']:>14.2f}{interval:>11}{r['per_digit']:>11.3f}"
                f"{r['seconds_per_page']:>8.3f}" + (f"{alone:>7.2f}" if alone is not None else f"{'-':>7}"))
        if condition in before:
            b = before[condition]
            line += f"{b['exact_string']:>15.2f}{b['per_digit']:>11.3f}{b['seconds_per_page']:>8.3f}"
        print(line)


if __name__ == "__main__":
    main()
