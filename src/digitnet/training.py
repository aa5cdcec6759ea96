"""The fit loop: shuffling, epochs, per-epoch evaluation, history, stopping and resuming.

Randomness is a pure function of the seed: the initial weights come from
``default_rng(seed)``, the order of epoch ``e`` from ``default_rng([seed, e])`` and the
distortions of step ``s`` of epoch ``e`` from ``default_rng([seed, e, s, 1])``; the learning rate
is a pure function of (epoch, step). A run stopped after any step and resumed from its checkpoint
(which keeps the momentum velocities and the best epoch's weights) therefore ends with exactly
the weights of an uninterrupted run.
"""

import math
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.augment import Augmentation, augment
from digitnet.data import Split
from digitnet.errors import ModelFileError, TrainingError
from digitnet.metrics import mean_cross_entropy
from digitnet.modelfile import (MAX_BLAS_THREADS, Model, count_at_least, field_problems, finite_number, load_model,
                                save_model)
from digitnet.nn.fused import FusedSGDTrainer
from digitnet.nn.network import Network
from digitnet.nn.optim import MomentumUpdate, OptimizerSettings, PlainUpdate
from digitnet.schedules import Schedule, learning_rate_at

# A batch's mean cross-entropy above this (nats) means logits of hundreds of units pointing the wrong
# way: training has blown up even if the numbers are still finite. Chance level is ln(10) = 2.3.
DIVERGED_LOSS = 1000.0
# Batch-sized matrix products gain from a second thread only while the machine is otherwise idle: under
# load a BLAS thread waits for a core and the step slows several-fold (benchmarks/bench_train.py measures
# both). Results also differ in the last bits between thread counts, so the default is one: reproducible.
TRAINING_BLAS_THREADS = 1


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters as given; the defaults are the original recipe.

    momentum, nesterov, weight_decay: see ``nn.optim``; schedule: how the learning rate moves
    (``schedules.Schedule``); augmentation: distortions of every training batch
    (``augment.Augmentation``); patience: stop once validation accuracy has not improved for that
    many epochs (0: never stop early); keep_best: end with the weights of the epoch with the best
    validation accuracy rather than the last. The last two need a validation split.
    """

    layer_sizes: tuple[int, ...] = (784, 128, 64, 10)
    learning_rate: float = 0.1
    batch_size: int = 32
    epochs: int = 200
    seed: int = 0
    dtype: str = "float32"
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: Schedule = field(default_factory=Schedule)
    augmentation: Augmentation = field(default_factory=Augmentation)
    patience: int = 0
    keep_best: bool = False

    def __post_init__(self):
        object.__setattr__(self, "layer_sizes", tuple(int(n) for n in self.layer_sizes))
        for name, kind in (("schedule", Schedule), ("augmentation", Augmentation)):
            if isinstance(getattr(self, name), dict):
                object.__setattr__(self, name, kind(**getattr(self, name)))
        OptimizerSettings(self.momentum, self.nesterov, self.weight_decay)  # raises ValueError if invalid
        problems = []
        if len(self.layer_sizes) < 2 or min(self.layer_sizes) < 1:
            problems.append(f"layer sizes must be two or more positive widths, got {list(self.layer_sizes)}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            problems.append(f"learning rate must be a positive number, got {self.learning_rate}")
        if self.batch_size < 1:
            problems.append(f"batch size must be at least 1, got {self.batch_size}")
        if self.epochs < 1:
            problems.append(f"epochs must be at least 1, got {self.epochs}")
        if self.dtype not in ("float32", "float64"):
            problems.append(f"dtype must be float32 or float64, got {self.dtype}")
        if self.patience < 0:
            problems.append(f"patience must be >= 0 epochs, got {self.patience}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def optimizer(self) -> OptimizerSettings:
        return OptimizerSettings(self.momentum, self.nesterov, self.weight_decay)

    @property
    def needs_validation(self) -> bool:
        return bool(self.patience or self.keep_best)

    def to_dict(self) -> dict:
        return {**asdict(self), "layer_sizes": list(self.layer_sizes)}


@dataclass
class EpochRecord:
    """What one epoch measured. Losses are mean cross-entropy (nats); NaN where not measured."""

    epoch: int
    train_loss: float
    validation_loss: float
    validation_accuracy: float
    test_accuracy: float
    seconds: float  # the epoch's training steps, without its evaluation


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
        network = Network.initialised(config.layer_sizes, np.random.default_rng(config.seed), np.dtype(config.dtype))
        return cls(config, network)

    @property
    def finished(self) -> bool:
        return self.stopped_early or self.position.epoch >= self.config.epochs


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


def augmentation_rng(seed: int, epoch: int, step: int) -> np.random.Generator:
    """The generator that distorts the batch of step ``step`` of epoch ``epoch``."""
    return np.random.default_rng([seed, epoch, step, 1])


def parameter_update(run: TrainingRun):
    """The in-place update for the run's optimiser settings, sharing the run's velocity buffer."""
    settings = run.config.optimizer
    if settings.plain:
        return PlainUpdate()
    update = MomentumUpdate(run.network.parameters, settings, run.velocity)
    run.velocity = update.velocity  # the same array: a checkpoint of the run keeps it
    return update


def improved(record: EpochRecord, best: EpochRecord | None) -> bool:
    """Whether an epoch beats the best so far: higher validation accuracy, ties to lower loss."""
    return best is None or (record.validation_accuracy, -record.validation_loss) > (
        best.validation_accuracy, -best.validation_loss)


def evaluate_split(network: Network, split: Split) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the network on a split; (NaN, NaN) for an empty split."""
    if len(split) == 0:
        return math.nan, math.nan
    logits = network.logits(split.images)
    return mean_cross_entropy(logits, split.labels), float((logits.argmax(axis=1) == split.labels).mean())


def train(run: TrainingRun, train_split: Split, validation: Split | None = None, test: Split | None = None,
          reporter: Reporter | None = None, stop: StopRequest | None = None,
          blas_threads: int = TRAINING_BLAS_THREADS) -> TrainingRun:
    """Train ``run.network`` in place from ``run.position`` to the last epoch, or until ``stop``.

    Every matrix product (steps and per-epoch evaluation) runs on ``blas_threads`` BLAS threads; the
    weights are a pure function of the run's config and that number.
    Raises TrainingError as soon as the loss blows up (``DIVERGED_LOSS``, NaN) or the weights stop
    being finite. With ``keep_best``, a finished run ends holding the weights of its best
    validation epoch.

    Evaluating the held-out splits after an epoch is 8% of an epoch's arithmetic (10,000 test
    images). When training uses one thread and another core is free, and no decision waits for
    the result (no early stopping, no keeping the best epoch), a copy of the epoch's weights is
    evaluated on that core while the next epoch trains; the epoch is then reported when its
    evaluation is done. The numbers are the same either way.
    """
    config = run.config
    reporter = reporter or Reporter()
    stop = stop or StopRequest()
    empty = Split(np.empty((0, config.layer_sizes[0]), np.float32), np.empty(0, np.int64))
    validation, test = validation or empty, test or empty
    if config.needs_validation and len(validation) == 0:
        raise TrainingError("early stopping and keeping the best epoch need a validation split")
    trainer = FusedSGDTrainer(run.network, config.batch_size, parameter_update(run))
    beside = blas_threads == 1 and available_cores() > 1 and not config.needs_validation
    with threadpool_limits(blas_threads, user_api="blas"), np.errstate(over="ignore", invalid="ignore"), \
            ThreadPoolExecutor(1, thread_name_prefix="evaluation") as evaluator:
        epochs = _Epochs(run, validation, test, reporter, evaluator if beside else None)
        try:
            _run_epochs(run, trainer, train_split, epochs, stop)  # divergence is checked there
        finally:
            epochs.finish_pending()
    if run.finished and config.keep_best and run.best_network is not None:
        for current, best in zip(run.network.parameters, run.best_network.parameters):
            current[...] = best
    return run


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def evaluate_epoch(network: Network, validation: Split, test: Split) -> tuple[float, float, float]:
    """(validation loss, validation accuracy, test accuracy) of a network after an epoch."""
    # A network that blew up (finite but huge weights) may overflow: that is its result. (Set here,
    # since NumPy's error state belongs to a thread and this may run in the evaluation thread.)
    with np.errstate(over="ignore", invalid="ignore"):
        return (*evaluate_split(network, validation), evaluate_split(network, test)[1])


class _Epochs:
    """Turns finished epochs into records: evaluates them (now, or beside the next epoch's steps),
    appends them to the run's history, keeps the best epoch, and reports them."""

    def __init__(self, run: TrainingRun, validation: Split, test: Split, reporter: Reporter,
                 evaluator: ThreadPoolExecutor | None):
        self.run, self.validation, self.test, self.reporter, self.evaluator = run, validation, test, reporter, evaluator
        self.pending: tuple[EpochRecord, Future] | None = None

    def trained(self, record: EpochRecord) -> None:
        """An epoch's steps are done; ``record`` holds its training figures."""
        self.finish_pending()
        if self.evaluator is None or record.epoch == self.run.config.epochs:
            self._finish(record, evaluate_epoch(self.run.network, self.validation, self.test))
        else:
            self.pending = record, self.evaluator.submit(evaluate_epoch, self.run.network.copy(), self.validation,
                                                         self.test)

    def poll(self) -> None:
        """Finish the pending epoch if its evaluation is done (cheap: called between steps)."""
        if self.pending is not None and self.pending[1].done():
            self.finish_pending()

    def finish_pending(self) -> None:
        """Wait for the pending epoch's evaluation, if any, and finish that epoch."""
        if self.pending is not None:
            record, evaluation = self.pending
            self.pending = None
            self._finish(record, evaluation.result())

    def _finish(self, record: EpochRecord, evaluation: tuple[float, float, float]) -> None:
        run = self.run
        validation_loss, validation_accuracy, test_accuracy = evaluation
        record = replace(record, validation_loss=validation_loss, validation_accuracy=validation_accuracy,
                         test_accuracy=test_accuracy)
        run.history.append(record)
        if run.config.needs_validation:
            if improved(record, run.history[run.best_epoch - 1] if run.best_epoch else None):
                run.best_network, run.best_epoch = run.network.copy(), record.epoch
            run.stopped_early = bool(run.config.patience) and record.epoch - run.best_epoch >= run.config.patience
        self.reporter.epoch_done(record)


def _run_epochs(run: TrainingRun, trainer: FusedSGDTrainer, train_split: Split, epochs: _Epochs,
                stop: StopRequest) -> None:
    config, position, reporter = run.config, run.position, epochs.reporter
    n, batch_size = len(train_split), config.batch_size
    steps = math.ceil(n / batch_size)
    in_batch = np.arange(batch_size)
    augmenting = config.augmentation.enabled
    constant_rate = config.schedule.constant
    while not run.finished:
        started = time.perf_counter()
        order = epoch_order(config.seed, position.epoch, n)
        reporter.epoch_started(position.epoch, steps)
        # The step counter and loss sum live in locals while the epoch runs (each attribute write
        # costs a little on every step) and go back into ``position`` when it stops or ends.
        step, loss_sum = position.step, position.epoch_loss_sum
        while step < steps and not stop.requested:
            epochs.poll()
            batch = order[step * batch_size : (step + 1) * batch_size]
            learning_rate = config.learning_rate if constant_rate else learning_rate_at(
                config.schedule, config.learning_rate, position.epoch, step, steps, config.epochs)
            if augmenting:
                images = augment(train_split.images[batch], augmentation_rng(config.seed, position.epoch, step),
                                 config.augmentation)
                loss = trainer.step(images, train_split.labels[batch], in_batch[: len(batch)], learning_rate)
            else:
                loss = trainer.step(train_split.images, train_split.labels, batch, learning_rate)
            if not loss < DIVERGED_LOSS:  # also true for NaN
                raise TrainingError(
                    f"loss became {loss:.4g} at epoch {position.epoch + 1} step {step + 1}: "
                    f"the learning rate {config.learning_rate:g} is too high"
                )
            loss_sum += loss * len(batch)
            step += 1
            reporter.step_done(loss)
        position.step, position.epoch_loss_sum = step, loss_sum
        if step < steps:
            return  # stopped
        if not all(np.isfinite(p).all() for p in run.network.parameters):
            raise TrainingError(f"weights became non-finite in epoch {position.epoch + 1}: "
                                f"the learning rate {config.learning_rate:g} is too high")
        trained = EpochRecord(epoch=position.epoch + 1, train_loss=loss_sum / n,
                              validation_loss=math.nan, validation_accuracy=math.nan, test_accuracy=math.nan,
                              seconds=time.perf_counter() - started)
        run.position = position = Position(epoch=position.epoch + 1)
        epochs.trained(trained)


def history_as_dicts(history: list[EpochRecord]) -> list[dict]:
    """The history as JSON-ready dicts, with None where a figure was not measured."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()}
            for r in history]


def history_from_dicts(rows: list[dict]) -> list[EpochRecord]:
    return [EpochRecord(**{k: (math.nan if v is None else v) for k, v in row.items()}) for row in rows]


def save_checkpoint(path, run: TrainingRun, extra: dict | None = None) -> None:
    """Store a run atomically as a model file whose metadata also says how to resume it."""
    state = {"config": run.config.to_dict(), "position": asdict(run.position),
             "history": history_as_dicts(run.history), "best_epoch": run.best_epoch,
             "stopped_early": run.stopped_early, **(extra or {})}
    arrays = {} if run.velocity is None else {"velocity": run.velocity}
    if run.best_network is not None:
        arrays.update({f"best{i}": p for i, p in enumerate(run.best_network.parameters)})
    save_model(path, Model(run.network, {"training_state": state}, arrays))


def load_checkpoint(path) -> tuple[TrainingRun, dict]:
    """The run stored by ``save_checkpoint``, and the whole training_state (with any extras).

    Raises ModelFileError for a file that is not a checkpoint or whose training state has a field
    of the wrong type or range (see ``checkpoint_problems``)."""
    model = load_model(path)
    state = model.metadata.get("training_state")
    if not isinstance(state, dict):
        raise ModelFileError(f"{path}: is a model file but not a training checkpoint")
    for problem in checkpoint_problems(state):
        raise ModelFileError(f"{path}: damaged training state: {problem}")
    try:
        config = dict(state["config"])
        run = TrainingRun(TrainingConfig(**config), model.network, history_from_dicts(state["history"]),
                          Position(**state["position"]), best_epoch=state.get("best_epoch", 0),
                          stopped_early=state.get("stopped_early", False))
        run.velocity = model.state.get("velocity")
        best = [model.state[f"best{i}"] for i in range(sum(k.startswith("best") for k in model.state))]
        if best:
            run.best_network = Network(best[0::2], best[1::2])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise ModelFileError(f"{path}: damaged training state ({e})") from None
    if run.network.layer_sizes != run.config.layer_sizes:
        raise ModelFileError(f"{path}: network does not match the checkpoint's layer sizes")
    return run, state


def valid_history_rows(rows) -> bool:
    """Whether ``rows`` (parsed JSON) is a list of epoch records as ``history_as_dicts`` writes them."""
    names = {f.name for f in fields(EpochRecord)}
    return isinstance(rows, list) and all(
        isinstance(row, dict) and row.keys() == names and count_at_least(1)(row["epoch"])
        and all(value is None or finite_number(value) for value in row.values()) for row in rows)


def _is_position(position) -> bool:
    return (isinstance(position, dict) and position.keys() == {f.name for f in fields(Position)}
            and count_at_least(0)(position["epoch"]) and count_at_least(0)(position["step"])
            and finite_number(position["epoch_loss_sum"]))


def _is_config(config) -> bool:
    return (isinstance(config, dict) and all(isinstance(config.get(part, {}), dict)
                                             for part in ("schedule", "augmentation")))


# What each field of a checkpoint's training_state must be: the run's own, then those
# ``digitnet train`` adds (where the model goes, how to load the same data, the thread count).
CHECKPOINT_FIELDS = {
    "config": (_is_config, "an object (with schedule and augmentation objects)"),
    "position": (_is_position, "an object of epoch, step (counts) and epoch_loss_sum (a number)"),
    "history": (valid_history_rows, "a list of epoch records"),
    "best_epoch": (count_at_least(0), "an epoch number >= 0"),
    "stopped_early": (lambda v: isinstance(v, bool), "true or false"),
    "out": (lambda v: isinstance(v, str) and v.endswith(".npz") and "\0" not in v, "a path ending in .npz"),
    "validation_size": (count_at_least(0), "a count >= 0"),
    "recipe_name": (lambda v: isinstance(v, str), "a string"),
    "calibrate": (lambda v: isinstance(v, bool), "true or false"),
    "data_dir": (lambda v: v is None or (isinstance(v, str) and "\0" not in v), "a path or null"),
    "data_sha256": (lambda v: isinstance(v, str), "a string"),
    "blas_threads": (lambda v: count_at_least(1)(v) and v <= MAX_BLAS_THREADS, f"a count from 1 to {MAX_BLAS_THREADS}"),
}


def checkpoint_problems(state: dict) -> list[str]:
    """What is wrong with a checkpoint's ``training_state`` (empty when nothing is), one phrase each."""
    missing = [f"field {key!r} is missing" for key in ("config", "position", "history") if key not in state]
    return missing + field_problems(state, CHECKPOINT_FIELDS)
