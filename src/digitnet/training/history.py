"""The history of a training: one EpochRecord per finished epoch, and the history file beside a model."""

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from digitnet.modelfile import count_at_least, finite_number

HISTORY_SUFFIX = ".history.json"  # model.npz -> model.history.json


@dataclass
class EpochRecord:
    """What one epoch measured. Losses are mean cross-entropy (nats); NaN where not measured."""

    epoch: int
    train_loss: float
    validation_loss: float
    validation_accuracy: float
    test_accuracy: float
    seconds: float  # the epoch's distortions and training steps, without its evaluation


def history_as_dicts(history: list[EpochRecord]) -> list[dict]:
    """The history as JSON-ready dicts, with None where a figure was not measured."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()}
            for r in history]


def history_from_dicts(rows: list[dict]) -> list[EpochRecord]:
    return [EpochRecord(**{k: (math.nan if v is None else v) for k, v in row.items()}) for row in rows]


def valid_history_rows(rows) -> bool:
    """Whether ``rows`` (parsed JSON) is a list of epoch records as ``history_as_dicts`` writes them."""
    names = {f.name for f in fields(EpochRecord)}
    return isinstance(rows, list) and all(
        isinstance(row, dict) and row.keys() == names and count_at_least(1)(row["epoch"])
        and all(value is None or finite_number(value) for value in row.values()) for row in rows)


def history_path(model_path: Path) -> Path:
    """Where the history of the model at ``model_path`` is written: beside it, ``NAME.history.json``."""
    return model_path.with_name(model_path.stem + HISTORY_SUFFIX)


def history_document(recipe: dict, history: list[EpochRecord]) -> str:
    """The history file's text: ``{"recipe": ..., "history": [one dict per epoch]}``."""
    return json.dumps({"recipe": recipe, "history": history_as_dicts(history)}, indent=1)
