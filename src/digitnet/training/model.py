"""One call from a recipe and data to a complete model: trained, measured, calibrated, with its history.

``train_model`` is what ``digitnet train`` runs; a library user gets the same model file with
``save_trained_model``. Nothing here assumes MNIST's shapes: the input width and the class count
are the recipe's ``layer_sizes`` and must fit the data.
"""

from dataclasses import dataclass
from pathlib import Path

from digitnet.atomic import write_text_atomically
from digitnet.data import Dataset, Split, split_train_validation, test_split
from digitnet.evaluation.calibration import calibrate
from digitnet.modelfile import Model, save_model
from digitnet.training.checkpoint import checkpoint_path
from digitnet.training.history import history_document, history_path
from digitnet.training.loop import TRAINING_BLAS_THREADS, Reporter, StopRequest, TrainingRun, evaluate_split, train
from digitnet.training.recipes import Recipe


@dataclass(frozen=True)
class TrainingData:
    """The splits a model is trained and measured on, and what the model file says about them.

    description: JSON-ready, e.g. {"source": ..., "sha256": ...}; ``train_images`` is added.
    """

    train: Split
    validation: Split
    test: Split
    description: dict


def mnist_training_data(dataset: Dataset, validation_size: int) -> TrainingData:
    """MNIST's training images less the last ``validation_size`` (held out), and its test images."""
    train_split, validation = split_train_validation(dataset, validation_size)
    return TrainingData(train_split, validation, test_split(dataset), {"source": dataset.source, "sha256": dataset.sha256})


def train_model(recipe: Recipe, data: TrainingData, run: TrainingRun | None = None, reporter: Reporter | None = None,
                stop: StopRequest | None = None, blas_threads: int = TRAINING_BLAS_THREADS) -> tuple[TrainingRun, Model | None]:
    """Train ``recipe`` (or continue ``run``) on ``data``; the run and, once it finished, its complete model.

    The model (None when ``stop`` came first: save the run with ``save_checkpoint``) carries the
    recipe, the data's description, its metrics, the training time and, when the recipe calibrates,
    a softmax temperature fitted on the validation split.
    """
    run = run or TrainingRun.start(recipe.config)
    train(run, data.train, data.validation, data.test, reporter=reporter, stop=stop, blas_threads=blas_threads)
    if not run.finished:
        return run, None
    return run, Model(run.network, model_metadata(recipe, run, data, blas_threads))


def model_metadata(recipe: Recipe, run: TrainingRun, data: TrainingData, blas_threads: int) -> dict:
    """What a trained model's file says about how it was made and how well it does."""
    validation_loss, validation_accuracy = evaluate_split(run.network, data.validation)
    measured = len(data.validation) > 0
    metadata = {
        "recipe": recipe.to_dict(),
        "data": {**data.description, "train_images": len(data.train)},
        "metrics": {"train_loss": run.history[-1].train_loss,
                    "validation_accuracy": validation_accuracy if measured else None,
                    "validation_loss": validation_loss if measured else None,
                    "test_accuracy": evaluate_split(run.network, data.test)[1] if len(data.test) else None},
        "training_seconds": round(sum(r.seconds for r in run.history), 2),
        "blas_threads": blas_threads,
        "epochs_run": len(run.history),
    }
    if run.config.needs_validation:
        metadata["best_epoch"] = run.best_epoch
    if recipe.calibrate:
        metadata["calibration"] = calibrate(run.network, data.validation, data.test)
    return metadata


def save_trained_model(path: Path, model: Model, run: TrainingRun) -> Path:
    """Write the model to ``path``, its history beside it (``history_path``), and drop the run's
    checkpoint (``checkpoint_path``), which it supersedes. Returns the history file's path."""
    save_model(path, model)
    history_file = history_path(path)
    write_text_atomically(history_file, history_document(model.metadata["recipe"], run.history))
    checkpoint_path(path).unlink(missing_ok=True)
    return history_file
