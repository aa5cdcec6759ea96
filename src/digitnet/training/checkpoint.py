"""Checkpoints: a training run stopped mid-way, stored as a model file that also says how to resume it."""

from dataclasses import asdict
from pathlib import Path

from digitnet.errors import ModelFileError
from digitnet.modelfile import Model, load_model, save_model
from digitnet.nn.network import Network
from digitnet.training.config import TrainingConfig
from digitnet.training.history import history_as_dicts, history_from_dicts
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
    """The run stored by ``save_checkpoint``, and the whole training_state (with any extras)."""
    model = load_model(path)
    state = model.metadata.get("training_state")
    if not isinstance(state, dict):
        raise ModelFileError(f"{path}: is a model file but not a training checkpoint")
    try:
        run = TrainingRun(TrainingConfig(**dict(state["config"])), model.network, history_from_dicts(state["history"]),
                          Position(**state["position"]), best_epoch=state.get("best_epoch", 0),
                          stopped_early=state.get("stopped_early", False))
        run.velocity = model.state.get("velocity")
        best = [model.state[f"best{i}"] for i in range(sum(k.startswith("best") for k in model.state))]
        if best:
            run.best_network = Network(best[0::2], best[1::2], model.network.activation)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: damaged training state ({e})") from None
    if run.network.layer_sizes != run.config.layer_sizes or run.network.activation != run.config.activation:
        raise ModelFileError(f"{path}: network does not match the checkpoint's layer sizes and activation")
    return run, state
