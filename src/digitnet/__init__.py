"""digitnet: a neural network written from scratch in NumPy that reads handwritten digits.

The public API::

    from digitnet import load_model, load_dataset, Network, TrainingConfig, TrainingRun, train
"""

__version__ = "0.1.0"

from digitnet.data import Dataset, Split, load_dataset
from digitnet.errors import DataError, DigitnetError, ImageError, ModelFileError, TrainingError
from digitnet.modelfile import Model, load_model, save_model
from digitnet.nn.network import Network
from digitnet.training import TrainingConfig, TrainingRun, train

__all__ = [
    "DataError", "Dataset", "DigitnetError", "ImageError", "Model", "ModelFileError", "Network", "Split",
    "TrainingConfig", "TrainingError", "TrainingRun", "load_dataset", "load_model", "save_model", "train",
]
