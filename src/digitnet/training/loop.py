"""The fit loop: for each epoch, shuffle, take the steps, measure, report, stop or go on.

Randomness is a pure function of the seed: the initial weights come from ``default_rng(seed)``,
the order of epoch ``e`` from ``default_rng([seed, e])`` and its distortions from
``augmentation.EpochDistortions`` (seeded by ``[seed, e, 1]``); the learning rate is a pure
function of (epoch, step). A run stopped after any step and resumed from its checkpoint (which
keeps the momentum velocity and the best epoch's weights) therefore ends with exactly the weights
of an uninterrupted run.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.data import Split
from digitnet.errors import TrainingError
from digitnet.evaluation.metrics import mean_cross_entropy
from digitnet.nn.convnet import ConvNetwork
from digitnet.nn.network import Network
from digitnet.nn.trainers import TRAINERS
from digitnet.training.augmentation import EpochDistortions
from digitnet.training.config import TrainingConfig
from digitnet.training.history import EpochRecord
from digitnet.training.schedules import learning_rate_at

# A batch's mean cross-entropy above this (nats) means logits of hundreds of units pointing the wrong
# way: training has blown up even if the numbers are still finite. Chance level is ln(10) = 2.3.
DIVERGED_LOSS = 1000.0
# Batch-sized matrix products gain from a second thread only while the machine is otherwise idle: under
# load a BLAS thread waits for a core and the step slows several-fold (benchmarks/bench_train.py measures
# both). Results also differ in the last bits between thread counts, so the default is one: reproducible.
TRAINING_BLAS_THREADS = 1


@dataclass
class Position:
    """Where training stands: the next step to run and the loss summed so far in its epoch."""

    epoch: int = 0
    step: int = 0
    epoch_loss_sum: float = 0.0


@dataclass
class TrainingRun:
    """A network being trained, how far it got, and the history of its finished epochs.

    velocity: the momentum buffer, all parameters flat (None for plain SGD); best_network / best_epoch: a copy of
    the weights after the epoch (1-based) with the best validation accuracy so far.
    """

    config: TrainingConfig
    network: Network
    history: list[EpochRecord] = field(default_factory=list)
    position: Position = field(default_factory=Position)
    velocity: np.ndarray | None = None
    best_network: Network | None = None
    best_epoch: int = 0
    stopped_early: bool = False

    @classmethod
    def start(cls, config: TrainingConfig) -> "TrainingRun":
        rng, dtype = np.random.default_rng(config.seed), np.dtype(config.dtype)
        if config.convolutions:
            network = ConvNetwork.initialised(config.convolutions, config.layer_sizes, rng, dtype, config.activation)
        else:
            network = Network.initialised(config.layer_sizes, rng, dtype, config.activation)
        return cls(config, network)

    @property
    def finished(self) -> bool:
        return self.stopped_early or self.position.epoch >= self.config.epochs

    def record(self, record: EpochRecord) -> None:
        """Add a finished epoch; keep the best one and decide on early stopping when validation matters."""
        self.history.append(record)
        if self.config.needs_validation:
            if improved(record, self.history[self.best_epoch - 1] if self.best_epoch else None):
                self.best_network, self.best_epoch = self.network.copy(), record.epoch
            patience = self.config.patience
            self.stopped_early = bool(patience) and record.epoch - self.best_epoch >= patience


class Reporter:
    """Receives progress; the default reports nothing. The CLI supplies one that draws a bar."""

    def epoch_started(self, epoch: int, steps: int) -> None: ...
    def step_done(self, loss: float) -> None: ...
    def epoch_done(self, record: EpochRecord) -> None: ...


class StopRequest:
    """Set ``requested`` (e.g. from a SIGINT handler) to stop training cleanly after the current step."""

    requested: bool = False


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled order of the n training examples in epoch ``epoch``."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def improved(record: EpochRecord, best: EpochRecord | None) -> bool:
    """Whether an epoch beats the best so far: higher validation accuracy, ties to lower loss."""
    return best is None or (record.validation_accuracy, -record.validation_loss) > (
        best.validation_accuracy, -best.validation_loss)


def evaluate_split(network: Network, split: Split) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the network on a split; (NaN, NaN) for an empty split."""
    if len(split) == 0:
        return math.nan, math.nan
    # A network that blew up (finite but huge weights) may overflow: that is its result.
    with np.errstate(over="ignore", invalid="ignore"):
        logits = network.logits(split.images)
        return mean_cross_entropy(logits, split.labels), float((logits.argmax(axis=1) == split.labels).mean())


def check_data(config: TrainingConfig, train_split: Split, validation: Split) -> None:
    """TrainingError unless the splits fit the config: widths, classes, batch size, validation."""
    n_in, classes = config.layer_sizes[0], config.layer_sizes[-1]
    for name, split in (("training", train_split), ("validation", validation)):
        if len(split) and (split.images.shape[1] != n_in or split.labels.max() >= classes):
            raise TrainingError(f"the {name} images have {split.images.shape[1]} values and labels up to "
                                f"{split.labels.max()}, but the network takes {n_in} inputs into {classes} classes")
    if len(train_split) == 0:
        raise TrainingError("there are no training images")
    if config.batch_size > len(train_split):
        raise TrainingError(f"batch size {config.batch_size} is larger than the {len(train_split)} training images")
    if config.needs_validation and len(validation) == 0:
        raise TrainingError("early stopping and keeping the best epoch need a validation split")


def train(run: TrainingRun, train_split: Split, validation: Split | None = None, test: Split | None = None,
          reporter: Reporter | None = None, stop: StopRequest | None = None,
          blas_threads: int = TRAINING_BLAS_THREADS) -> TrainingRun:
    """Train ``run.network`` in place from ``run.position`` to the last epoch, or until ``stop``.

    Every matrix product runs on ``blas_threads`` BLAS threads; the weights are a pure function of
    the run's config and that number. Raises TrainingError as soon as the loss blows up
    (``DIVERGED_LOSS``, NaN) or the weights stop being finite. With ``keep_best``, a finished run
    ends holding the weights of its best validation epoch.
    """
    config, reporter, stop = run.config, reporter or Reporter(), stop or StopRequest()
    empty = Split(np.empty((0, config.layer_sizes[0]), np.float32), np.empty(0, np.int64))
    validation, test = validation or empty, test or empty
    check_data(config, train_split, validation)
    trainer = TRAINERS[config.trainer](run.network, config.batch_size, config.optimizer, run.velocity)
    run.velocity = trainer.velocity  # the same array: a checkpoint of the run keeps it
    distortions = EpochDistortions(train_split, config.augmentation, config.seed) if config.augmentation.enabled else None
    n, batch_size = len(train_split), config.batch_size
    steps = math.ceil(n / batch_size)
    with threadpool_limits(blas_threads, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        while not run.finished and not stop.requested:
            started, position = time.perf_counter(), run.position
            order, epoch_split = epoch_order(config.seed, position.epoch, n), train_split
            if distortions:  # the same images in the same order, distorted and stored grouped by distortion
                epoch_split, position_of = distortions.epoch(position.epoch)
                order = position_of[order]
            reporter.epoch_started(position.epoch, steps)
            while position.step < steps and not stop.requested:
                batch = order[position.step * batch_size : (position.step + 1) * batch_size]
                learning_rate = learning_rate_at(config.schedule, config.learning_rate, position.epoch,
                                                 position.step, steps, config.epochs)
                loss = trainer.step(epoch_split.images, epoch_split.labels, batch, learning_rate)
                if not loss < DIVERGED_LOSS:  # also true for NaN
                    raise TrainingError(f"loss became {loss:.4g} at epoch {position.epoch + 1} step "
                                        f"{position.step + 1}: the learning rate {config.learning_rate:g} is too high")
                position.epoch_loss_sum += loss * len(batch)
                position.step += 1
                reporter.step_done(loss)
            if position.step < steps:
                break  # stopped mid-epoch: the position says where to resume
            if not np.isfinite(run.network.flat_parameters).all():
                raise TrainingError(f"weights became non-finite in epoch {position.epoch + 1}: "
                                    f"the learning rate {config.learning_rate:g} is too high")
            seconds = time.perf_counter() - started
            record = EpochRecord(position.epoch + 1, position.epoch_loss_sum / n, *evaluate_split(run.network, validation),
                                 evaluate_split(run.network, test)[1], seconds)
            run.position = Position(epoch=position.epoch + 1)
            run.record(record)
            reporter.epoch_done(record)
    if run.finished and config.keep_best and run.best_network is not None:
        run.network.flat_parameters[...] = run.best_network.flat_parameters
    return run
