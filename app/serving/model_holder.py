"""The one model a worker serves, loaded once, replaceable in a single assignment.

Requests read ``holder.current`` once and use that snapshot throughout, so the network,
its version and its card always belong together even if a hot swap assigns a new
snapshot in the middle of the request.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from app.serving.model_registry import ChangeWatcher, ModelRegistry, RegistryError, file_signature, load_servable
from model.artifacts.card import card_path_for, read_card
from model.artifacts.weights_file import ModelFileError
from model.nn.calibration import calibrated_proba
from model.nn.network import MLP

if TYPE_CHECKING:
    from app.serving.shared_registry import SharedRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    network: MLP
    version: str
    sha256: str
    card: dict[str, Any] | None = field(default=None, compare=False)
    path: Path | None = field(default=None, compare=False)  # the file it was loaded from

    def predict_proba_batch(self, vectors: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n, 10 or 11) for (n, 784) inputs, in one forward pass: the API's
        one path (app.routes.predict.forward). One row runs as matrix-vector products
        (model.nn.calibration.logits -> FullyConnectedLayer.forward_one); an 11th output is
        "not a digit" (model.nn.verdict reads both)."""
        return calibrated_proba(self.network, vectors)

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
    network = load_servable(weights_path)  # weights_file.load's checks + 784 inputs, 10 classes
    card = read_card(card_path_for(weights_path))
    return LoadedModel(network=network, version=network.version, sha256=network.sha256 or "", card=card,
                       path=weights_path)


class ModelHolder:
    """Holds the current LoadedModel; a reload replaces it with one attribute assignment.

    It watches the file it serves: the registry's active version, which is the shipped
    weights until something is promoted. ``refresh`` (run before each request) stat()s the
    pointer and that file at most once per interval; when either changed (replaced, rewritten
    in place, deleted, chmod-ed) the file is read and validated completely before the single
    assignment. A file that cannot be served (missing, corrupt, half-written, unreadable, not a
    regular file) is refused with one log line per change, ``refused`` says why, and the last
    good model keeps serving until a good file appears. ``on_reload("ok" | "refused")`` is
    called after each such attempt (e.g. to count them).

    A worker that starts while no file can be served (e.g. gunicorn replacing a crashed worker
    after the file went bad) holds ``current = None`` instead of failing to boot, which would
    make gunicorn halt every worker: /predict then answers 503 until a good file appears.
    """

    def __init__(self, weights_path: str | Path, registry: ModelRegistry | SharedRegistry | None = None,
                 check_interval: float = 1.0, on_reload: Callable[[str], None] | None = None) -> None:
        self.weights_path = Path(weights_path)
        self.registry = registry
        self.on_reload = on_reload
        self.refused: str | None = None  # why the watched file is not served; None when it is
        self._pointer_signature: object = ()  # forces reading the pointer on the first look
        self._watched: Path | RegistryError = self.weights_path
        self._swap = threading.Lock()
        # Watch before the first read, so a change in between is not missed.
        self.watcher = ChangeWatcher(self._on_disk, check_interval)
        self.current: LoadedModel | None = self._load_first()

    @property
    def watched_path(self) -> Path | None:
        """The file this worker should serve (None if the registry's pointer is unusable)."""
        return self._watched if isinstance(self._watched, Path) else None

    def _on_disk(self) -> tuple:
        """The watched file's signature; the pointer is read only when its own signature changed."""
        if self.registry is not None:
            pointer = self.registry.pointer_signature()
            if pointer != self._pointer_signature:
                self._pointer_signature = pointer
                try:
                    self._watched = self.registry.active_path()
                except RegistryError as exc:
                    self._watched = exc
        path = self.watched_path
        return (self._pointer_signature, str(self._watched), file_signature(path) if path else None)

    def _load_watched(self) -> LoadedModel:
        if isinstance(self._watched, RegistryError):
            raise self._watched
        return load_model(self._watched)

    def _load_first(self) -> LoadedModel | None:
        try:
            return self._load_watched()
        except Exception as exc:  # noqa: BLE001 - see reload()
            self.refused = str(exc)
        if self.watched_path != self.weights_path:
            log.error("the promoted model cannot be served (%s); serving %s instead", self.refused, self.weights_path)
            try:
                return load_model(self.weights_path)
            except Exception as exc:  # noqa: BLE001
                self.refused += f"; and {exc}"
        log.error("pid %d: no model can be served: %s; /predict answers 503 until a good file appears",
                  os.getpid(), self.refused)
        return None

    def refresh(self) -> None:
        """Swap in the watched file's model if it changed since the last look."""
        if not self._swap.acquire(blocking=False):
            return  # another thread of this worker is already looking
        try:
            if self.watcher.changed():
                self.reload()
        finally:
            self._swap.release()

    def reload(self) -> str:
        """Load the watched file now: "ok" (served, or already was) or "refused" (old model stays)."""
        try:
            loaded = self._load_watched()
        except Exception as exc:  # noqa: BLE001 - no file on disk may take a serving worker down
            self.refused = str(exc)
            log.error("pid %d: not switching models: %s; still serving %s", os.getpid(), exc,
                      self.current.version if self.current else "nothing (503)")
            result = "refused"
        else:
            self.refused = None
            if self.current is None or loaded.sha256 != self.current.sha256:
                self.current = loaded
                log.info("pid %d: now serving model %s from %s", os.getpid(), loaded.version, self._watched)
            result = "ok"
        if self.on_reload is not None:
            self.on_reload(result)
        return result


__all__ = ["LoadedModel", "ModelFileError", "ModelHolder", "load_model"]
