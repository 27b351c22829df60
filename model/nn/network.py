"""A multilayer perceptron built from a spec: its layers, parameter arrays and state (NumPy only).

Its file format (save, load, validation) lives in model.artifacts.weights_file, which
also fills in ``metadata`` and ``sha256``: where the arrays came from.
"""
from __future__ import annotations

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

ACTIVATIONS: dict[str, tuple[type[Layer], str]] = {
    # name -> (layer class, matching initialisation)
    "relu": (ReLULayer, "he"),
    "leaky_relu": (LeakyReLULayer, "he"),
    "tanh": (TanhLayer, "xavier"),
    "sigmoid": (SigmoidLayer, "xavier"),
}


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
        # Provenance, set by model.artifacts.weights_file on save/load (version, created_at, ...).
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
    def logits(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Raw outputs (n, num_classes) in inference mode; accepts (784,) or (n, 784).

        The one inference forward pass (predict_proba and the calibrated probabilities use it).
        """
        x = np.asarray(x, dtype=self.dense[0].W.dtype)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.spec["input_size"]:
            raise ValueError(f"expected input of shape (n, {self.spec['input_size']}), got {x.shape}")
        if len(x) == 1:  # one drawing: matrix-vector products (about 10% faster than 1-row matmuls)
            return self.forward(x[0], train=False)[None, :]
        if len(x) <= batch_size:
            return self.forward(x, train=False)
        return np.concatenate([self.forward(x[i : i + batch_size], train=False)
                               for i in range(0, len(x), batch_size)])

    def predict_proba(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities (n, num_classes); accepts (784,) or (n, 784)."""
        return softmax(self.logits(x, batch_size))

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

    # -- state -------------------------------------------------------------
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
                    raise ValueError(f"parameter {name} has shape {value.shape}, expected {param.shape}")
                param[...] = value
