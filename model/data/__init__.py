"""MNIST: strict IDX parsing, fetching from the sources in order, the verified per-user cache."""
