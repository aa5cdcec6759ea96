"""Two trainers, one contract: ``step(images, labels, batch_indices, learning_rate) -> loss``.

- ``ReferenceTrainer``: the textbook step. Gather the batch, ``Network.loss_and_gradients``
  (forward, softmax-cross-entropy, backward), add weight decay, then ``optim.sgd_step`` or
  ``optim.momentum_step``. Every line reads as in a book.
- ``FusedSGDTrainer`` (``nn.fused``): the same step with preallocated buffers and fused products,
  held to the reference by the tests; ``digitnet train`` uses it unless told ``--trainer reference``.

Both update ``network`` in place and keep their momentum velocity in one flat array laid out like
``Network.flat_parameters`` (``velocity``; None for plain SGD), so a checkpoint of either resumes in either.
"""

import numpy as np

from digitnet.nn.fused import FusedSGDTrainer
from digitnet.nn.network import Network, views_like
from digitnet.nn.optim import OptimizerSettings, momentum_step, sgd_step, with_weight_decay


class ReferenceTrainer:
    """Mini-batch SGD on ``network`` exactly as the textbook writes it (see the module docstring)."""

    def __init__(self, network: Network, batch_size: int, settings: OptimizerSettings = OptimizerSettings(),
                 velocity: np.ndarray | None = None):
        self.network, self.batch_size, self.settings = network, batch_size, settings
        self.velocity, self.velocities = None, []  # the flat buffer, and views of it shaped like the parameters
        if not settings.plain:
            self.velocity = np.zeros_like(network.flat_parameters) if velocity is None else velocity
            self.velocities = views_like(network.parameters, self.velocity)

    def step(self, images: np.ndarray, labels: np.ndarray, batch_indices: np.ndarray,
             learning_rate: float) -> float:
        """One gradient step on the rows ``batch_indices`` of images (n, n_in) / labels (n,).

        Returns the batch's mean cross-entropy before the update.
        """
        network, settings = self.network, self.settings
        loss, gradients = network.loss_and_gradients(images[batch_indices], labels[batch_indices])
        if settings.weight_decay:
            gradients[0::2] = with_weight_decay(network.weights, gradients[0::2], settings.weight_decay)
        if settings.momentum:
            momentum_step(network.parameters, gradients, self.velocities, learning_rate, settings.momentum,
                          settings.nesterov)
        else:
            sgd_step(network.parameters, gradients, learning_rate)
        return loss


TRAINERS = {"fast": FusedSGDTrainer, "reference": ReferenceTrainer}
DEFAULT_TRAINER = "fast"
