"""The NumPy network, MNIST data and training: a small library with no web dependencies."""
