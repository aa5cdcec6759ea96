"""digitnet: a neural network written from scratch in NumPy that reads handwritten digits.

The public API::

    from digitnet import load_model, load_dataset, Network, TrainingConfig, TrainingRun, train
    from digitnet import read_digits
    from digitnet import DigitClassifier  # scikit-learn's estimator API over the same network
"""

__version__ = "0.1.0"

import importlib

from digitnet.errors import DataError, DigitnetError, ImageError, ModelFileError, TrainingError

# Each name is imported from its module on first use, so that a command pays only for what it uses
# (``digitnet predict`` never loads training, augmentation or SciPy).
_LAZY_EXPORTS = {
    "Dataset": "digitnet.data", "Split": "digitnet.data", "load_dataset": "digitnet.data",
    "Model": "digitnet.modelfile", "load_model": "digitnet.modelfile", "save_model": "digitnet.modelfile",
    "Network": "digitnet.nn.network",
    "TrainingConfig": "digitnet.training", "TrainingRun": "digitnet.training", "train": "digitnet.training",
    "read_digits": "digitnet.reading",
    "DigitClassifier": "digitnet.classifier",
}

__all__ = ["DataError", "DigitnetError", "ImageError", "ModelFileError", "TrainingError", *_LAZY_EXPORTS]


def __getattr__(name):
    if name not in _LAZY_EXPORTS:
        raise AttributeError(f"module 'digitnet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_EXPORTS))
