"""Training: the fit loop and everything it needs, in the order a learner may read them.

- ``config``: ``TrainingConfig``, every hyper-parameter, checked;
- ``schedules``: the learning rate of every step; ``augmentation``: distorted training images;
- ``loop``: ``TrainingRun`` and ``train``, the epoch loop (shuffle, steps, measure, report, stop);
- ``history``: one ``EpochRecord`` per epoch; ``checkpoint``: a stopped run saved and resumed;
- ``recipes``: named and TOML recipes; ``model``: one call from a recipe and data to a complete model;
- the check that a model can be written where asked (``atomic.output_problem``) is made before training starts.
"""

from digitnet.training.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from digitnet.training.config import TrainingConfig
from digitnet.training.history import (EpochRecord, history_as_dicts, history_from_dicts, history_path,
                                       valid_history_rows)
from digitnet.training.loop import (TRAINING_BLAS_THREADS, Position, Reporter, StopRequest, TrainingRun, epoch_order,
                                    evaluate_split, train)
from digitnet.training.model import TrainingData, mnist_training_data, save_trained_model, train_model

__all__ = ["TRAINING_BLAS_THREADS", "EpochRecord", "Position", "Reporter", "StopRequest", "TrainingConfig",
           "TrainingData", "TrainingRun", "checkpoint_path", "epoch_order", "evaluate_split", "history_as_dicts",
           "history_from_dicts", "history_path", "load_checkpoint", "mnist_training_data", "save_checkpoint",
           "save_trained_model", "train", "train_model", "valid_history_rows"]
