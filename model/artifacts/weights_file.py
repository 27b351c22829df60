"""The self-describing weights file (``weights/mlp.npz``): the training -> serving contract.

The file holds every parameter plus the architecture, a format version and free
metadata (JSON), so loading needs no side information and a wrong file is refused
with a message that names the problem instead of failing later in a matmul.
``model.nn.MLP`` only holds arrays; this module is the one place that reads or
writes them as a file (training, evaluation, the server and the admin CLI all use it).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from model.nn.network import MLP

FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A weights file that is missing, corrupt, truncated or does not fit its architecture."""


def to_bytes(model: MLP, metadata: dict[str, Any] | None = None) -> bytes:
    """The file's bytes: float32 parameters, format version, architecture and metadata entries."""
    arrays: dict[str, np.ndarray] = {k: v.astype(np.float32) for k, v in model.state().items()}
    arrays["__format_version__"] = np.array(FORMAT_VERSION)
    arrays["__architecture__"] = np.array(json.dumps(model.spec))
    arrays["__metadata__"] = np.array(json.dumps(model.metadata if metadata is None else metadata))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save(model: MLP, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> str:
    """Write the model atomically (temp file + rename); returns the file's SHA-256.

    ``metadata`` (if given) replaces ``model.metadata``; ``model.sha256`` is set to the file's hash.
    """
    if metadata is not None:
        model.metadata = dict(metadata)
    data = to_bytes(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    model.sha256 = hashlib.sha256(data).hexdigest()
    return model.sha256


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes; anything but a readable regular file is a ModelFileError.

    O_NONBLOCK so that a FIFO put in the file's place cannot hang a server worker in open().
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ModelFileError(f"weights file not found: {path}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a special file"
        raise ModelFileError(f"weights file {path} is {kind}, not a regular file")
    with os.fdopen(fd, "rb") as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise ModelFileError(f"cannot read weights file {path}: {exc.strerror or exc}") from None


def load(path: str | os.PathLike) -> MLP:
    """Read and fully validate a weights file (raises ModelFileError saying what is wrong)."""
    return from_bytes(read_bytes(path), source=str(path))


def from_bytes(data: bytes, source: str = "<bytes>") -> MLP:
    """Parse and fully validate a weights file held in memory."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{source} is not a readable .npz weights file ({exc})") from None
    for key in ("__format_version__", "__architecture__"):
        if key not in arrays:
            raise ModelFileError(f"{source} has no {key.strip('_')} entry: not a Digit Canvas weights file")
    try:
        version = int(arrays["__format_version__"])
    except (TypeError, ValueError):
        raise ModelFileError(f"{source} has an unreadable format version") from None
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{source} uses weights format {version}; this program reads format {FORMAT_VERSION}")
    try:
        spec = json.loads(str(arrays["__architecture__"]))
        metadata = json.loads(str(arrays["__metadata__"])) if "__metadata__" in arrays else {}
        model = MLP(
            input_size=int(spec["input_size"]),
            hidden_sizes=[int(h) for h in spec["hidden_sizes"]],
            num_classes=int(spec["num_classes"]),
            activation=str(spec["activation"]),
            dropout=float(spec.get("dropout", 0.0)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{source} has an invalid architecture entry ({exc})") from None
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{source} has invalid metadata (expected a JSON object)")
    expected = set(model.state())
    present = {k for k in arrays if not k.startswith("__")}
    if present != expected:
        missing, extra = sorted(expected - present), sorted(present - expected)
        raise ModelFileError(
            f"{source} does not match its architecture {spec['hidden_sizes']}: "
            f"missing {missing or 'nothing'}, unexpected {extra or 'nothing'}"
        )
    for name in expected:
        value = arrays[name]
        if value.dtype.kind != "f":
            raise ModelFileError(f"{source}: parameter {name} is {value.dtype}, expected floats")
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"{source}: parameter {name} contains NaN or infinity")
    try:
        model.load_state({k: arrays[k] for k in expected})
    except ValueError as exc:  # a parameter of the wrong shape
        raise ModelFileError(f"{source}: {exc}") from None
    model.metadata = metadata
    model.sha256 = hashlib.sha256(data).hexdigest()
    return model


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target.

    A reader (a server worker, a crash mid-write) sees the old file or the new one, never half of one.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600: a server running as another user could not read it
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
