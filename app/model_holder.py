"""The one model a worker serves, loaded once, replaceable in a single assignment.

Requests read ``holder.current`` once and use that snapshot throughout, so the network,
its version and its card always belong together even if a hot swap assigns a new
snapshot in the middle of the request.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from app.model_registry import ModelRegistry, PointerWatcher, RegistryError, load_servable
from model.network import MLP, ModelFileError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    network: MLP
    version: str
    sha256: str
    card: dict[str, Any] | None = field(default=None, compare=False)

    def predict_proba(self, vector: np.ndarray) -> np.ndarray:
        """Probabilities (10,) for one (784,) input."""
        return self.network.predict_proba(vector[None, :])[0]

    def describe(self) -> dict[str, Any]:
        """What /api/model serves: the loaded file's identity plus its model card."""
        return {
            "version": self.version,
            "sha256": self.sha256,
            "architecture": dict(self.network.spec),
            "metadata": dict(self.network.metadata),
            "card": self.card,
            "pid": os.getpid(),  # which worker answered: each one swaps models on its own
        }


def load_model(weights_path: str | Path) -> LoadedModel:
    """Load weights (raises ModelFileError with a clear message) and the card beside them."""
    weights_path = Path(weights_path)
    network = load_servable(weights_path)  # MLP.load's checks + 784 inputs, 10 classes
    card = read_card(weights_path.with_suffix(".json"))
    return LoadedModel(network=network, version=network.version, sha256=network.sha256 or "", card=card)


def read_card(path: Path) -> dict[str, Any] | None:
    """The model card, or None if absent or unreadable (the weights alone are enough to serve)."""
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable model card %s: %s", path, exc)
        return None
    if not isinstance(card, dict):
        log.warning("ignoring model card %s: not a JSON object", path)
        return None
    return card


class ModelHolder:
    """Holds the current LoadedModel; a reload replaces it with one attribute assignment.

    With a registry, ``refresh`` (run before each request) follows its ACTIVE pointer: at
    most one stat() per interval, and a new file is loaded and validated completely before
    the single assignment. A file that fails to load is refused and the old model stays.
    """

    def __init__(self, weights_path: str | Path, registry: ModelRegistry | None = None,
                 check_interval: float = 1.0, on_reload: Callable[[str], None] | None = None) -> None:
        self.weights_path = Path(weights_path)
        self.registry = registry
        self.on_reload = on_reload  # told "ok" or "refused" after each attempt (e.g. to count them)
        # Watch before the first read, so a promotion in between is not missed.
        self.watcher = PointerWatcher(registry.pointer, check_interval) if registry else None
        self._swap = threading.Lock()
        self.current: LoadedModel = self._load_active()

    def _load_active(self) -> LoadedModel:
        if self.registry is None:
            return load_model(self.weights_path)
        try:
            return load_model(self.registry.active_path())
        except (ModelFileError, RegistryError) as exc:
            log.error("the promoted model cannot be served (%s); serving %s instead", exc, self.weights_path)
            return load_model(self.weights_path)

    def refresh(self) -> None:
        """Swap in the registry's active model if its pointer changed since the last look."""
        if self.watcher is None or not self._swap.acquire(blocking=False):
            return  # no registry, or another thread of this worker is already looking
        try:
            if not self.watcher.changed():
                return
            try:
                loaded = load_model(self.registry.active_path())
            except (ModelFileError, RegistryError) as exc:
                log.error("pid %d: not switching models: %s; still serving %s",
                          os.getpid(), exc, self.current.version)
                self._report("refused")
                return
            if loaded.sha256 != self.current.sha256:
                self.current = loaded
                log.info("pid %d: now serving model %s", os.getpid(), loaded.version)
                self._report("ok")
        finally:
            self._swap.release()

    def _report(self, result: str) -> None:
        if self.on_reload is not None:
            self.on_reload(result)


__all__ = ["LoadedModel", "ModelFileError", "ModelHolder", "load_model", "read_card"]
