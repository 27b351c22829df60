"""The one model a worker serves, loaded once, replaceable in a single assignment.

Requests read ``holder.current`` once and use that snapshot throughout, so the network,
its version and its card always belong together even if a hot swap assigns a new
snapshot in the middle of the request.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
        }


def load_model(weights_path: str | Path) -> LoadedModel:
    """Load weights (raises ModelFileError with a clear message) and the card beside them."""
    weights_path = Path(weights_path)
    network = MLP.load(weights_path)
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
    """Holds the current LoadedModel; a reload replaces it with one attribute assignment."""

    def __init__(self, weights_path: str | Path) -> None:
        self.weights_path = Path(weights_path)
        self.current: LoadedModel = load_model(self.weights_path)


__all__ = ["LoadedModel", "ModelFileError", "ModelHolder", "load_model", "read_card"]
