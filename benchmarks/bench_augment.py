"""How much augmentation slows a training epoch: the best recipe with and without its distortions.

Prints seconds per epoch (the fastest of three, on the first 20,000 MNIST training images, one BLAS
thread) and the ratio.
"""

import time
from dataclasses import replace

from threadpoolctl import threadpool_limits

from digitnet.training.augmentation import Augmentation
from digitnet.data import Split, load_dataset, split_train_validation
from digitnet.training.recipes import BEST
from digitnet.training import TrainingConfig, TrainingRun, train

IMAGES = 20_000


def seconds_per_epoch(config: TrainingConfig, data: Split, repeats: int = 3) -> float:
    """The fastest of ``repeats`` one-epoch trainings: the least disturbed by other work on the machine."""
    fastest = float("inf")
    for _ in range(repeats):
        run = TrainingRun.start(replace(config, epochs=1, keep_best=False, patience=0))
        started = time.perf_counter()
        train(run, data)
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def main() -> None:
    train_split, _ = split_train_validation(load_dataset(), 5000)
    data = Split(train_split.images[:IMAGES], train_split.labels[:IMAGES])
    with threadpool_limits(1):
        plain = seconds_per_epoch(replace(BEST.config, augmentation=Augmentation()), data)
        augmented = seconds_per_epoch(BEST.config, data)
    print(f"best recipe, {IMAGES} images, batch {BEST.config.batch_size}: plain {plain:.2f} s/epoch, "
          f"augmented {augmented:.2f} s/epoch, ratio {augmented / plain:.2f}")


if __name__ == "__main__":
    main()
