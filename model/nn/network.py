"""A multilayer perceptron built from a spec, and its self-describing .npz file.

The file holds every parameter plus the architecture, a format version and free
metadata (JSON), so loading needs no side information and a wrong file is refused
with a message that names the problem instead of failing later in a matmul.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from model.nn.layers import (
    DropoutLayer,
    FullyConnectedLayer,
    Layer,
    LeakyReLULayer,
    ReLULayer,
    SigmoidLayer,
    SoftmaxLossLayer,
    TanhLayer,
    softmax,
)

FORMAT_VERSION = 1
ACTIVATIONS: dict[str, tuple[type[Layer], str]] = {
    # name -> (layer class, matching initialisation)
    "relu": (ReLULayer, "he"),
    "leaky_relu": (LeakyReLULayer, "he"),
    "tanh": (TanhLayer, "xavier"),
    "sigmoid": (SigmoidLayer, "xavier"),
}


class ModelFileError(ValueError):
    """A weights file that is missing, corrupt, truncated or does not fit its architecture."""


class MLP:
    """input -> [Linear -> activation -> (dropout)] * len(hidden) -> Linear -> softmax."""

    def __init__(
        self,
        input_size: int = 784,
        hidden_sizes: Iterable[int] = (256, 128),
        num_classes: int = 10,
        activation: str = "relu",
        dropout: float = 0.0,
        seed: int = 0,
        dtype: type = np.float32,
    ) -> None:
        hidden_sizes = tuple(int(h) for h in hidden_sizes)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
        if input_size < 1 or num_classes < 2 or any(h < 1 for h in hidden_sizes):
            raise ValueError("layer sizes must be positive and num_classes at least 2")
        self.spec: dict[str, Any] = {
            "input_size": int(input_size),
            "hidden_sizes": list(hidden_sizes),
            "num_classes": int(num_classes),
            "activation": activation,
            "dropout": float(dropout),
        }
        self.metadata: dict[str, Any] = {}
        self.sha256: str | None = None
        rng = np.random.default_rng(seed)
        dropout_rng = np.random.default_rng([seed, 1])
        act_cls, init = ACTIVATIONS[activation]
        sizes = [input_size, *hidden_sizes, num_classes]
        self.layers: list[Layer] = []
        self.dense: list[FullyConnectedLayer] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            fc = FullyConnectedLayer(
                n_in, n_out, rng, init="xavier" if last else init, dtype=dtype, needs_input_grad=i > 0
            )
            self.layers.append(fc)
            self.dense.append(fc)
            if not last:
                # A ReLU's input is a fresh product and its incoming gradient too: reuse them.
                self.layers.append(act_cls(in_place=True) if act_cls is ReLULayer else act_cls())
                if dropout > 0:
                    self.layers.append(DropoutLayer(dropout, dropout_rng))
        self.loss_layer = SoftmaxLossLayer()
        self._pack_parameters()

    def _pack_parameters(self) -> None:
        """Hold every parameter in one contiguous array (matrices first, then biases), and
        every gradient in another, so an optimiser step is a few long passes instead of
        many short ones (see model.nn.optim.param_groups)."""
        arrays = [fc.W for fc in self.dense] + [fc.b for fc in self.dense]
        values = np.empty(sum(a.size for a in arrays), dtype=arrays[0].dtype)
        grads = np.zeros_like(values)
        views, start = {}, 0
        for a in arrays:
            stop = start + a.size
            views[id(a)] = values[start:stop].reshape(a.shape), grads[start:stop].reshape(a.shape)
            views[id(a)][0][...] = a
            start = stop
        for fc in self.dense:
            (w, dw), (b, db) = views[id(fc.W)], views[id(fc.b)]
            fc.use_storage([w, b], [dw, db])

    # -- training ----------------------------------------------------------
    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        return self.loss_layer.forward(logits, labels)

    def backward(self) -> None:
        grad = self.loss_layer.backward()
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(p, g) for layer in self.layers for p, g in zip(layer.params, layer.grads)]

    # -- inference ---------------------------------------------------------
    def predict_proba(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities (n, num_classes); accepts (784,) or (n, 784)."""
        x = np.asarray(x, dtype=self.dense[0].W.dtype)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.spec["input_size"]:
            raise ValueError(f"expected input of shape (n, {self.spec['input_size']}), got {x.shape}")
        if len(x) == 1:  # one drawing: matrix-vector products (about 10% faster than 1-row matmuls)
            return softmax(self.forward(x[0], train=False)[None, :])
        if len(x) <= batch_size:
            return softmax(self.forward(x, train=False))
        return np.concatenate(
            [softmax(self.forward(x[i : i + batch_size], train=False)) for i in range(0, len(x), batch_size)]
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    @property
    def version(self) -> str:
        if self.metadata.get("version"):
            return str(self.metadata["version"])
        if self.sha256:
            return f"sha256:{self.sha256[:12]}"
        return "unsaved"

    def num_parameters(self) -> int:
        return sum(p.size for p, _ in self.params())

    # -- persistence -------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """The parameter arrays by name (copies), e.g. for keeping the best epoch."""
        out = {}
        for i, fc in enumerate(self.dense):
            out[f"fc{i}.W"] = fc.W.copy()
            out[f"fc{i}.b"] = fc.b.copy()
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the existing parameters (in place, so optimisers keep their references)."""
        for i, fc in enumerate(self.dense):
            for name, param in ((f"fc{i}.W", fc.W), (f"fc{i}.b", fc.b)):
                value = state[name]
                if value.shape != param.shape:
                    raise ModelFileError(f"parameter {name} has shape {value.shape}, expected {param.shape}")
                param[...] = value

    def save(self, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> str:
        """Write the model atomically (temp file + rename); returns the file's SHA-256."""
        if metadata is not None:
            self.metadata = dict(metadata)
        arrays = {k: v.astype(np.float32) for k, v in self.state().items()}
        arrays["__format_version__"] = np.array(FORMAT_VERSION)
        arrays["__architecture__"] = np.array(json.dumps(self.spec))
        arrays["__metadata__"] = np.array(json.dumps(self.metadata))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        data = buf.getvalue()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        self.sha256 = hashlib.sha256(data).hexdigest()
        return self.sha256

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MLP":
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelFileError(f"weights file not found: {path}") from None
        except OSError as exc:
            raise ModelFileError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
        model = cls.from_bytes(data, source=str(path))
        return model

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "MLP":
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
            raise ModelFileError(
                f"{source} uses weights format {version}; this program reads format {FORMAT_VERSION}"
            )
        try:
            spec = json.loads(str(arrays["__architecture__"]))
            metadata = json.loads(str(arrays["__metadata__"])) if "__metadata__" in arrays else {}
            model = cls(
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
        model.load_state({k: arrays[k] for k in expected})
        model.metadata = metadata
        model.sha256 = hashlib.sha256(data).hexdigest()
        return model


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
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
