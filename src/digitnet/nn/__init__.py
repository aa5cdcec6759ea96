"""The from-scratch network, in reading order: ``activations`` (the hidden-layer functions and their
derivatives), ``layers`` (dense and activation layers, forward and backward), ``losses`` (softmax
cross-entropy), ``network`` (the ``Network`` that chains them), ``optim`` (SGD, momentum, weight decay)
and ``trainers`` (the textbook step, and the fast step of ``fused`` held to it)."""

from digitnet.nn.network import Network

__all__ = ["Network"]
