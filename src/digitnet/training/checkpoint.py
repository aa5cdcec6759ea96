"""Checkpoints: a training run stopped mid-way, stored as a model file that also says how to resume it."""

from dataclasses import asdict, fields
from pathlib import Path

from digitnet.errors import ModelFileError
from digitnet.modelfile import MAX_BLAS_THREADS, Model, count_at_least, field_problems, finite_number, load_model, save_model
from digitnet.training.config import TrainingConfig
from digitnet.training.history import history_as_dicts, history_from_dicts, valid_history_rows
from digitnet.training.loop import Position, TrainingRun

CHECKPOINT_SUFFIX = ".ckpt.npz"  # model.npz -> model.ckpt.npz


def checkpoint_path(model_path: Path) -> Path:
    """Where an interrupted training of the model at ``model_path`` keeps its checkpoint."""
    return model_path.with_name(model_path.stem + CHECKPOINT_SUFFIX)


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
        run = TrainingRun(TrainingConfig(**dict(state["config"])), model.network, history_from_dicts(state["history"]),
                          Position(**state["position"]), best_epoch=state.get("best_epoch", 0),
                          stopped_early=state.get("stopped_early", False))
        run.velocity = model.state.get("velocity")
        best = [model.state[f"best{i}"] for i in range(sum(k.startswith("best") for k in model.state))]
        if best:
            run.best_network = model.network.with_parameters(best[0::2], best[1::2])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise ModelFileError(f"{path}: damaged training state ({e})") from None
    if (run.network.layer_sizes, run.network.channels, run.network.activation) != \
            (run.config.layer_sizes, run.config.convolutions, run.config.activation):
        raise ModelFileError(f"{path}: network does not match the checkpoint's layers and activation")
    return run, state


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
