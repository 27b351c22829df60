"""Digit Canvas's NumPy model: the network (nn), the weights file and card (artifacts), MNIST (data), training, command lines (cli)."""
