"""What explaining costs: a reply of ``POST /api/read`` with ``explain=true`` against the plain one.

    python benchmarks/bench_explain.py [--repeats 30] [--digits 2]

Reads a clean page of MNIST test digits (the size of a drawing the page sends) into the reply,
alternating plain and explained replies in one process so that both see the same machine load,
and prints the median time of each, their ratio and the reply sizes. Explaining runs one backward
pass for the saliency and one per "why not" step; most of that time is the first layer's weight
gradient, which ``Network.backward_to_input`` computes as training needs it and the explanation
does not use. Goal: under 2 (set after first measurements: 1.2 for this page, 1.7 for a drawn "71").
"""

import argparse
import io
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.data import load_dataset
from digitnet.modelfile import load_model
from digitnet.reading.synthetic import make_page
from digitnet.serve.readers import read_reply_json


def page_png(digits: int) -> bytes:
    """A clean page of ``digits`` MNIST test digits, 180 px tall like a drawing the page sends."""
    dataset = load_dataset()
    page = make_page("clean", np.random.default_rng(0), dataset.test_images, dataset.test_labels,
                     digits=digits, height=180).image
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--digits", type=int, default=2)
    options = parser.parse_args()
    model, png = load_model(), page_png(options.digits)
    seconds, sizes = {False: [], True: []}, {}
    with threadpool_limits(1, user_api="blas"):  # as a reader process runs
        for _ in range(options.repeats):
            for explain in (False, True):
                started = time.perf_counter()
                reply = read_reply_json(png, "page", model, annotate=False, explain=explain)
                seconds[explain].append(time.perf_counter() - started)
                sizes[explain] = len(reply)
    plain, explained = (statistics.median(seconds[flag]) for flag in (False, True))
    print(f"{options.digits} digits, median of {options.repeats}")
    print(f"plain reply     {1e3 * plain:6.1f} ms  {sizes[False]:>7,} bytes")
    print(f"explained reply {1e3 * explained:6.1f} ms  {sizes[True]:>7,} bytes")
    print(f"explained / plain: {explained / plain:.2f} (goal < 2)")


if __name__ == "__main__":
    main()
