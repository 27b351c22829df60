"""Versioned models in the instance folder and the pointer that names the one being served.

    <instance>/models/v1/mlp.npz + mlp.json     one folder per trained version, never modified
    <instance>/models/ACTIVE                    the served version's name (replaced atomically)
    <instance>/models/HISTORY.jsonl             every promote and rollback, appended

The shipped weights (weights/mlp.npz) are never written: they are the version called
"shipped", served while no trained version has been promoted and reachable by rollback.
A web worker notices a new pointer (or a replaced weights file) through ChangeWatcher, which
only stat()s, at most once per interval, so a request costs no file read.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Hashable, Iterator

from model.artifacts import weights_file
from model.artifacts.card import read_card
from model.artifacts.weights_file import ModelFileError, atomic_write_bytes
from model.nn.network import MLP

SHIPPED = "shipped"
WEIGHTS_NAME = "mlp.npz"
CARD_NAME = "mlp.json"
POINTER_NAME = "ACTIVE"
HISTORY_NAME = "HISTORY.jsonl"
LOCK_NAME = ".lock"
STAGING_PREFIX = ".staging-"
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
INPUT_SIZE, NUM_CLASSES = 784, (10, 11)  # 10 digits, optionally "not a digit" (model.nn.verdict)


class RegistryError(RuntimeError):
    """An operator request the registry cannot carry out (unknown version, nothing to roll back)."""


def load_servable(path: str | os.PathLike) -> MLP:
    """Load and fully validate a weights file, and check it fits the app (784 in, 10 digits out,
    optionally an 11th "not a digit" output)."""
    model = weights_file.load(path)
    if model.spec["input_size"] != INPUT_SIZE or model.spec["num_classes"] not in NUM_CLASSES:
        raise ModelFileError(
            f"{path} maps {model.spec['input_size']} inputs to {model.spec['num_classes']} classes;"
            f" the app needs {INPUT_SIZE} -> 10 (or 11 with a \"not a digit\" output)"
        )
    return model


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version_key(name: str) -> tuple:
    m = re.fullmatch(r"v(\d+)", name)
    return (0, int(m.group(1)), name) if m else (1, 0, name)


class ModelRegistry:
    def __init__(self, root: str | os.PathLike, shipped: str | os.PathLike) -> None:
        self.root = Path(root)
        self.shipped = Path(shipped)
        self.pointer = self.root / POINTER_NAME
        self.history_file = self.root / HISTORY_NAME

    @classmethod
    def in_instance(cls, instance: str | os.PathLike, shipped: str | os.PathLike) -> "ModelRegistry":
        return cls(Path(instance) / "models", shipped)

    # -- reading -----------------------------------------------------------
    def versions(self) -> list[str]:
        """Trained versions present on disk, oldest first."""
        if not self.root.is_dir():
            return []
        names = [
            p.name for p in self.root.iterdir()
            if p.is_dir() and VERSION_RE.match(p.name) and (p / WEIGHTS_NAME).is_file()
        ]
        return sorted(names, key=_version_key)

    def active_version(self) -> str:
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return SHIPPED
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"cannot read the model pointer {self.pointer}: {exc}") from None
        return name or SHIPPED

    def path_of(self, version: str) -> Path:
        if version == SHIPPED:
            return self.shipped
        if not VERSION_RE.match(version):
            raise RegistryError(f"{version!r} is not a valid version name")
        return self.root / version / WEIGHTS_NAME

    def active_path(self) -> Path:
        return self.path_of(self.active_version())

    def card(self, version: str) -> dict:
        """The version's model card, or {} if it has none or it is unreadable."""
        return read_card(self.path_of(version).with_name(CARD_NAME)) or {}

    def history(self) -> list[dict]:
        try:
            lines = self.history_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:  # a torn last line after a crash: ignore it
                continue
        return out

    def activation_stack(self) -> list[str]:
        """Versions that were active, oldest first; the last one is active, rollback pops it."""
        return activation_stack(self.history(), self.active_version())

    unreachable: str | None = None  # the folder is always there; SharedRegistry may lose its database

    def pointer_signature(self) -> tuple[int, int, int, int] | None:
        """What changes when the pointer is replaced (ModelHolder reads it again then)."""
        return file_signature(self.pointer)

    # -- writing -----------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise registry writers (two operators, or retrain racing promote)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_NAME, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def staging_dir(self) -> Path:
        """A fresh folder inside models/ (same filesystem, so the final rename is atomic)."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=STAGING_PREFIX))
        staging.chmod(0o755)  # mkdtemp makes it private; workers may run as another user
        return staging

    def add(self, staging: Path, version: str) -> Path:
        """Move a finished staging folder into place as `version` (one rename)."""
        if version == SHIPPED or not VERSION_RE.match(version):
            raise RegistryError(f"{version!r} is not a valid version name")
        load_servable(staging / WEIGHTS_NAME)
        for path in staging.iterdir():
            path.chmod(0o644)  # written through mkstemp, hence private so far
        target = self.root / version
        if target.exists():
            raise RegistryError(f"version {version} already exists")
        os.rename(staging, target)
        _fsync_dir(self.root)
        return target

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def promote(self, version: str, note: str = "") -> str:
        """Make `version` the served one; returns the version it replaces."""
        with self.locked():
            load_servable(self.path_of(version))  # refuse a file no worker could load
            previous = self.active_version()
            self._write_pointer(version)
            self._append_history("promote", version, previous, note)
            return previous

    def rollback(self, note: str = "") -> str:
        """Serve the version that was active before the current one; returns it."""
        with self.locked():
            stack = self.activation_stack()
            if len(stack) < 2:
                raise RegistryError("nothing to roll back to: the shipped weights are already served")
            current, target = stack[-1], stack[-2]
            load_servable(self.path_of(target))
            self._write_pointer(target)
            self._append_history("rollback", target, current, note)
            return target

    def _write_pointer(self, version: str) -> None:
        """Write (fsynced) and make readable under a side name, then rename over the pointer."""
        side = self.pointer.with_name(f".{POINTER_NAME}.new")
        atomic_write_bytes(side, (version + "\n").encode("utf-8"))
        side.chmod(0o644)
        os.replace(side, self.pointer)
        _fsync_dir(self.root)

    def _append_history(self, action: str, version: str, previous: str, note: str) -> None:
        event = {"at": _now(), "action": action, "version": version, "previous": previous}
        if note:
            event["note"] = note
        with open(self.history_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def activation_stack(history: list[dict], active: str) -> list[str]:
    """Versions that were active, oldest first, from the promote/rollback history and the pointer."""
    stack = [SHIPPED]
    for event in history:
        if event.get("action") == "promote":
            stack.append(event["version"])
        elif event.get("action") == "rollback" and len(stack) > 1:
            stack.pop()
    if stack[-1] != active:  # pointer edited by hand: trust the pointer
        stack.append(active)
    return stack


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_signature(path: str | os.PathLike) -> tuple[int, int, int, int] | None:
    """What changes when a file is replaced (inode), rewritten (size, mtime) or chmod-ed; None if absent."""
    try:
        st = os.stat(path)
    except OSError:  # missing, or no models folder at all
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)


class ChangeWatcher:
    """Says when `signature()` changed, calling it (a stat or two) at most once per interval."""

    def __init__(
        self, signature: Callable[[], Hashable], interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.signature = signature
        self.interval = interval
        self.clock = clock
        self._next_check = float("-inf")
        self._signature = self.signature()

    def changed(self) -> bool:
        now = self.clock()
        if now < self._next_check:
            return False
        self._next_check = now + self.interval
        sig = self.signature()
        if sig == self._signature:
            return False
        self._signature = sig
        return True
