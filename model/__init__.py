"""Digit Canvas's NumPy neural network: layers, MLP, optimisers, MNIST, training."""
