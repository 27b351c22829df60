"""Serving state: the one model holder per worker, the model registry and its change watcher."""
