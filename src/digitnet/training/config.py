"""TrainingConfig: every hyper-parameter of a training, as given, checked for type and range."""

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from digitnet.nn.activations import DEFAULT_ACTIVATION, activation_named
from digitnet.nn.optim import OptimizerSettings
from digitnet.nn.convnet import feature_sides
from digitnet.nn.network import architecture
from digitnet.nn.trainers import DEFAULT_TRAINER, TRAINERS
from digitnet.training.augmentation import Augmentation
from digitnet.training.fields import check_field_types, checked
from digitnet.training.schedules import Schedule

# A network and its training buffers must fit in this much memory (bytes), checked before anything is allocated.
MEMORY_BUDGET = 8 * 2**30
# Arrays of the parameters' size that training holds: the network, its steps, the velocity, the
# scratch of the momentum update and the best epoch's copy.
PARAMETER_COPIES = 5


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters as given; the defaults are the original recipe.

    layer_sizes: widths input first, e.g. (784, 128, 64, 10): the input width and the class count
    come from the data (784 pixels, 10 digits for MNIST); convolutions: the channels of each
    convolution in front of the dense layers (``nn.convnet``; none by default), e.g. (16, 32),
    which train with the reference trainer; activation: of the hidden layers
    (``nn.activations``); momentum, nesterov, weight_decay: see ``nn.optim``; schedule: how the
    learning rate moves (``schedules.Schedule``); augmentation: distortions of the training images
    (``augmentation.Augmentation``); patience: stop once validation accuracy has not improved for
    that many epochs (0: never stop early); keep_best: end with the weights of the epoch with the
    best validation accuracy rather than the last (the last two need a validation split); trainer:
    ``fast`` or ``reference`` (``nn.trainers``): the same steps, the second as in a textbook.
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
    activation: str = DEFAULT_ACTIVATION
    trainer: str = DEFAULT_TRAINER
    convolutions: tuple[int, ...] = ()

    def __post_init__(self):
        sizes = self.layer_sizes
        if not isinstance(sizes, (list, tuple)):
            raise ValueError(f"layer_sizes must be a list of integers, got {sizes!r}")
        object.__setattr__(self, "layer_sizes", tuple(checked(n, int, "each of layer_sizes") for n in sizes))
        if not isinstance(self.convolutions, (list, tuple)):
            raise ValueError(f"convolutions must be a list of channel counts, got {self.convolutions!r}")
        object.__setattr__(self, "convolutions",
                           tuple(checked(n, int, "each of convolutions") for n in self.convolutions))
        check_field_types(self)
        for name, kind in (("schedule", Schedule), ("augmentation", Augmentation)):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, kind(**value))
            elif not isinstance(value, kind):
                raise ValueError(f"{name} must be a table of settings, got {value!r}")
        OptimizerSettings(self.momentum, self.nesterov, self.weight_decay)  # raises ValueError if invalid
        activation_named(self.activation)
        problems = []
        if len(self.layer_sizes) < 2 or min(self.layer_sizes) < 1:
            problems.append(f"layer sizes must be two or more positive widths, got {list(self.layer_sizes)}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            problems.append(f"learning rate must be a positive number, got {self.learning_rate}")
        if self.batch_size < 1:
            problems.append(f"batch size must be at least 1, got {self.batch_size}")
        if self.epochs < 1:
            problems.append(f"epochs must be at least 1, got {self.epochs}")
        if self.seed < 0:
            problems.append(f"seed must be an integer >= 0, got {self.seed}")
        if self.dtype not in ("float32", "float64"):
            problems.append(f"dtype must be float32 or float64, got {self.dtype}")
        if self.patience < 0:
            problems.append(f"patience must be >= 0 epochs, got {self.patience}")
        if self.trainer not in TRAINERS:
            problems.append(f"trainer must be one of {', '.join(TRAINERS)}, got {self.trainer!r}")
        if self.convolutions:
            problems += convolution_problems(self.convolutions, self.layer_sizes[0], self.trainer)
        if problems:
            raise ValueError("; ".join(problems))
        if self.memory_needed() > MEMORY_BUDGET:
            raise ValueError(f"a {self.architecture} network trained in batches of "
                             f"{self.batch_size} needs about {self.memory_needed() / 2**30:.3g} GiB, more than "
                             f"the {MEMORY_BUDGET / 2**30:g} GiB allowed")

    @property
    def architecture(self) -> str:
        return architecture(self.layer_sizes, self.convolutions)

    @property
    def optimizer(self) -> OptimizerSettings:
        return OptimizerSettings(self.momentum, self.nesterov, self.weight_decay)

    @property
    def needs_validation(self) -> bool:
        return bool(self.patience or self.keep_best)

    @property
    def parameter_count(self) -> int:
        return sum((n_in + 1) * n_out for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]))

    def memory_needed(self) -> int:
        """Bytes of the parameter-sized arrays and the batch buffers that training allocates (a lower bound)."""
        itemsize = np.dtype(self.dtype).itemsize
        batch_buffers = 4 * self.batch_size * (sum(self.layer_sizes) + len(self.layer_sizes))
        return itemsize * (PARAMETER_COPIES * self.parameter_count + batch_buffers)

    def to_dict(self) -> dict:
        return {**asdict(self), "layer_sizes": list(self.layer_sizes), "convolutions": list(self.convolutions)}


def convolution_problems(channels: tuple[int, ...], pixels: int, trainer: str) -> list[str]:
    """What is wrong with convolutions of ``channels`` on images of ``pixels`` trained by ``trainer``."""
    problems = []
    if min(channels) < 1:
        problems.append(f"convolutions need at least one channel each, got {list(channels)}")
    try:
        feature_sides(math.isqrt(pixels), len(channels))
    except ValueError as e:
        problems.append(str(e))
    if trainer != "reference":
        problems.append("a network with convolutions trains with the reference trainer (the fast one is for "
                        "fully connected networks)")
    return problems
