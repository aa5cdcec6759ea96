"""digitnet: a neural network written from scratch in NumPy that reads handwritten digits.

The public API::

    from digitnet import load_model, load_dataset, Network, TrainingConfig, TrainingRun, train
    from digitnet import read_digits   # imported on first use: reading needs Pillow
"""

__version__ = "0.1.0"

from digitnet.data import Dataset, Split, load_dataset
from digitnet.errors import DataError, DigitnetError, ImageError, ModelFileError, TrainingError
from digitnet.modelfile import Model, load_model, save_model
from digitnet.nn.network import Network
from digitnet.training import TrainingConfig, TrainingRun, train

__all__ = [
    "DataError", "Dataset", "DigitnetError", "ImageError", "Model", "ModelFileError", "Network", "Split",
    "TrainingConfig", "TrainingError", "TrainingRun", "load_dataset", "load_model", "read_digits", "save_model",
    "train",
]


def __getattr__(name):
    if name == "read_digits":
        from digitnet.reading import read_digits

        return read_digits
    raise AttributeError(f"module 'digitnet' has no attribute {name!r}")
