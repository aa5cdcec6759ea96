"""The study behind the recipe: learning-rate and epoch sweeps, each a set of independent trainings.

A sweep is a list of ``TrainingConfig``s, each trained from scratch by ``train_one`` on the images a
``DataSpec`` names. Workers receive only the config and the spec (a few hundred bytes) and load
MNIST themselves from the cache, once per worker process. Every training runs on one BLAS thread,
so it computes the same numbers wherever it runs: a sweep run in parallel (joblib's local worker
processes, or a Dask cluster) equals the serial sweep with the same seeds, bit for bit.
"""

import functools
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.data import Split, load_dataset, split_train_validation
from digitnet.errors import DataError, StudyError, TrainingError
from digitnet.files import read_regular_file
from digitnet.training import (TRAINING_BLAS_THREADS, EpochRecord, Reporter, TrainingConfig, TrainingRun,
                               evaluate_split, history_as_dicts, history_from_dicts, history_path, train,
                               valid_history_rows)

#: 21 rates, five per decade from 0.001 to 10 (rounded to 3 significant digits, so 0.1 is exact).
DEFAULT_LEARNING_RATES = tuple(float(f"{10 ** e:.3g}") for e in np.linspace(-3, 1, 21))
FINAL_MEASURES = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy")
BACKENDS = ("loky", "dask")
RECIPE_KEYS = ("layer_sizes", "learning_rate", "batch_size", "seed")  # what a history figure's title tells
SCHEDULER_TIMEOUT_S = 10
MAX_RESULTS_BYTES = 64 * 2**20  # a sweep's results or a run's history file (a 200-epoch history: 40 KB)


@dataclass(frozen=True)
class DataSpec:
    """Which MNIST images a sweep trains and validates on; small, so it travels to workers cheaply.

    Validation uses the last ``validation_size`` training images (as ``digitnet train`` holds out);
    training uses the rest, or only the first ``subset`` of them.
    """

    data_dir: str | None = None
    validation_size: int = 5000
    subset: int | None = None

    def __post_init__(self):
        if self.validation_size < 1:
            raise ValueError("a sweep needs validation images to compare its trainings on")
        if self.subset is not None and self.subset < 1:
            raise ValueError(f"subset must be at least 1 image, got {self.subset}")


@functools.lru_cache(maxsize=2)
def load_splits(data: DataSpec) -> tuple[Split, Split]:
    """(training, validation) splits named by ``data``; cached, so each worker process loads once."""
    training, validation = split_train_validation(load_dataset(data.data_dir), data.validation_size)
    if data.subset is not None:
        if data.subset > len(training):
            raise DataError(f"a subset of {data.subset} images is more than the {len(training)} training images "
                            f"left after holding out {data.validation_size} for validation")
        training = Split(training.images[: data.subset], training.labels[: data.subset])
    return training, validation


def _none_for_nan(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


def _nan_for_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


@dataclass
class TrainingOutcome:
    """One training of a sweep: its config, its data, its per-epoch history and how its final network scores.

    Losses are mean cross-entropy (nats), accuracies fractions in [0, 1], measured on the whole
    training and validation splits after the last epoch. ``diverged`` says why the training failed,
    or is "": either ``train`` stopped it because the loss blew up (then the final measures are NaN
    and ``history`` holds the epochs finished before), or the network ended worse than a uniform guess.
    """

    config: TrainingConfig
    training_images: int
    history: list[EpochRecord]
    train_loss: float
    train_accuracy: float
    validation_loss: float
    validation_accuracy: float
    diverged: str
    seconds: float

    def to_dict(self) -> dict:
        row = {k: _none_for_nan(v) for k, v in asdict(self).items() if k not in ("config", "history")}
        return {"config": self.config.to_dict(), **row, "history": history_as_dicts(self.history)}

    @classmethod
    def from_dict(cls, row: dict) -> "TrainingOutcome":
        return cls(TrainingConfig(**row["config"]), int(row["training_images"]), history_from_dicts(row["history"]),
                   *(_nan_for_none(row[name]) for name in FINAL_MEASURES), str(row["diverged"]),
                   float(row["seconds"]))


def train_one(config: TrainingConfig, data: DataSpec, reporter: Reporter | None = None) -> TrainingOutcome:
    """Train ``config`` from scratch on ``data``; divergence is an outcome, not an error.

    Everything runs on one BLAS thread (``train`` sees to its part), so the numbers do not depend on
    where this runs.
    """
    training, validation = load_splits(data)
    started = time.perf_counter()
    run = TrainingRun.start(config)
    try:
        train(run, training, validation, reporter=reporter)
    except TrainingError as e:
        return TrainingOutcome(config, len(training), run.history, *[math.nan] * len(FINAL_MEASURES), str(e),
                               time.perf_counter() - started)
    # One BLAS thread here too, so the final measures do not depend on the worker's thread count; and a
    # network that blew up (finite but huge weights) may overflow when evaluated: that is its result.
    with threadpool_limits(TRAINING_BLAS_THREADS, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        final = (*evaluate_split(run.network, training), *evaluate_split(run.network, validation))
    return TrainingOutcome(config, len(training), run.history, *final, worse_than_guessing(final[0], config),
                           time.perf_counter() - started)


def worse_than_guessing(train_loss: float, config: TrainingConfig) -> str:
    """Why a finished training counts as diverged, or "" if it does not.

    Predicting every class with equal probability costs ln(classes) nats (2.30 for digits); a
    network that ends above that has lost what it knew at the start, typically because a too-large
    step killed its ReLUs, even though the loss never blew up.
    """
    guessing = math.log(config.layer_sizes[-1])
    if train_loss > guessing:
        return (f"final training loss {train_loss:.3g} is above ln {config.layer_sizes[-1]} = {guessing:.3g}, "
                f"the loss of a uniform guess: the learning rate {config.learning_rate:g} is too high")
    return ""


@contextmanager
def _dask_client(scheduler: str | None):
    """A client of the Dask scheduler at ``scheduler`` (host:port), closed on exit; the cluster stays."""
    if not scheduler:
        raise StudyError("the dask backend needs the address of a Dask scheduler (--scheduler HOST:PORT)")
    try:
        from distributed import Client
    except ImportError:
        raise StudyError("the dask backend needs the cluster extra: pip install 'digitnet[cluster]'") from None
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as e:
        raise StudyError(f"could not reach the Dask scheduler at {scheduler}: {e}") from None
    with client:
        yield client


def run_trainings(configs: Sequence[TrainingConfig], data: DataSpec, jobs: int = 1, backend: str = "loky",
                  scheduler: str | None = None, reporter: Reporter | None = None) -> Iterator[TrainingOutcome]:
    """Train every config, yielding the outcomes in the order of ``configs``.

    ``jobs`` trainings run at once (-1: as many as there are cores, or Dask worker threads).
    With the local backend and one job (or one config) they train in this process, reporting epochs
    to ``reporter``; otherwise joblib runs them in worker processes (``backend="loky"``) or on the
    Dask cluster whose scheduler is at ``scheduler`` (``backend="dask"``).
    """
    if backend not in BACKENDS:
        raise StudyError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    from joblib import Parallel, cpu_count, delayed, parallel_config

    if backend == "loky":
        jobs = min(jobs if jobs > 0 else cpu_count(), len(configs))
    if backend == "loky" and jobs <= 1:
        for config in configs:
            yield train_one(config, data, reporter)
        return
    # parallel_config, unlike Parallel(backend=...), knows how to register joblib's dask backend.
    with _dask_client(scheduler) if backend == "dask" else nullcontext(), parallel_config(backend, n_jobs=jobs):
        yield from Parallel(return_as="generator")(delayed(train_one)(config, data) for config in configs)


@dataclass(frozen=True)
class Band:
    """The mean and the min-max range of a measure over seeds: each (points,) float64.

    Runs without a value (stopped before that point) are left out; NaN where none has one.
    """

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def over_seeds(cls, values: np.ndarray) -> "Band":
        """values: (seeds, points), NaN where a run has no value."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as documented
            return cls(np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0))


@dataclass
class Sweep:
    """Trainings of one recipe, the images they used, and what they measured."""

    data: DataSpec
    outcomes: list[TrainingOutcome]

    kind = ""  # names the sweep in its JSON record

    def values(self, measure: str) -> np.ndarray:
        """A measure as (seeds, points): points are rates or epochs, as the sweep varies."""
        raise NotImplementedError

    def band(self, measure: str) -> Band:
        return Band.over_seeds(self.values(measure))

    def summary(self) -> dict:
        """The sweep's conclusion, for its JSON record."""
        raise NotImplementedError


class LearningRateSweep(Sweep):
    """Trainings of one recipe at several learning rates, each with one or more seeds."""

    kind = "learning-rate-sweep"

    @property
    def rates(self) -> np.ndarray:
        """The learning rates tried, ascending: (rates,)."""
        return np.unique([o.config.learning_rate for o in self.outcomes])

    def _by_rate(self, value: Callable[[TrainingOutcome], float]) -> np.ndarray:
        """(seeds, rates) table of ``value(outcome)``, seeds in the order trained; NaN where a rate has fewer."""
        by_rate = [[value(o) for o in self.outcomes if o.config.learning_rate == r] for r in self.rates]
        table = np.full((max(map(len, by_rate)), len(by_rate)), np.nan)
        for column, values in enumerate(by_rate):
            table[: len(values), column] = values
        return table

    def values(self, measure: str) -> np.ndarray:
        """One of FINAL_MEASURES as (seeds, rates); NaN where a training was stopped."""
        return self._by_rate(lambda o: getattr(o, measure))

    def diverged_mask(self) -> np.ndarray:
        """(seeds, rates) bool: which trainings diverged."""
        return self._by_rate(lambda o: bool(o.diverged)) == 1

    @property
    def chosen_rate(self) -> float | None:
        """The rate of lowest mean validation loss among those at which no seed diverged."""
        losses = self.values("validation_loss")
        stable = ~(self.diverged_mask().any(axis=0) | np.isnan(losses).any(axis=0))
        if not stable.any():
            return None
        mean = losses.mean(axis=0)
        return float(self.rates[np.flatnonzero(stable)[np.argmin(mean[stable])]])

    def summary(self) -> dict:
        return {"chosen_learning_rate": self.chosen_rate}

    def table_rows(self) -> list[dict]:
        """One flat row per training, for CSV."""
        return [{"learning_rate": o.config.learning_rate, "seed": o.config.seed, "epochs": o.config.epochs,
                 **{m: _none_for_nan(getattr(o, m)) for m in FINAL_MEASURES},
                 "diverged": o.diverged, "seconds": round(o.seconds, 3)} for o in self.outcomes]


class EpochSweep(Sweep):
    """One long training of a recipe (per seed), measured after every epoch."""

    kind = "epoch-sweep"

    @property
    def epochs(self) -> np.ndarray:
        """Epoch numbers 1..N of the longest history: (epochs,)."""
        return np.arange(1, max(len(o.history) for o in self.outcomes) + 1)

    def values(self, measure: str) -> np.ndarray:
        """A per-epoch measure (an EpochRecord field) as (seeds, epochs); NaN after a run stopped."""
        table = np.full((len(self.outcomes), len(self.epochs)), np.nan)
        for row, outcome in enumerate(self.outcomes):
            table[row, : len(outcome.history)] = [getattr(r, measure) for r in outcome.history]
        return table

    @property
    def best_epoch(self) -> int:
        """The epoch (from 1) of lowest mean validation loss. StudyError if no epoch was measured."""
        losses = self.band("validation_loss").mean
        if not np.isfinite(losses).any():
            raise StudyError("no training of the sweep finished an epoch (every seed diverged): nothing to compare")
        return int(self.epochs[np.nanargmin(losses)])

    def summary(self) -> dict:
        return {"best_epoch": self.best_epoch}

    def table_rows(self) -> list[dict]:
        """One flat row per seed and epoch, for CSV."""
        return [{"learning_rate": o.config.learning_rate, "seed": o.config.seed,
                 **{k: v for k, v in row.items() if k != "test_accuracy"}}
                for o in self.outcomes for row in history_as_dicts(o.history)]


SWEEP_KINDS = {cls.kind: cls for cls in (LearningRateSweep, EpochSweep)}


def _train_all(configs: list[TrainingConfig], data: DataSpec, progress: Callable | None, **run_options):
    outcomes = []
    for outcome in run_trainings(configs, data, **run_options):
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return outcomes


def learning_rate_sweep(base: TrainingConfig, rates: Sequence[float], seeds: int, data: DataSpec,
                        progress: Callable[[TrainingOutcome], None] | None = None,
                        **run_options) -> LearningRateSweep:
    """Train ``base`` at every rate with seeds base.seed, base.seed + 1, ...; options as ``run_trainings``.

    ``progress`` is called with each outcome as it arrives.
    """
    configs = [replace(base, learning_rate=float(rate), seed=base.seed + k) for rate in rates for k in range(seeds)]
    return LearningRateSweep(data, _train_all(configs, data, progress, **run_options))


def epoch_sweep(base: TrainingConfig, seeds: int, data: DataSpec,
                progress: Callable[[TrainingOutcome], None] | None = None, **run_options) -> EpochSweep:
    """Train ``base`` for its ``epochs`` with seeds base.seed, base.seed + 1, ..., measuring every epoch."""
    configs = [replace(base, seed=base.seed + k) for k in range(seeds)]
    return EpochSweep(data, _train_all(configs, data, progress, **run_options))


def sweep_to_dict(sweep: Sweep) -> dict:
    """A JSON-ready record of a sweep: everything needed to redraw its figure."""
    return {"kind": sweep.kind, "data": asdict(sweep.data), **sweep.summary(),
            "runs": [o.to_dict() for o in sweep.outcomes]}


def sweep_from_dict(record: dict) -> Sweep:
    cls = SWEEP_KINDS.get(record.get("kind")) if isinstance(record, dict) else None
    if cls is None:
        raise StudyError(f"not a digitnet sweep record (kind must be one of {', '.join(SWEEP_KINDS)})")
    try:
        outcomes = [TrainingOutcome.from_dict(row) for row in record["runs"]]
        sweep = cls(DataSpec(**record["data"]), outcomes)
    except (KeyError, TypeError, ValueError) as e:
        raise StudyError(f"damaged sweep record ({e})") from None
    if not outcomes:
        raise StudyError("the sweep record holds no trainings")
    return sweep


def load_sweep(path: str | os.PathLike) -> Sweep:
    """The sweep that ``digitnet sweep`` recorded in a JSON file."""
    text = read_regular_file(path, MAX_RESULTS_BYTES, StudyError)
    try:
        return sweep_from_dict(json.loads(text))
    except StudyError as e:
        raise StudyError(f"{path}: {e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise StudyError(f"{path}: cannot read sweep results ({e})") from None


def history_file_for(path: str | os.PathLike) -> Path:
    """The history JSON of a run: ``path`` itself, or X.history.json beside the model file X.npz."""
    path = Path(path)
    return path if path.suffix == ".json" else history_path(path)


def load_run_history(path: str | os.PathLike) -> tuple[dict, list[EpochRecord]]:
    """(recipe, per-epoch history) of a run written by ``digitnet train --out X.npz``.

    ``path`` is X.npz or X.history.json. Raises StudyError when the file is missing or malformed.
    """
    history_file = history_file_for(path)
    if not history_file.exists():
        raise StudyError(f"{history_file}: no such history file ('digitnet train --out X.npz' writes "
                         f"X.history.json beside the model)")
    try:
        record = json.loads(read_regular_file(history_file, MAX_RESULTS_BYTES, StudyError))
        if not valid_history_rows(record["history"]):
            raise ValueError("its history is not a list of epoch records")
        recipe, history = dict(record["recipe"]), history_from_dicts(record["history"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, KeyError, TypeError, ValueError) as e:
        raise StudyError(f"{history_file}: not a training history ({e})") from None
    missing = [key for key in RECIPE_KEYS if key not in recipe]
    if missing:
        raise StudyError(f"{history_file}: the recipe does not say its {', '.join(missing)}")
    if not history:
        raise StudyError(f"{history_file}: the run has no finished epochs")
    return recipe, history
