"""Training speed of digitnet against PyTorch and the small-GEMM lower bound, in one run.

Prints one table: seconds per epoch (min and median over several epochs) of the seed recipe
(784-128-64-10, float32, batch 32, lr 0.1) for
- the lower bound: just the recipe's matrix products (27.3 GFLOP an epoch) at this machine's speed;
- digitnet's training step (nn/fused.py), and the full `train()` loop with progress bar and
  per-epoch evaluation (its overhead);
- PyTorch 2.13 CPU eager with batches by index slicing (a benchmark-only peer: `pip install -e .[bench]`);
then the training time to reach the original's 0.9765 test accuracy, inference time on the 10,000
test images against PyTorch, and the peak memory (RSS) of a full `digitnet train` process.
Every figure is also given as a ratio, since the machine is shared and noisy.

Usage: python benchmarks/bench_train.py [--epochs 5] [--no-torch]
"""

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from digitnet.data import Split, load_dataset, split_train_validation, test_split
from digitnet.nn.fused import FusedSGDTrainer
from digitnet.nn.network import Network
from digitnet.training import Reporter, TrainingConfig, TrainingRun, epoch_order, train

SIZES = (784, 128, 64, 10)
BATCH, LEARNING_RATE = 32, 0.1
TARGET_ACCURACY = 0.9765


def recipe_flop_per_epoch(n: int) -> float:
    """Forward GEMMs, weight gradients, and input gradients of every layer but the first."""
    forward = sum(2 * a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
    input_gradients = sum(2 * a * b for a, b in zip(SIZES[1:-1], SIZES[2:]))
    return n * (2 * forward + input_gradients)


def gemm_lower_bound(steps: int, epochs: int, threads: int) -> list[float]:
    """Seconds an epoch of the recipe's matrix products alone take (same shapes, preallocated)."""
    with threadpool_limits(threads, user_api="blas"):
        return _gemm_lower_bound(steps, epochs)


def _gemm_lower_bound(steps: int, epochs: int) -> list[float]:
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    acts = [rng.standard_normal((BATCH, n), dtype=np.float32) for n in SIZES]
    grads = [np.empty_like(w) for w in weights]
    ups = [np.empty((BATCH, n), np.float32) for n in SIZES]
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps):
            for i, w in enumerate(weights):
                np.matmul(acts[i], w, out=acts[i + 1])
            for i in range(len(weights) - 1, -1, -1):
                np.matmul(acts[i].T, acts[i + 1], out=grads[i])
                if i:
                    np.matmul(acts[i + 1], weights[i].T, out=ups[i])
        times.append(time.perf_counter() - start)
    return times


def digitnet_epochs(train_split: Split, epochs: int, threads: int) -> list[float]:
    with threadpool_limits(threads, user_api="blas"):
        return _digitnet_epochs(train_split, epochs)


def _digitnet_epochs(train_split: Split, epochs: int) -> list[float]:
    network = Network.initialised(SIZES, np.random.default_rng(0))
    trainer = FusedSGDTrainer(network, BATCH)
    n, times = len(train_split), []
    for epoch in range(epochs):
        order = epoch_order(0, epoch, n)
        start = time.perf_counter()
        for begin in range(0, n, BATCH):
            trainer.step(train_split.images, train_split.labels, order[begin : begin + BATCH], LEARNING_RATE)
        times.append(time.perf_counter() - start)
    return times


class EpochClock(Reporter):
    """Collects the per-epoch seconds and test accuracy that ``train`` reports."""

    def __init__(self):
        self.records = []

    def epoch_done(self, record):
        self.records.append(record)


class BarAndClock(EpochClock):
    """The CLI's progress bar (drawn to a discarded stream, as on a terminal) plus the clock."""

    def __init__(self, epochs: int):
        from digitnet.cli.progress import ProgressReporter

        super().__init__()
        self.bar = ProgressReporter(epochs, show_bar=True, stream=open(os.devnull, "w"))

    def epoch_started(self, epoch, steps):
        self.bar.epoch_started(epoch, steps)

    def step_done(self, loss):
        self.bar.step_done(loss)

    def epoch_done(self, record):
        self.bar.close()
        super().epoch_done(record)


def digitnet_full_loop(train_split: Split, test: Split, epochs: int, progress: bool) -> list:
    """Per-epoch records of ``train`` on the seed recipe, with the test set measured after each epoch."""
    reporter = BarAndClock(epochs) if progress else EpochClock()
    train(TrainingRun.start(TrainingConfig(epochs=epochs)), train_split, None, test, reporter=reporter)
    return reporter.records


def torch_epochs(train_split: Split, test: Split, epochs: int, threads: int):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    optimiser = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    images, labels = torch.from_numpy(train_split.images), torch.from_numpy(train_split.labels)
    n, times = len(train_split), []
    for epoch in range(epochs):
        start = time.perf_counter()
        permutation = torch.randperm(n)
        shuffled_images, shuffled_labels = images[permutation], labels[permutation]
        for begin in range(0, n, BATCH):
            optimiser.zero_grad()
            loss = loss_fn(model(shuffled_images[begin : begin + BATCH]), shuffled_labels[begin : begin + BATCH])
            loss.backward()
            optimiser.step()
        times.append(time.perf_counter() - start)
    test_images = torch.from_numpy(test.images)
    with torch.no_grad():
        model(test_images)
        inference = min(timed(lambda: model(test_images)) for _ in range(5))
    return times, inference


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def peak_rss_of_training(epochs: int, out_dir: str) -> float:
    """Peak resident memory (MB) of a `digitnet train` process on all 60,000 images.

    Run first, while this process is still small: a forked child starts out counting its parent's pages.
    """
    subprocess.run([sys.executable, "-m", "digitnet", "train", "--epochs", str(epochs), "--validation", "0",
                    "--quiet", "--out", os.path.join(out_dir, "model.npz")], check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per implementation (default 5)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out_dir:
        peak_rss = peak_rss_of_training(2, out_dir)

    dataset = load_dataset()
    train_split, _ = split_train_validation(dataset, 0)
    test = test_split(dataset)
    steps = math.ceil(len(train_split) / BATCH)
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()]
    print(f"# digitnet training benchmark: {len(train_split)} images, batch {BATCH}, {args.epochs} epochs each")
    print(f"# BLAS: {blas}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    thread_counts = sorted({1, os.cpu_count()})
    bound = {t: gemm_lower_bound(steps, args.epochs, t) for t in thread_counts}
    ours = {t: digitnet_epochs(train_split, args.epochs, t) for t in thread_counts}
    network = Network.initialised(SIZES, np.random.default_rng(0))
    network.predict_proba(test.images)
    our_inference = min(timed(lambda: network.predict_proba(test.images)) for _ in range(5))
    loop_bare = digitnet_full_loop(train_split, test, args.epochs, progress=False)
    loop_bar = digitnet_full_loop(train_split, test, args.epochs, progress=True)
    peers = {}
    if not args.no_torch:
        for t in thread_counts:
            peers[t] = torch_epochs(train_split, test, args.epochs, t)
    to_target = digitnet_full_loop(train_split, test, 12, progress=False)

    flop = recipe_flop_per_epoch(len(train_split))
    best_bound = min(min(v) for v in bound.values())
    reference = min(min(times) for times, _ in peers.values()) if peers else None
    print(f"\n| implementation | BLAS threads | s/epoch (min) | s/epoch (median) | ratio to lower bound |"
          + (" ratio to PyTorch (best) |" if peers else ""))
    print("|---|---|---|---|---|" + ("---|" if peers else ""))

    def row(name, threads, times):
        best, median = min(times), statistics.median(times)
        line = f"| {name} | {threads} | {best:.3f} | {median:.3f} | {best / best_bound:.2f} |"
        print(line + (f" {best / reference:.2f} |" if peers else ""))

    for t in thread_counts:
        row(f"lower bound: {flop / 1e9:.1f} GFLOP of GEMMs ({flop / min(bound[t]) / 1e9:.0f} GFLOP/s)", t, bound[t])
    for t in thread_counts:
        row("digitnet training step (nn/fused.py)", t, ours[t])
    row("digitnet train(): steps + per-epoch test evaluation + history", 1, [r.seconds for r in loop_bare])
    row("digitnet train() + progress bar", 1, [r.seconds for r in loop_bar])
    for t, (times, _) in peers.items():
        row("PyTorch 2.13 eager, index slicing", t, times)

    print()
    overhead = statistics.median(r.seconds for r in loop_bar) / statistics.median(ours[1]) - 1
    print(f"progress bar + history + per-epoch test evaluation: {overhead:+.1%} of an epoch")
    elapsed, reached = 0.0, None
    for record in to_target:
        elapsed += record.seconds
        if record.test_accuracy >= TARGET_ACCURACY:
            reached = (record.epoch, elapsed)
            break
    if reached:
        print(f"time to {TARGET_ACCURACY} test accuracy (seed recipe, seed 0): {reached[1]:.2f} s of training "
              f"(epoch {reached[0]})")
    else:
        print(f"{TARGET_ACCURACY} not reached in {len(to_target)} epochs "
              f"(best {max(r.test_accuracy for r in to_target):.4f})")
    line = f"inference on {len(test)} test images: digitnet {our_inference * 1e3:.1f} ms"
    if peers:
        torch_inference = min(inference for _, inference in peers.values())
        line += f", PyTorch {torch_inference * 1e3:.1f} ms (ratio {our_inference / torch_inference:.2f})"
    print(line)
    print(f"peak RSS of `digitnet train --epochs 2` on 60,000 images: {peak_rss:.0f} MB")


if __name__ == "__main__":
    main()
