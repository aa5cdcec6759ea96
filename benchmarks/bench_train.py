"""Training speed of digitnet against PyTorch and the small-GEMM lower bound, in one run.

Prints one table: seconds per epoch (min and median over several epochs) of the seed recipe
(784-128-64-10, float32, batch 32, lr 0.1), with 1 BLAS thread and with one per core, for
- the lower bound: just the recipe's matrix products (27.3 GFLOP an epoch) at this machine's speed;
- digitnet's training step (nn/fused.py), and the whole `train()` loop as `digitnet train` runs it:
  progress bar, per-epoch test evaluation, history;
- PyTorch 2.13 CPU eager with batches by index slicing (a benchmark-only peer: `pip install -e .[bench]`);
each as a ratio to the lower bound and to PyTorch with the same threads, since the machine is shared
and noisy. Then, per thread count: the cost of the loop around the steps, the training time to reach
the original's 0.9765 test accuracy, inference on the 10,000 test images against PyTorch, and where
a step's time goes; the step's speed while another process keeps a core busy (why training
defaults to one thread); and the peak memory (RSS) of a whole `digitnet train` process.

Then the textbook trainer (`--trainer reference`) against the fast one, the best recipe's augmented epoch
against its plain one, and the best recipe's training time to 0.99 test accuracy.

Usage: python benchmarks/bench_train.py [--epochs 5] [--loop-epochs 10] [--no-torch] [--no-best]
"""

import argparse
import itertools
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from bench_augment import epoch_seconds
from digitnet.data import Split, load_dataset, split_train_validation, test_split
from digitnet.nn.fused import FusedSGDTrainer
from digitnet.nn.network import Network
from digitnet.nn.trainers import ReferenceTrainer
from digitnet.training import Reporter, StopRequest, TrainingConfig, TrainingRun, epoch_order, train
from digitnet.training.augmentation import Augmentation
from digitnet.training.recipes import BEST

SIZES = (784, 128, 64, 10)
BATCH, LEARNING_RATE = 32, 0.1
TARGET_ACCURACY = 0.9765
BEST_TARGET = 0.99


def forward_flop(n: int) -> float:
    """The matrix products of a forward pass over n images: what evaluating them costs."""
    return n * sum(2 * a * b for a, b in zip(SIZES[:-1], SIZES[1:]))


def recipe_flop_per_epoch(n: int) -> float:
    """Forward GEMMs, weight gradients, and input gradients of every layer but the first."""
    input_gradients = sum(2 * a * b for a, b in zip(SIZES[1:-1], SIZES[2:]))
    return 2 * forward_flop(n) + n * input_gradients


# Each implementation is a generator that runs one more epoch per next() and yields its seconds.

def gemm_epochs(steps: int):
    """The lower bound: an epoch of the recipe's matrix products alone (same shapes, preallocated)."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    acts = [rng.standard_normal((BATCH, n), dtype=np.float32) for n in SIZES]
    grads = [np.empty_like(w) for w in weights]
    ups = [np.empty((BATCH, n), np.float32) for n in SIZES]
    while True:
        start = time.perf_counter()
        for _ in range(steps):
            for i, w in enumerate(weights):
                np.matmul(acts[i], w, out=acts[i + 1])
            for i in range(len(weights) - 1, -1, -1):
                np.matmul(acts[i].T, acts[i + 1], out=grads[i])
                if i:
                    np.matmul(acts[i + 1], weights[i].T, out=ups[i])
        yield time.perf_counter() - start


def digitnet_epochs(train_split: Split, trainer_class=FusedSGDTrainer):
    """digitnet's training step (nn/fused.py, or another trainer) over the seed recipe's shuffled batches."""
    trainer = trainer_class(Network.initialised(SIZES, np.random.default_rng(0)), BATCH)
    n = len(train_split)
    for epoch in itertools.count():
        order = epoch_order(0, epoch, n)
        start = time.perf_counter()
        for begin in range(0, n, BATCH):
            trainer.step(train_split.images, train_split.labels, order[begin : begin + BATCH], LEARNING_RATE)
        yield time.perf_counter() - start


def gather_epochs(train_split: Split):
    """The step's first operation alone: gathering each batch's rows into the input buffer."""
    buffer = np.empty((BATCH, train_split.images.shape[1] + 1), np.float32)[:, :-1]  # as the step's input buffer
    n = len(train_split)
    for epoch in itertools.count():
        order = epoch_order(0, epoch, n)
        start = time.perf_counter()
        for begin in range(0, n, BATCH):
            np.take(train_split.images, order[begin : begin + BATCH], axis=0, out=buffer, mode="clip")
        yield time.perf_counter() - start


def torch_epochs(train_split: Split, threads: int, models: dict):
    """PyTorch eager on the same recipe, with a new permutation each epoch and batches by slicing.

    Leaves the model in ``models[threads]``, for timing inference afterwards.
    """
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    models[threads] = model
    optimiser = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    images, labels = torch.from_numpy(train_split.images), torch.from_numpy(train_split.labels)
    n = len(train_split)
    while True:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        permutation = torch.randperm(n)
        shuffled_images, shuffled_labels = images[permutation], labels[permutation]
        for begin in range(0, n, BATCH):
            optimiser.zero_grad()
            loss = loss_fn(model(shuffled_images[begin : begin + BATCH]), shuffled_labels[begin : begin + BATCH])
            loss.backward()
            optimiser.step()
        yield time.perf_counter() - start


def digitnet_epochs_beside_a_busy_core(train_split: Split, thread_counts, epochs: int = 2) -> dict:
    """Seconds per epoch (min) of digitnet's step while another process keeps one core busy."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        result = {}
        for t in thread_counts:
            runner = digitnet_epochs(train_split)
            with threadpool_limits(t, user_api="blas"):
                result[t] = min(next(runner) for _ in range(epochs))
        return result
    finally:
        busy.kill()
        busy.wait()


def torch_inference(model, test: Split, threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    test_images = torch.from_numpy(test.images)
    with torch.no_grad():
        probabilities = lambda: torch.softmax(model(test_images), dim=1)  # noqa: E731
        probabilities()
        return min(timed(probabilities) for _ in range(10))


class BarAndClock(Reporter):
    """The CLI's progress bar (drawn to a discarded stream, as on a terminal), collecting each epoch's
    record and the moment each epoch started."""

    def __init__(self, epochs: int):
        from digitnet.cli.progress import ProgressReporter

        self.records, self.starts = [], []
        self.bar = ProgressReporter(epochs, show_bar=True, stream=open(os.devnull, "w"))

    def epoch_started(self, epoch, steps):
        self.starts.append(time.perf_counter())
        self.bar.epoch_started(epoch, steps)

    def step_done(self, loss):
        self.bar.step_done(loss)

    def epoch_done(self, record):
        self.records.append(record)


def digitnet_full_loop(train_split: Split, test: Split | None, epochs: int, threads: int):
    """``train`` on the seed recipe with the CLI's progress bar and, if given, the test set measured
    after each epoch -> (the epochs' records, each epoch's wall-clock seconds from its start to the next's).

    Wall-clock, since an epoch's record counts only its steps, not its evaluation.
    """
    reporter = BarAndClock(epochs)
    train(TrainingRun.start(TrainingConfig(epochs=epochs)), train_split, None, test, reporter=reporter,
          blas_threads=threads)
    reporter.bar.close()
    ends = reporter.starts[1:] + [time.perf_counter()]
    return reporter.records, [end - start for start, end in zip(reporter.starts, ends)]


class StopAtAccuracy(Reporter):
    """Stops training once an epoch's test accuracy reaches ``target``."""

    def __init__(self, stop: StopRequest, target: float):
        self.stop, self.target, self.records = stop, target, []

    def epoch_done(self, record):
        self.records.append(record)
        self.stop.requested = record.test_accuracy >= self.target


def best_recipe_time_to(target: float, train_split: Split, validation: Split, test: Split) -> tuple[list, float]:
    """The best recipe (seed 0, one thread) until its test accuracy reaches ``target``:
    (its epochs' records, wall-clock seconds including the per-epoch evaluation)."""
    stop = StopRequest()
    reporter = StopAtAccuracy(stop, target)
    started = time.perf_counter()
    train(TrainingRun.start(BEST.config), train_split, validation, test, reporter=reporter, stop=stop)
    return reporter.records, time.perf_counter() - started


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
    parser.add_argument("--loop-epochs", type=int, default=10,
                        help="epochs of the full train() loop per thread count, also timed to 0.9765 (default 10)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--no-best", action="store_true", help="skip the best recipe's time to 0.99 (minutes)")
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
    runners, torch_models = {}, {}
    for t in thread_counts:
        runners["bound", t] = gemm_epochs(steps)
        runners["ours", t] = digitnet_epochs(train_split)
        if not args.no_torch:
            runners["torch", t] = torch_epochs(train_split, t, torch_models)
    runners["gather", 1] = gather_epochs(train_split)
    runners["reference", 1] = digitnet_epochs(train_split, ReferenceTrainer)
    times = {}
    for (name, t), runner in runners.items():
        # One implementation at a time: interleaved epochs would run each while the previous one's
        # thread pool (OpenBLAS's or PyTorch's OpenMP) still spins, slowing both with 2 threads.
        with threadpool_limits(t, user_api="blas"):
            times[name, t] = [next(runner) for _ in range(args.epochs)]
    bound = {t: times["bound", t] for t in thread_counts}
    ours = {t: times["ours", t] for t in thread_counts}
    peers = {t: times["torch", t] for t in thread_counts if ("torch", t) in times}
    gather, reference = times["gather", 1], times["reference", 1]
    busy = digitnet_epochs_beside_a_busy_core(train_split, thread_counts)

    steps_alone, bare_loops, loops, our_inference, peer_inference = {}, {}, {}, {}, {}
    network = Network.initialised(SIZES, np.random.default_rng(0))
    for t in thread_counts:
        # The steps alone once more, right before the loops they are compared with: the machine's speed drifts.
        with threadpool_limits(t, user_api="blas"):
            steps_alone[t] = [next(runners["ours", t]) for _ in range(args.epochs)]
        bare_loops[t] = digitnet_full_loop(train_split, None, args.epochs, t)
        loops[t] = digitnet_full_loop(train_split, test, args.loop_epochs, t)
        with threadpool_limits(t, user_api="blas"):
            network.predict_proba(test.images)
            our_inference[t] = min(timed(lambda: network.predict_proba(test.images)) for _ in range(10))
        if peers:
            peer_inference[t] = torch_inference(torch_models[t], test, t)

    flop = recipe_flop_per_epoch(len(train_split))
    print(f"\n| implementation | BLAS threads | s/epoch (min) | s/epoch (median) | ratio to lower bound |"
          + (" ratio to PyTorch |" if peers else ""))
    print("|---|---|---|---|---|" + ("---|" if peers else ""))

    def row(name, threads, times):
        """Ratios are taken against the lower bound and PyTorch with the same number of threads."""
        best, median = min(times), statistics.median(times)
        line = f"| {name} | {threads} | {best:.3f} | {median:.3f} | {best / min(bound[threads]):.2f} |"
        print(line + (f" {best / min(peers[threads]):.2f} |" if peers else ""))

    for t in thread_counts:
        row(f"lower bound: {flop / 1e9:.1f} GFLOP of GEMMs ({flop / min(bound[t]) / 1e9:.0f} GFLOP/s)", t, bound[t])
        row("digitnet training step (nn/fused.py)", t, ours[t])
        if t == 1:
            row("the textbook step (`--trainer reference`: nn/trainers.py)", t, reference)
        row("`digitnet train`: steps + progress bar + per-epoch test evaluation + history", t, loops[t][1])
        if peers:
            row("PyTorch 2.13 eager, index slicing", t, peers[t])

    for t in thread_counts:
        print(f"\n{t} BLAS thread{'s' if t > 1 else ''}:")
        steps_only = statistics.median(steps_alone[t])
        bar_and_history = statistics.median(bare_loops[t][1]) / steps_only - 1
        with_evaluation = statistics.median(loops[t][1]) / steps_only - 1
        print(f"- what `digitnet train` adds to the steps: progress bar + history {bar_and_history:+.1%} of an epoch; "
              f"with the per-epoch evaluation of the {len(test)} test images {with_evaluation:+.1%} "
              f"(its products alone are {forward_flop(len(test)) / flop:.1%} of an epoch's)")
        records, walls = loops[t]
        elapsed, reached = 0.0, None
        for record, wall in zip(records, walls):
            elapsed += wall
            if record.test_accuracy >= TARGET_ACCURACY:
                reached = (record.epoch, elapsed)
                break
        if reached:
            print(f"- time to {TARGET_ACCURACY} test accuracy (seed recipe, seed 0): {reached[1]:.2f} s of training "
                  f"(epoch {reached[0]})")
        else:
            print(f"- {TARGET_ACCURACY} not reached in {len(records)} epochs "
                  f"(best {max(r.test_accuracy for r in records):.4f})")
        line = f"- inference on {len(test)} test images (probabilities): digitnet {our_inference[t] * 1e3:.1f} ms"
        if peers:
            line += f", PyTorch {peer_inference[t] * 1e3:.1f} ms (ratio {our_inference[t] / peer_inference[t]:.2f})"
        print(line)
        step, products = min(ours[t]) / steps * 1e6, min(bound[t]) / steps * 1e6
        rows = min(gather) / steps * 1e6
        print(f"- where a step's {step:.0f} us go: the recipe's matrix products {products:.0f} us (the lower bound), "
              f"gathering the batch's rows {rows:.0f} us (1 thread), the rest {step - products - rows:.0f} us "
              f"(softmax, ReLU, masks, update: small NumPy calls; net of what the first layer saves by "
              f"multiplying only the pixel columns with ink)")
    print("\nwith another process keeping one core busy, digitnet's step takes "
          + ", ".join(f"{seconds:.3f} s an epoch with {t} BLAS thread{'s' if t > 1 else ''}"
                      for t, seconds in busy.items()))
    print(f"peak RSS of `digitnet train --epochs 2` on 60,000 images: {peak_rss:.0f} MB")
    print(f"the reference trainer's epoch takes {min(reference) / min(ours[1]):.2f}x the fast trainer's (1 thread)")

    plain_config = replace(BEST.config, augmentation=Augmentation())
    plain_epoch, augmented_epoch = (min(epoch_seconds(config, train_split) for _ in range(2))
                                    for config in (plain_config, BEST.config))
    print(f"best recipe on {len(train_split)} images: an augmented epoch takes {augmented_epoch / plain_epoch:.2f}x "
          f"a plain one ({augmented_epoch:.2f} s against {plain_epoch:.2f} s; bench_augment.py says where it goes)")
    if not args.no_best:
        best_train, best_validation = split_train_validation(dataset, BEST.validation_size)
        records, wall = best_recipe_time_to(BEST_TARGET, best_train, best_validation, test)
        reached = records[-1].test_accuracy >= BEST_TARGET
        print(f"best recipe (seed 0, 1 thread): {'reached' if reached else 'did not reach'} {BEST_TARGET} test "
              f"accuracy at epoch {records[-1].epoch}: {sum(r.seconds for r in records):.1f} s of training, "
              f"{wall:.1f} s with the per-epoch evaluation")


if __name__ == "__main__":
    main()
