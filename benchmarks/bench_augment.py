"""How much augmentation slows a training epoch: the best recipe with and without its distortions.

Prints the median seconds of an epoch (its distortions and steps, as ``EpochRecord.seconds``
counts them) over a few epochs on the first 20,000 MNIST training images with one BLAS thread, for
both, and their ratio; then the one-time cost of preparing the distortions (the strokes' dilation
and erosion), and where an augmented epoch's time goes.
"""

import statistics
import time
from dataclasses import replace

from digitnet.data import Split, load_dataset, split_train_validation
from digitnet.training import TrainingConfig, TrainingRun, train
from digitnet.training.augmentation import WARP_BANK_EPOCHS, Augmentation, EpochDistortions
from digitnet.training.recipes import BEST

IMAGES, EPOCHS = 20_000, 5


def epoch_seconds(config: TrainingConfig, data: Split) -> float:
    """The median of the epochs' seconds in one training of ``EPOCHS`` epochs."""
    run = train(TrainingRun.start(replace(config, epochs=EPOCHS, keep_best=False, patience=0)), data)
    return statistics.median(r.seconds for r in run.history)


def main() -> None:
    train_split, _ = split_train_validation(load_dataset(), 5000)
    data = Split(train_split.images[:IMAGES], train_split.labels[:IMAGES])
    plain_config = replace(BEST.config, augmentation=Augmentation())
    # Interleaved, twice, so that a change in the machine's load falls on both.
    plain, augmented = [], []
    for _ in range(2):
        plain.append(epoch_seconds(plain_config, data))
        augmented.append(epoch_seconds(BEST.config, data))
    plain_s, augmented_s = min(plain), min(augmented)
    print(f"best recipe, {IMAGES} images, batch {BEST.config.batch_size}: plain {plain_s:.2f} s/epoch, "
          f"augmented {augmented_s:.2f} s/epoch, ratio {augmented_s / plain_s:.2f}")
    started = time.perf_counter()
    distortions = EpochDistortions(data, BEST.config.augmentation, seed=0)
    prepared = time.perf_counter() - started
    distortions.epoch(0)
    started = time.perf_counter()
    distortions.epoch(1)  # the same bank as epoch 0: the cost of distorting an epoch alone
    distort = time.perf_counter() - started
    started = time.perf_counter()
    distortions.bank(WARP_BANK_EPOCHS)  # the first epoch of the next bank
    bank = time.perf_counter() - started
    print(f"preparing the distortions once: {prepared / plain_s:.2f} plain epochs; distorting an epoch "
          f"{distort / plain_s:.2f}, drawing a new bank of warps (every {WARP_BANK_EPOCHS} epochs) {bank / plain_s:.2f}")


if __name__ == "__main__":
    main()
