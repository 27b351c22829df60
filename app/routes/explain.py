"""POST /explain: the prediction plus why the network gave it (model/nn/explain.py does the maths).

Same inputs and limits as /predict. The target digit (default: the predicted one) and the
number of integrated-gradients steps come from the query string, the JSON body or a form
field: ``target`` 0-9, ``steps`` 0-64.

The answer holds about 4,000 numbers (three 28x28 maps, every unit of every layer): it is written
by orjson straight from the NumPy arrays, 20x faster than the standard json module's float
formatting (1.3 ms of a ~5 ms request; docs/benchmarks.md).
"""
from __future__ import annotations

import base64
from typing import Any

import numpy as np
import orjson
from flask import Blueprint, Response, request

from app.imaging.preprocess import FIELD, ModelInput
from app.middleware.errors import ApiError
from app.routes.predict import current_model, forward, image_to_model_input, prediction, read_image_bytes
from model.artifacts.plots import heat_png, symmetric_scale, template_pngs
from model.nn.calibration import temperature_of
from model.nn.explain import DEFAULT_STEPS, MAX_STEPS, Explanation, explain

bp = Blueprint("explain", __name__)

SALIENCY_DESCRIPTIONS = {
    "gradient": "d logit[target] / d pixel: where more ink would raise (red) or lower (blue) the target's logit",
    "gradient_x_input": "gradient times the pixel's value: what each pixel's ink adds to (red) or takes from "
                        "(blue) the target's logit",
    "integrated_gradients": "the gradient averaged along the straight path from a black image to this one, "
                            "times the pixel: adds up to logit(drawing) - logit(black), up to completeness_gap",
}


@bp.post("/explain")
def explain_drawing() -> Response:
    target, steps = option("target", 0, 9, None), option("steps", 0, MAX_STEPS, DEFAULT_STEPS)
    model_input = image_to_model_input(read_image_bytes())
    model = current_model()
    # The prediction exactly as /predict gives it (calibrated, with its verdict); the explanation
    # is about the raw logits, which calibration only divides by one temperature. By default it
    # explains the answer's digit (never a model's 11th "not a digit" output, even if largest).
    answer = prediction(forward(model, [model_input])[0], model_input, model.version, count=False)
    e = explain(model.network, model_input.vector, target=answer["digit"] if target is None else target, steps=steps)
    body = {**answer, **explanation_json(e, model_input), "temperature": temperature_of(model.network.metadata)}
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), mimetype="application/json")


def option(name: str, low: int, high: int, default: int | None) -> int | None:
    """An integer option from the query string, else the JSON body, else a form field."""
    value: Any = request.args.get(name)
    if value is None and request.is_json:
        body = request.get_json(silent=True)
        value = body.get(name) if isinstance(body, dict) else None
    if value is None and request.mimetype == "multipart/form-data":
        value = request.form.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 3:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, f"invalid_{name}", f"{name} must be an integer from {low} to {high}")
    return value


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def field_rows(values: np.ndarray, decimals: int = 6) -> np.ndarray:
    """28 rows of 28 values, rounded (the answer's size; still many digits below a map's scale)."""
    return np.round(values.astype(np.float64), decimals).reshape(FIELD, FIELD)


def saliency_json(name: str, values: np.ndarray) -> dict[str, Any]:
    field = values.reshape(FIELD, FIELD)
    scale = symmetric_scale(field)
    return {"values": field_rows(values), "png": data_url(heat_png(field, scale)), "scale": scale,
            "sum": float(values.sum()), "description": SALIENCY_DESCRIPTIONS[name]}


def ink_box(model_input: ModelInput) -> dict[str, int]:
    """The inked part of the 28x28 field: the page maps it onto its strokes' bounding box."""
    field = model_input.vector.reshape(FIELD, FIELD) > 0
    rows, cols = np.flatnonzero(field.any(axis=1)), np.flatnonzero(field.any(axis=0))
    return {"left": int(cols[0]), "top": int(rows[0]), "width": int(cols[-1] - cols[0] + 1),
            "height": int(rows[-1] - rows[0] + 1)}


def explanation_json(e: Explanation, model_input: ModelInput) -> dict[str, Any]:
    """The explanation's part of the answer (arrays stay NumPy arrays: orjson writes them)."""
    saliency = {"gradient": saliency_json("gradient", e.gradient),
                "gradient_x_input": saliency_json("gradient_x_input", e.gradient_x_input)}
    if e.integrated_gradients is not None:
        saliency["integrated_gradients"] = {**saliency_json("integrated_gradients", e.integrated_gradients),
                                            "steps": e.steps, "baseline": "black",
                                            "completeness_gap": e.completeness_gap}
    layers = []
    for layer in e.layers:
        entry: dict[str, Any] = {
            "name": layer.name, "size": len(layer.values), "activation": layer.activation,
            "values": np.round(layer.values.astype(np.float64), 4),
            "top_units": [{"unit": u, "value": v} for u, v in layer.top_units],
        }
        if layer.templates:
            entry["template_kind"] = layer.template_kind
            pngs = template_pngs(np.stack([t.template for t in layer.templates]).reshape(-1, FIELD, FIELD))
            entry["contributing_units"] = [
                {"unit": t.unit, "value": t.value, "contribution": t.contribution, "template": data_url(png)}
                for t, png in zip(layer.templates, pngs)
            ]
        layers.append(entry)
    return {"target": e.target, "logits": e.logits.astype(np.float64), "input_box": ink_box(model_input),
            "baseline_logit": e.baseline_logit, "saliency": saliency, "layers": layers}
