"""The model card: what a trained model is, how it was made and how well it does.

Written next to the weights (``weights/mlp.json`` beside ``weights/mlp.npz``), atomically,
after the weights, so the card's SHA-256 always names the file it sits beside. Read by the
server (``read_card``): so this module imports neither training nor the MNIST downloader.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model.artifacts import weights_file
from model.artifacts.weights_file import atomic_write_bytes
from model.nn.network import MLP

if TYPE_CHECKING:
    from model.training.config import TrainConfig

log = logging.getLogger(__name__)


def array_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 over arrays' dtype, shape and bytes: names exactly the data a model saw."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(memoryview(a).cast("B"))
    return digest.hexdigest()


def params_sha256(model: MLP) -> str:
    return array_sha256(*model.state().values())


def make_version(model: MLP, created: dt.datetime) -> str:
    """Unique and readable: creation time plus a hash of the parameters."""
    return f"mlp-{created:%Y%m%d-%H%M%S}-{params_sha256(model)[:8]}"


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


def card_path_for(weights: str | os.PathLike) -> Path:
    return Path(weights).with_suffix(".json")


def read_card(path: str | os.PathLike) -> dict[str, Any] | None:
    """The model card at ``path``, or None if absent or unreadable (the weights alone are enough to serve).

    An unreadable card (bad JSON, not an object, an OS error) is logged once as a warning, not raised.
    """
    try:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable model card %s: %s", path, exc)
        return None
    if not isinstance(card, dict):
        log.warning("ignoring model card %s: not a JSON object", path)
        return None
    return card


def strip_arrays(report: dict[str, Any]) -> dict[str, Any]:
    """A classification report without its per-image arrays (probabilities, predictions)."""
    return {k: v for k, v in report.items() if not isinstance(v, np.ndarray)}


def _json_floats(obj: Any) -> Any:
    """NaN (e.g. the accuracy of a class absent from a tiny --limit run) becomes null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_floats(v) for v in obj]
    return obj


def build_card(
    model: MLP, config: TrainConfig, history: dict[str, Any], *, version: str, created: dt.datetime,
    weights_sha256: str, command: str | None, data: dict[str, Any], test: dict[str, Any] | None,
    validation: dict[str, Any] | None, blas_threads: int | None = None, code: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The model card: what the model is, how it was made and how well it does."""
    kept = history["kept_epoch"]
    return _json_floats({
        "version": version,
        "created_at": created.isoformat(timespec="seconds"),
        "weights_sha256": weights_sha256,
        "architecture": {
            **model.spec,
            "layers": [model.spec["input_size"], *model.spec["hidden_sizes"], model.spec["num_classes"]],
            "parameters": model.num_parameters(),
        },
        "hyperparameters": config.to_dict(),
        "command": command,
        "data": data,
        "validation_accuracy": None if validation is None else validation["accuracy"],
        "test_accuracy": None if test is None else test["accuracy"],
        "validation": validation,
        "test": test,
        "best_epoch": history["best_epoch"],
        "kept_epoch": kept,
        "curves": history["epochs"],
        "training_seconds": history["train_seconds"],
        "blas_threads": blas_threads,
        "code": code,  # the git commit that trained it: figures reproduce bit for bit with that code
        "numpy_version": np.__version__,
    })


def save_model_and_card(model: MLP, card_fields: dict[str, Any], out: Path) -> dict[str, Any]:
    """Save weights (atomic) with the version in their metadata, then the card (atomic).

    Optional ``card_fields["metadata"]``: more entries for the weights file's own metadata (e.g. the
    calibration, which must travel with the parameters); ``card_fields["extra"]``: more card sections.
    """
    created = card_fields.pop("created", None) or dt.datetime.now(dt.timezone.utc).astimezone()
    more_metadata, more_card = card_fields.pop("metadata", {}), card_fields.pop("extra", {})
    version = make_version(model, created)
    metadata = {
        "version": version,
        "created_at": created.isoformat(timespec="seconds"),
        "test_accuracy": None if card_fields.get("test") is None else card_fields["test"]["accuracy"],
        **more_metadata,
    }
    sha = weights_file.save(model, out, metadata=metadata)
    card = build_card(model, version=version, created=created, weights_sha256=sha, **card_fields)
    card.update(_json_floats(more_card))
    write_json_atomic(card_path_for(out), card)
    return card
