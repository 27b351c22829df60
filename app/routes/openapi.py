"""The API described in OpenAPI 3.1 (its schemas are JSON Schema 2020-12, testable with jsonschema)."""
from __future__ import annotations

from typing import Any

from app.settings import MAX_BATCH_IMAGES
from app.imaging.decode import ACCEPTED_NAMES
from app.imaging.segment import MAX_DIGITS
from app.middleware.rate_limits import IMAGES_PER_UNIT
from app.routes.explain_schema import EXPLANATION, explain_path
from model.nn.verdict import CANDIDATE_MASS, MAX_CANDIDATES, NOT_DIGIT_MIN, NO_REJECT_OUTPUT_MIN, SURE_MIN, VERDICTS

VERDICT_TEXT = (
    f"`digit`: a digit, confidently (calibrated `confidence` >= {SURE_MIN}); "
    f"`unsure`: a digit but ambiguous (`confidence` below {SURE_MIN}), see `candidates`; "
    f"`not_a_digit`: letters, symbols, shapes, scribbles, a dot, a line across the pad - the stroke "
    f"geometry is a dot or a bare line that is not upright, or the model's \"not a digit\" output is >= "
    f"{NOT_DIGIT_MIN} (a model file without that output: `confidence` below {NO_REJECT_OUTPUT_MIN}). "
    f"`digit`, `probabilities` and `confidence` are there whatever the verdict"
)

ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "stable machine-readable code, e.g. empty_image"},
                "message": {"type": "string", "description": "what went wrong, for a person"},
                "request_id": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9._-]{1,64}$",
                    "description": "this request's id, also in the X-Request-ID header and the server's log",
                },
            },
        }
    },
}

PREDICTION = {
    "type": "object",
    "required": ["digit", "probabilities", "confidence", "verdict", "preview", "model"],
    "properties": {
        "digit": {"type": "integer", "minimum": 0, "maximum": 9},
        "probabilities": {
            "type": "array",
            "items": {"type": "number", "minimum": 0, "maximum": 1},
            "minItems": 10,
            "maxItems": 10,
            "description": "one probability per digit 0-9, summing to 1",
        },
        "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                       "description": "calibrated probability of `digit` (temperature scaling fitted on the "
                                      "validation split): answers given with 0.8 are right about 80% of the time"},
        "verdict": {
            "type": "string",
            "enum": list(VERDICTS),
            "description": VERDICT_TEXT,
        },
        "candidates": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 9},
            "minItems": 2,
            "maxItems": MAX_CANDIDATES,
            "description": f"only when `verdict` is `unsure`: the fewest best digits whose probabilities "
                           f"sum to {CANDIDATE_MASS} (2 to {MAX_CANDIDATES}), best first",
        },
        "preview": {
            "type": "string",
            "pattern": "^data:image/png;base64,",
            "description": "the 28x28 greyscale image the model saw, as a PNG data URL",
        },
        "model": {"type": "string", "description": "version of the model that answered"},
    },
}

BATCH_REQUEST = {
    "type": "object",
    "required": ["images"],
    "properties": {
        "images": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH_IMAGES,
            "items": {"type": "string", "description": "data URL or plain base64, as for /predict"},
        }
    },
}

BATCH_RESULTS = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "description": "one entry per image, in order: its prediction, or its own error "
            "(the codes of /predict: undecodable_image, too_large, too_many_pixels, "
            "unsupported_media_type, empty_image, malformed_request)",
            "items": {"oneOf": [{"$ref": "#/components/schemas/Prediction"}, {"$ref": "#/components/schemas/Error"}]},
        }
    },
}

HEALTH = {
    "type": "object",
    "required": ["status", "model"],
    "properties": {
        "status": {"const": "ok"},
        "model": {"type": "string", "description": "version of the loaded model"},
        "sha256": {"type": "string", "description": "SHA-256 of the loaded weights file"},
        "pid": {"type": "integer", "description": "the worker process that answered (each swaps models on its own)"},
        "weights_ok": {"type": "boolean", "description": "false while the weights file on disk is refused "
                       "(missing, corrupt, unreadable); the last good model keeps serving"},
        "weights_error": {"type": ["string", "null"], "description": "why the file on disk is refused, or null"},
        "registry_ok": {"type": "boolean", "description": "false while the shared model registry (the database) "
                        "cannot be reached; the last good model keeps serving"},
        "registry_error": {"type": ["string", "null"], "description": "why the registry is unreachable, or null"},
    },
}

MODEL_INFO = {
    "type": "object",
    "required": ["version", "sha256", "architecture", "metadata", "card"],
    "properties": {
        "version": {"type": "string"},
        "sha256": {"type": "string"},
        "architecture": {
            "type": "object",
            "required": ["input_size", "hidden_sizes", "num_classes", "activation"],
            "properties": {
                "input_size": {"type": "integer"},
                "hidden_sizes": {"type": "array", "items": {"type": "integer"}},
                "num_classes": {"type": "integer"},
                "activation": {"type": "string"},
                "dropout": {"type": "number"},
            },
        },
        "metadata": {"type": "object", "description": "free-form metadata stored in the weights file"},
        "card": {
            "type": ["object", "null"],
            "description": "the model card (weights/mlp.json): accuracy, per-class accuracy, "
            "confusion matrix, training curves, data checksums; null if absent",
        },
        "pid": {"type": "integer", "description": "the worker process that answered"},
    },
}

FEEDBACK = {
    "type": "object",
    "required": ["image", "label", "predicted", "confidence", "model"],
    "properties": {
        "image": {"type": "string", "description": "the drawing: data URL or plain base64, as sent to /predict"},
        "label": {
            "oneOf": [{"type": "integer", "minimum": 0, "maximum": 9}, {"const": "not_a_digit"}],
            "description": 'the digit the user meant, or "not_a_digit": the drawing was not a digit at all '
                           "(stored as label 10, a non-digit example for retraining)",
        },
        "predicted": {"type": "integer", "minimum": 0, "maximum": 9, "description": "the digit /predict answered"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1, "description": "its confidence"},
        "model": {"type": "string", "minLength": 1, "maxLength": 100, "description": "the version that answered"},
    },
}

FEEDBACK_STORED = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "integer", "description": "the stored drawing's row id"}},
}


def error_response(description: str) -> dict[str, Any]:
    return json_response(description, "Error")


def rate_limited_response(description: str) -> dict[str, Any]:
    retry_after = {"description": "seconds to wait before the next request", "schema": {"type": "integer", "minimum": 1}}
    return {**error_response(description), "headers": {"Retry-After": retry_after}}


def json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


UNAVAILABLE = error_response("This worker has no model to serve (code model_unavailable): it started while "
                             "the weights file was refused; it serves again once a good file appears")


def build_openapi() -> dict[str, Any]:
    doc = build_core_openapi()
    doc["paths"]["/explain"] = explain_path(doc["paths"]["/predict"]["post"])
    doc["paths"]["/predict/number"] = {"post": number_operation(doc["paths"]["/predict"]["post"]["requestBody"])}
    doc["components"]["schemas"]["NumberReading"] = NUMBER_READING
    doc["paths"]["/model"] = {"get": {"summary": "A page about the served model (curves, confusion, versions)",
                                      "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}}}}
    doc["components"]["schemas"]["Explanation"] = EXPLANATION
    return doc


def build_core_openapi() -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Digit Canvas",
            "version": "1",
            "description": "Draw a digit; a NumPy multilayer perceptron trained on MNIST says which it is. "
            "Every response carries an X-Request-ID header: the client's own if it matches "
            "[A-Za-z0-9._-]{1,64}, else a new one; error bodies repeat it.",
        },
        "paths": {
            "/": {
                "get": {
                    "summary": "The drawing page",
                    "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}},
                }
            },
            "/predict": {
                "post": {
                    "summary": "Classify a drawn digit",
                    "description": f"Accepts {ACCEPTED_NAMES}; animated images use their first frame. "
                    "The drawing is normalised like MNIST (20x20 box, centred by mass in 28x28).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {"image": {"type": "string", "format": "binary"}},
                                }
                            },
                            "image/png": binary,
                            "image/jpeg": binary,
                            "image/webp": binary,
                            "image/gif": binary,
                            "image/bmp": binary,
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {
                                        "image": {"type": "string", "description": "data URL or plain base64"}
                                    },
                                }
                            },
                        },
                    },
                    "responses": {
                        "200": json_response("The prediction", "Prediction"),
                        "400": error_response("Malformed request or undecodable image"),
                        "405": error_response("Method not allowed"),
                        "408": error_response("The body did not arrive in time (code request_timeout)"),
                        "413": error_response("Body too large (bytes) or image too large (pixels)"),
                        "415": error_response("Unsupported media type or image format"),
                        "422": error_response("The image has no ink (code empty_image)"),
                        "429": rate_limited_response("Too many requests from one client (code too_many_requests)"),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/predict/batch": {
                "post": {
                    "summary": f"Classify up to {MAX_BATCH_IMAGES} drawings in one request",
                    "description": "Each image is decoded and preprocessed as by /predict; one forward pass "
                    "answers all of them. An image that cannot be classified gets its own error object "
                    "in its place in `results` (status 200, the other images answered); only a malformed "
                    "request fails as a whole. Together the images may have at most as many pixels as "
                    "one /predict image (16 million by default); the body limit is that of /predict.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
                    },
                    "responses": {
                        "200": json_response("One result per image, in order", "BatchResults"),
                        "400": error_response("Malformed JSON, no \"images\" list, or an empty one"),
                        "405": error_response("Method not allowed"),
                        "413": error_response(f"Body too large, or more than {MAX_BATCH_IMAGES} images (code too_many_images)"),
                        "415": error_response("Not JSON"),
                        "429": rate_limited_response(f"Too many images from one client: every {IMAGES_PER_UNIT} images of a batch "
                                                     "count as one /predict against its limit (code too_many_requests)"),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Confirm or correct a prediction; the drawing is kept for retraining",
                    "description": "The drawing is preprocessed like /predict; the 28x28 image the model saw "
                    "and the original (as PNG, at most 256 KB) are stored with the label. No address or "
                    "other personal data is stored.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Feedback"}}},
                    },
                    "responses": {
                        "201": json_response("Stored", "FeedbackStored"),
                        "400": error_response("Malformed JSON, a field of the wrong type or range, undecodable image"),
                        "408": error_response("The body did not arrive in time (code request_timeout)"),
                        "413": error_response("Body too large (bytes) or image too large (pixels)"),
                        "415": error_response("Not JSON, or an unsupported image format"),
                        "422": error_response("The image has no ink (code empty_image)"),
                        "429": rate_limited_response("Too much feedback from one client (code too_many_requests)"),
                        "503": {
                            **error_response("Nothing was stored: the database is locked by another process "
                                             "for longer than the busy timeout (code storage_busy, with "
                                             "Retry-After) or cannot be used (code feedback_unavailable)"),
                            "headers": {"Retry-After": {"description": "seconds to wait (storage_busy)",
                                                        "schema": {"type": "integer"}}},
                        },
                    },
                }
            },
            "/healthz": {
                "get": {"summary": "Liveness and loaded model",
                        "responses": {"200": json_response("Alive", "Health"), "503": UNAVAILABLE}}
            },
            "/api/model": {
                "get": {
                    "summary": "The served model and its model card",
                    "responses": {"200": json_response("Model description", "ModelInfo"), "503": UNAVAILABLE},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics of all workers",
                    "description": "Requests and latency by route and status, predictions by digit, the model "
                    "version each worker serves, model reloads, rejected inputs by error code.",
                    "responses": {
                        "200": {"description": "Prometheus text exposition format 0.0.4",
                                "content": {"text/plain": {"schema": {"type": "string"}}}}
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {
            "schemas": {"Prediction": PREDICTION, "Error": ERROR, "Health": HEALTH, "ModelInfo": MODEL_INFO,
                        "Feedback": FEEDBACK, "FeedbackStored": FEEDBACK_STORED,
                        "BatchRequest": BATCH_REQUEST, "BatchResults": BATCH_RESULTS},
            "responses": {"NotFound": error_response("No such route")},
        },
    }


NUMBER_READING = {
    "type": "object",
    "required": ["number", "digits", "preview", "model"],
    "properties": {
        "number": {"type": ["string", "null"], "pattern": "^[0-9]{1,%d}$" % MAX_DIGITS,
                   "description": "the digits read left to right; null when a piece is not a digit (see message)"},
        "message": {"type": "string", "description": "why number is null"},
        "digits": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_DIGITS,
            "description": "one entry per digit in reading order: the fields of a /predict answer "
            "(without preview and model, which are given once) and its box",
            "items": {
                "type": "object",
                "required": ["digit", "probabilities", "confidence", "verdict", "box"],
                "properties": {
                    **{key: PREDICTION["properties"][key]
                       for key in ("digit", "probabilities", "confidence", "verdict", "candidates")},
                    "box": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 4, "maxItems": 4,
                            "description": "[x0, y0, x1, y1] of the digit's ink in the input image's pixels "
                            "(x1, y1 exclusive)"},
                },
            },
        },
        "preview": {"type": "array", "items": PREDICTION["properties"]["preview"],
                    "description": "the 28x28 image the model saw for each digit, in the order of digits"},
        "model": PREDICTION["properties"]["model"],
    },
}


def number_operation(request_body: dict[str, Any]) -> dict[str, Any]:
    """POST /predict/number: the same inputs, limits and errors as /predict, plus the number's own."""
    return {
        "summary": f"Read a number: up to {MAX_DIGITS} digits written side by side",
        "description": "The ink is cut into its digits (connected pieces, pieces of one digit joined, touching "
        "digits cut apart; the network's own confidence chooses among the ways to cut), each digit is "
        "normalised like /predict, and all candidates are classified in one forward pass. Against the "
        "/predict rate limit a number counts as many requests as it has digits.",
        "requestBody": request_body,
        "responses": {
            "200": json_response("The number, its digits left to right with their boxes", "NumberReading"),
            "400": error_response("Malformed request or undecodable image"),
            "405": error_response("Method not allowed"),
            "408": error_response("The body did not arrive in time (code request_timeout)"),
            "413": error_response("Body too large (bytes) or image too large (pixels)"),
            "415": error_response("Unsupported media type or image format"),
            "422": error_response(f"No ink (code empty_image), more than {MAX_DIGITS} digits (code "
                                  "too_many_digits), or ink in too many pieces to be a number (code too_many_pieces)"),
            "429": rate_limited_response("Too many requests from one client: each digit counts as one /predict "
                                         "(code too_many_requests)"),
            "503": UNAVAILABLE,
        },
    }
