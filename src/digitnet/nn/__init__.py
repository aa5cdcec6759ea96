"""The from-scratch network: layers, losses, the network, SGD, and the fused training step."""

from digitnet.nn.network import Network

__all__ = ["Network"]
