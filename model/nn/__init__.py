"""The network itself: layers, losses, the MLP, optimisers, schedules and metrics (NumPy only: no files, no argv)."""
