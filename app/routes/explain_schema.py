"""The OpenAPI description of POST /explain (kept apart from app/routes/openapi.py's others, which
it joins in build_openapi: the explanation's schema is as long as all of those together)."""
from __future__ import annotations

from typing import Any

from app.middleware.rate_limits import EXPLAIN_UNITS
from model.nn.explain import DEFAULT_STEPS, MAX_STEPS

FIELD_ROWS = {
    "type": "array", "minItems": 28, "maxItems": 28,
    "items": {"type": "array", "minItems": 28, "maxItems": 28, "items": {"type": "number"}},
}

SALIENCY_MAP = {
    "type": "object",
    "required": ["values", "png", "scale", "sum", "description"],
    "properties": {
        "values": {**FIELD_ROWS, "description": "28 rows of 28 values, in logit units, row-major like the preview"},
        "png": {"type": "string", "pattern": "^data:image/png;base64,",
                "description": "28x28 RGBA heat map: red for, blue against, opacity sqrt(|value| / scale)"},
        "scale": {"type": "number", "exclusiveMinimum": 0, "description": "the largest |value| (1 if all are 0)"},
        "sum": {"type": "number", "description": "sum of the values"},
        "description": {"type": "string"},
    },
}

UNIT = {
    "type": "object", "required": ["unit", "value"],
    "properties": {"unit": {"type": "integer", "minimum": 0}, "value": {"type": "number"}},
}

CONTRIBUTING_UNIT = {
    "type": "object",
    "required": ["unit", "value", "contribution", "template"],
    "properties": {
        "unit": {"type": "integer", "minimum": 0},
        "value": {"type": "number", "description": "the unit's activation"},
        "contribution": {"type": "number", "description": "activation x d logit[target] / d activation"},
        "template": {"type": "string", "pattern": "^data:image/png;base64,",
                     "description": "28x28 RGB template (red positive, blue negative, own scale): the unit's "
                     "weights for the first hidden layer, its input gradient at this drawing for deeper ones"},
    },
}

LAYER = {
    "type": "object",
    "required": ["name", "size", "activation", "values", "top_units"],
    "properties": {
        "name": {"type": "string", "description": "hidden 1, hidden 2, ..., output"},
        "size": {"type": "integer", "minimum": 1},
        "activation": {"type": "string", "description": "relu, leaky_relu, tanh, sigmoid; logits for the output"},
        "values": {"type": "array", "items": {"type": "number"}, "description": "every unit's output (4 decimals)"},
        "top_units": {"type": "array", "items": UNIT, "description": "the strongest units, strongest first"},
        "template_kind": {"enum": ["weights", "input_gradient"]},
        "contributing_units": {"type": "array", "items": CONTRIBUTING_UNIT,
                               "description": "hidden layers: the units contributing most to the target (by |contribution|)"},
    },
}

EXPLANATION = {
    "allOf": [{"$ref": "#/components/schemas/Prediction"}],
    "type": "object",
    "required": ["target", "logits", "temperature", "baseline_logit", "input_box", "saliency", "layers"],
    "properties": {
        "target": {"type": "integer", "minimum": 0, "maximum": 9, "description": "the digit explained"},
        "logits": {"type": "array", "items": {"type": "number"}, "minItems": 10, "maxItems": 11,
                   "description": "the output layer before softmax, one per digit (and an 11th, \"not a digit\", "
                   "for a model that has it); the answer's probabilities are softmax(logits / temperature), "
                   "the digits' renormalised"},
        "temperature": {"type": "number", "exclusiveMinimum": 0,
                        "description": "the model file's calibration temperature (1 without one)"},
        "baseline_logit": {"type": "number", "description": "the target's logit for a black image"},
        "input_box": {
            "type": "object", "required": ["left", "top", "width", "height"],
            "description": "the inked part of the 28x28 field (to lay the maps over the drawing's own box)",
            "properties": {k: {"type": "integer", "minimum": 0, "maximum": 28} for k in ("left", "top", "width", "height")},
        },
        "saliency": {
            "type": "object",
            "required": ["gradient", "gradient_x_input"],
            "properties": {
                "gradient": SALIENCY_MAP,
                "gradient_x_input": SALIENCY_MAP,
                "integrated_gradients": {
                    "allOf": [SALIENCY_MAP],
                    "required": ["steps", "baseline", "completeness_gap"],
                    "properties": {
                        "steps": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS},
                        "baseline": {"const": "black"},
                        "completeness_gap": {"type": "number",
                                             "description": "sum - (logit - baseline_logit): the quadrature error"},
                    },
                },
            },
        },
        "layers": {"type": "array", "minItems": 2, "items": LAYER},
    },
}


def target_parameter(name: str, low: int, high: int, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": low, "maximum": high}}


def explain_path(predict_operation: dict[str, Any]) -> dict[str, Any]:
    """POST /explain: the request body and error answers of /predict, plus two options."""
    responses = {**predict_operation["responses"],
                 "200": {"description": "The prediction and its explanation",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Explanation"}}}},
                 "400": {**predict_operation["responses"]["400"],
                         "description": "Malformed request, undecodable image, or a target/steps out of range "
                                        "(codes invalid_target, invalid_steps)"},
                 "429": {**predict_operation["responses"]["429"],
                         "description": f"Too many requests from one client: an explanation counts {EXPLAIN_UNITS} "
                                        "/predict against the one budget of the prediction routes "
                                        "(code too_many_requests)"}}
    return {"post": {
        "summary": "Classify a drawn digit and explain the answer",
        "description": f"Same inputs as /predict; against the rate limit it counts {EXPLAIN_UNITS} /predict "
        "(it costs the server about 2.6 of them). For the target digit (default the predicted one): "
        "saliency maps from the network's own backward pass (input gradient of the target's logit, gradient x "
        "input, integrated gradients), every layer's activations, the templates of the hidden units that "
        "contribute most, and the logits. `target` and `steps` may also be given as JSON keys or form fields.",
        "parameters": [
            target_parameter("target", 0, 9, "the digit to explain (default: the predicted one)"),
            target_parameter("steps", 0, MAX_STEPS, f"integrated-gradients steps (default {DEFAULT_STEPS}; 0: none)"),
        ],
        "requestBody": predict_operation["requestBody"],
        "responses": responses,
    }}
