"""Why the network answered what it did: saliency, activations and unit templates.

Everything here is computed by the network's own layers: one forward pass through the
MLP's layers, then their backward pass started from the target digit's logit (not from
the loss), which gives the exact input gradient of that logit. On top of it:

- gradient x input: how much each pixel's ink adds to (red) or takes from (blue) the logit;
  for a ReLU network without biases it would sum to the logit exactly;
- integrated gradients (Sundararajan et al. 2017) from a black image, by the midpoint rule:
  it sums to logit(x) - logit(black) up to the quadrature error, which is reported, so the
  map accounts for the whole difference the drawing makes (gradient x input only sees the
  local slope, and saturated units can hide ink that matters);
- each layer's activations, and for the hidden units that contribute most to the target
  (activation times the logit's gradient at that unit) their templates: for the first hidden
  layer its weight rows, for deeper layers the unit's input gradient at this drawing (the
  linear template a piecewise-linear network applies in this region of input space).

Thread safety: a server's threads share one MLP, whose activation layers keep what their
backward pass needs on themselves; this module runs shallow copies of them, and computes
the dense layers' products itself (their forward/backward write the shared parameter
gradients), so an explanation never touches state another request can see.
"""
from __future__ import annotations

import copy
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from model.nn.layers import SPARSE_FRACTION, DropoutLayer, FullyConnectedLayer, Layer, softmax
from model.nn.network import MLP

DEFAULT_STEPS = 16  # integrated-gradients steps: see docs/benchmarks.md for the cost and the gap
MAX_STEPS = 64
TOP_UNITS = 8  # units listed per layer, strongest first
TEMPLATES = 6  # most contributing units per hidden layer whose templates are drawn


@dataclass
class UnitTemplate:
    """A hidden unit that argues for (or against) the target, and its 784-pixel template."""

    unit: int
    value: float  # the unit's activation for this input
    contribution: float  # activation x d(target logit)/d(activation)
    template: np.ndarray  # (784,) weights (first layer) or input gradient (deeper layers)


@dataclass
class LayerView:
    """One layer's output for this input: the whole vector and its strongest units."""

    name: str
    activation: str
    values: np.ndarray
    top_units: list[tuple[int, float]]
    templates: list[UnitTemplate] = field(default_factory=list)
    template_kind: str = ""  # "weights" or "input_gradient"


@dataclass
class Explanation:
    target: int
    logits: np.ndarray  # (10,) before softmax
    probabilities: np.ndarray  # (10,) softmax of the logits
    gradient: np.ndarray  # (784,) d logit[target] / d input
    gradient_x_input: np.ndarray  # (784,)
    integrated_gradients: np.ndarray | None  # (784,), None when steps == 0
    steps: int
    baseline_logit: float  # the target's logit for a black image
    layers: list[LayerView]

    @property
    def completeness_gap(self) -> float | None:
        """sum(IG) - (logit(x) - logit(black)): the quadrature error of the integrated gradients."""
        if self.integrated_gradients is None:
            return None
        return float(self.integrated_gradients.sum() - (self.logits[self.target] - self.baseline_logit))


def split_layers(model: MLP) -> list[tuple[FullyConnectedLayer, Layer | None]]:
    """(dense layer, activation or None for the last) pairs; dropout is the identity at inference."""
    pairs: list[tuple[FullyConnectedLayer, Layer | None]] = []
    for layer in model.layers:
        if isinstance(layer, FullyConnectedLayer):
            pairs.append((layer, None))
        elif not isinstance(layer, DropoutLayer):
            pairs[-1] = (pairs[-1][0], layer)
    return pairs


@dataclass
class Pass:
    """One forward pass over a batch: each layer's outputs (hidden activations, then the
    logits) and each hidden activation's derivative, as that layer's backward applies it."""

    outputs: list[np.ndarray]
    derivatives: list[np.ndarray]


def product(h: np.ndarray, W: np.ndarray) -> np.ndarray:
    """h @ W reading only the rows of W facing columns of h that are nonzero in some row: a
    drawing is ~80% black, its integrated-gradients path has the same zeros, and ReLU leaves
    most hidden units at 0 (the batch counterpart of FullyConnectedLayer.forward_one)."""
    live = np.flatnonzero(h.any(axis=0))
    if len(live) < SPARSE_FRACTION * h.shape[1]:
        return h[:, live] @ W[live]
    return h @ W


def forward(model: MLP, x: np.ndarray) -> Pass:
    """Forward a batch (n, 784) through private copies of the activation layers; each one's
    derivative is what its own backward makes of a gradient of ones."""
    first = model.dense[0]
    return forward_from(model, product(x, first.W) + first.b)


def forward_scaled(model: MLP, x: np.ndarray, scales: np.ndarray) -> Pass:
    """Forward the rows scales[k] * x (an integrated-gradients path): the first layer is
    linear, so its product is computed once, for x, and scaled."""
    first = model.dense[0]
    return forward_from(model, np.outer(scales, product(x[None, :], first.W)[0]) + first.b)


def forward_from(model: MLP, z: np.ndarray) -> Pass:
    """The rest of a forward pass, from the first dense layer's output ``z`` (n, n_hidden1)."""
    pairs = split_layers(model)
    outputs: list[np.ndarray] = []
    derivatives: list[np.ndarray] = []
    h = z
    for i, (dense, act) in enumerate(pairs):
        if i:
            h = product(h, dense.W)
            h += dense.b
        if act is not None:
            act = copy.copy(act)
            h = act.forward(h, train=False)
            derivatives.append(act.backward(np.ones_like(h)))
        outputs.append(h)
    return Pass(outputs, derivatives)


def backward(model: MLP, run: Pass, grad_logits: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Back from ``grad_logits`` (the first n rows of the pass, 10) to the first hidden layer's pre-activations.

    Returns the gradient at each hidden layer's output and at the first layer's pre-activations
    (n, n_hidden1). Each product reads only the weights of the units above that carry a gradient.
    """
    WT = transposed(model)
    hidden_grads: list[np.ndarray] = []
    g = grad_logits
    for i in range(len(run.derivatives) - 1, -1, -1):
        deriv = run.derivatives[i][: len(grad_logits)]
        carrying = np.flatnonzero(g.any(axis=0))
        # Rows of W.T for the units above that carry a gradient; every unit below gets its value
        # (restricting the columns as well costs more in the strided gather than it saves).
        at_output = g[:, carrying] @ WT[i + 1][carrying]
        hidden_grads.append(at_output)
        g = at_output * deriv
    return hidden_grads[::-1], g


_TRANSPOSED: "weakref.WeakKeyDictionary[MLP, tuple[tuple[int, ...], list[np.ndarray]]]" = weakref.WeakKeyDictionary()
_TRANSPOSED_LOCK = threading.Lock()


def transposed(model: MLP) -> list[np.ndarray]:
    """Each dense layer's W.T as a C-contiguous copy, made once per model (and per set of
    parameter arrays). Backward products read the weights of live units only: those are
    columns of W, which NumPy gathers ~8x slower than the same numbers as rows of W.T
    (measured 580 vs 72 us for 250 of the 800 units). A served model's weights never change
    in place (a hot swap loads a new MLP); a network still training must not be explained
    between its steps from this cache, so the key includes the arrays' identities."""
    key = tuple(id(fc.W) for fc in model.dense)
    with _TRANSPOSED_LOCK:
        cached = _TRANSPOSED.get(model)
        if cached is None or cached[0] != key:
            cached = _TRANSPOSED[model] = (key, [np.ascontiguousarray(fc.W.T) for fc in model.dense])
    return cached[1]


def templates_at(model: MLP, derivatives: list[np.ndarray], layer: int, units: np.ndarray) -> np.ndarray:
    """(len(units), 784): d pre-activation[layer][unit] / d input, given the hidden layers'
    derivatives (n,) at this input; for the first hidden layer the weight columns themselves."""
    WT = transposed(model)
    g = WT[layer][units]  # (k, inputs of that layer): the units' weights
    for i in range(layer - 1, -1, -1):
        live = np.flatnonzero(derivatives[i])  # nothing flows back through a unit with derivative 0
        g = (g[:, live] * derivatives[i][live]) @ WT[i][live]
    return g


def input_gradient_of_units(model: MLP, x: np.ndarray, layer: int, units: np.ndarray) -> np.ndarray:
    """(len(units), 784): d pre-activation[layer][unit] / d input at ``x`` (hidden layer ``layer``, 0-based)."""
    run = forward(model, np.asarray(x, model.dense[0].W.dtype)[None, :])
    return templates_at(model, [d[0] for d in run.derivatives], layer, units)


def top_units(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first (ties by index)."""
    k = min(k, len(values))
    idx = np.argpartition(-values, k - 1)[:k]
    return idx[np.lexsort((idx, -values[idx]))]


def explain(model: MLP, x: np.ndarray, target: int | None = None, steps: int = DEFAULT_STEPS,
            top: int = TOP_UNITS, templates: int = TEMPLATES) -> Explanation:
    """Explain the answer for one input (784,): default target is the predicted digit.

    One batched pass serves the input and the ``steps`` points of the integrated-gradients
    path (alpha = (k + 1/2) / steps, k < steps), plus one row for the black baseline.
    """
    dtype = model.dense[0].W.dtype
    x = np.asarray(x, dtype=dtype).reshape(-1)
    n_classes = model.spec["num_classes"]
    if x.shape != (model.spec["input_size"],):
        raise ValueError(f"expected an input of {model.spec['input_size']} values, got {x.shape}")
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in 0..{MAX_STEPS}, got {steps}")
    if target is not None and not 0 <= target < n_classes:
        raise ValueError(f"target must be in 0..{n_classes - 1}, got {target}")
    alphas = (np.arange(steps, dtype=dtype) + 0.5) / steps if steps else np.zeros(0, dtype)
    run = forward_scaled(model, x, np.concatenate([[1.0], alphas, [0.0]]).astype(dtype))  # x, the path, black
    outputs = run.outputs
    logits = outputs[-1][0]
    if target is None:
        target = int(logits.argmax())
    grad_logits = np.zeros((len(alphas) + 1, n_classes), dtype)
    grad_logits[:, target] = 1.0
    hidden_grads, g1 = backward(model, run, grad_logits)  # the black baseline needs only its logit
    # The first layer is linear too: the path's mean gradient goes through it once.
    live = np.flatnonzero(g1.any(axis=0))
    rows = np.stack([g1[0], g1[1:].mean(axis=0)]) if steps else g1[:1]
    through = rows[:, live] @ transposed(model)[0][live]
    gradient = through[0]
    integrated = x * through[1] if steps else None

    layers: list[LayerView] = []
    activation = model.spec["activation"]
    for i, (values, g) in enumerate(zip(outputs[:-1], hidden_grads)):
        v, contribution = values[0], values[0] * g[0]
        order = top_units(v, top)
        strongest = top_units(np.abs(contribution), templates)
        unit_templates = templates_at(model, [d[0] for d in run.derivatives], i, strongest)
        layers.append(LayerView(
            name=f"hidden {i + 1}", activation=activation, values=v.copy(),
            top_units=[(int(u), float(v[u])) for u in order],
            templates=[UnitTemplate(int(u), float(v[u]), float(contribution[u]), t) for u, t in zip(strongest, unit_templates)],
            template_kind="weights" if i == 0 else "input_gradient",
        ))
    layers.append(LayerView(name="output", activation="logits", values=logits.copy(),
                            top_units=[(int(u), float(logits[u])) for u in top_units(logits, min(top, n_classes))]))
    return Explanation(
        target=target, logits=logits.copy(), probabilities=softmax(logits[None, :].astype(np.float64))[0],
        gradient=gradient.copy(), gradient_x_input=gradient * x, integrated_gradients=integrated, steps=steps,
        baseline_logit=float(outputs[-1][-1][target]), layers=layers,
    )


def target_logit(model: MLP, x: np.ndarray, target: int) -> float:
    """The target's logit for one input, through the same private forward (for finite differences)."""
    return float(forward(model, np.asarray(x, model.dense[0].W.dtype)[None, :]).outputs[-1][0, target])
