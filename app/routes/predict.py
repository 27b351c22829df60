"""The JSON API: /predict, /healthz, /api/model, /openapi.json."""
from __future__ import annotations

import base64
import os
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from flask import Blueprint, Response, current_app, request

from app.imaging.decode import (
    ACCEPTED_MEDIA_TYPES,
    ACCEPTED_NAMES,
    ImageDataTooLarge,
    ImageRejected,
    ImageTooLarge,
    UndecodableImage,
    UnsupportedImageType,
    decode_image,
    image_bytes_from_text,
)
from app.settings import MAX_BATCH_IMAGES
from app.middleware.errors import ApiError
from app.middleware.metrics import count_prediction
from app.serving.model_holder import LoadedModel
from app.routes.json_answer import json_answer
from app.routes.openapi import build_openapi
from app.imaging.preprocess import WORK_SIZE, EmptyImage, ModelInput, preprocess
from app.middleware.request_id import request_id
from model.nn.verdict import decide

bp = Blueprint("api", __name__)

REJECTIONS: dict[type[Exception], tuple[int, str]] = {  # checked in order: subclasses first
    UndecodableImage: (400, "undecodable_image"),
    ImageDataTooLarge: (413, "too_large"),
    ImageTooLarge: (413, "too_many_pixels"),
    UnsupportedImageType: (415, "unsupported_media_type"),
    EmptyImage: (422, "empty_image"),
}


def current_model() -> LoadedModel:
    """This worker's model, read once per request (a hot swap replaces it in one assignment);
    503 model_unavailable if this worker started while no weights file could be served."""
    model = current_app.extensions["model_holder"].current
    if model is None:
        raise ApiError(503, "model_unavailable", "this worker has no model to serve: its weights file is "
                                                 "refused (the server log says why); try again later")
    return model


@bp.post("/predict")
def predict() -> Response:
    data = read_image_bytes()
    model_input = image_to_model_input(data)
    model = current_model()
    return json_answer(prediction(forward(model, [model_input])[0], model_input, model.version))


def forward(model: LoadedModel, inputs: list[ModelInput]) -> np.ndarray:
    """The API's one forward pass: calibrated probabilities (n, 10 or 11) for n preprocessed images.

    One image goes in as a single row, which runs as matrix-vector products
    (FullyConnectedLayer.forward_one reads only the weight rows facing nonzero pixels)."""
    x = inputs[0].vector[None, :] if len(inputs) == 1 else np.stack([model_input.vector for model_input in inputs])
    return model.predict_proba_batch(x)


def prediction(probabilities: np.ndarray, model_input: ModelInput, version: str, count: bool = True) -> dict[str, Any]:
    """The answer for one image, from the model's calibrated outputs (10, or 11 with "not a digit").

    ``probabilities`` are the 10 digits' renormalised in float64 so that they sum to 1;
    ``verdict`` (and ``candidates`` when unsure) come from model.nn.verdict, the one rule
    every answering route and bench/honesty.py share. ``count``: add it to the predictions-by-digit
    metric (an explanation of a drawing is not a new prediction).
    """
    verdict = decide(probabilities[None, :], model_input.vector[None, :])[0]
    if count:
        count_prediction(verdict.digit)
    answer: dict[str, Any] = {
        "digit": verdict.digit,
        "probabilities": verdict.probabilities.tolist(),
        "confidence": verdict.confidence,
        "verdict": verdict.verdict,
        "preview": "data:image/png;base64," + base64.b64encode(model_input.preview_png).decode("ascii"),
        "model": version,
    }
    if verdict.candidates:
        answer["candidates"] = verdict.candidates
    return answer


@bp.post("/predict/batch")
def predict_batch() -> dict[str, Any]:
    """Up to MAX_BATCH_IMAGES images in one request: one HTTP round trip and one forward pass for all.

    A malformed request is a 4xx as a whole. An image that cannot be classified gets its
    error object ({"error": {"code", "message"}}, the codes of /predict) in its place in
    "results"; the others are answered. Together the images may have at most
    MAX_IMAGE_PIXELS pixels (the limit of one /predict image), so a batch cannot make a
    worker decode 64 times what one request can.
    """
    texts = batch_images_from_json()
    max_bytes = current_app.config["MAX_CONTENT_LENGTH"]
    budget = current_app.config["MAX_IMAGE_PIXELS"]
    results: list[dict[str, Any] | None] = [None] * len(texts)
    ready: list[tuple[int, ModelInput]] = []
    for i, text in enumerate(texts):
        try:
            if not isinstance(text, str):
                raise ApiError(400, "malformed_request", f"images[{i}] must be a string: a data URL or base64")
            with image_rejections():
                image = decode_image(image_bytes_from_text(text, max_bytes), budget, work_size=WORK_SIZE)
                budget -= image.size[0] * image.size[1]
                ready.append((i, preprocess(image)))
        except ApiError as exc:
            if exc.code == "too_many_pixels":
                exc.message += f" (left of the batch's {current_app.config['MAX_IMAGE_PIXELS']} pixels)"
            results[i] = {"error": {"code": exc.code, "message": exc.message, "request_id": request_id()}}
    if ready:
        model = current_model()
        probabilities = forward(model, [model_input for _, model_input in ready])
        for (i, model_input), row in zip(ready, probabilities):
            results[i] = prediction(row, model_input, model.version)
    return {"results": results}


def batch_images_from_json() -> list[Any]:
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type",
                       'send application/json {"images": ["<data URL or base64>", ...]}')
    payload = json_payload()
    if not isinstance(payload, dict) or not isinstance(payload.get("images"), list):
        raise ApiError(400, "missing_image", 'the JSON body must be an object with an "images" list')
    images = payload["images"]
    if not images:
        raise ApiError(400, "missing_image", '"images" is empty: send 1 to 64 images')
    if len(images) > MAX_BATCH_IMAGES:
        raise ApiError(413, "too_many_images", f'"images" holds {len(images)} images; the limit is {MAX_BATCH_IMAGES}')
    return images


def read_image_bytes() -> bytes:
    """The uploaded image's bytes from whichever of the three accepted request forms was used."""
    mimetype = request.mimetype
    max_bytes = current_app.config["MAX_CONTENT_LENGTH"]
    try:
        if mimetype == "multipart/form-data":
            upload = request.files.get("image")
            if upload is not None:
                return upload.read()
            if "image" in request.form:
                return image_bytes_from_text(request.form["image"], max_bytes)
            raise ApiError(400, "missing_image", "the multipart form has no file field named 'image'")
        if mimetype == "application/json" or mimetype.endswith("+json"):
            return image_bytes_from_json()
        if mimetype in ACCEPTED_MEDIA_TYPES:
            return request.get_data(cache=False)
    except ImageRejected as exc:
        raise rejection(exc) from None
    if not mimetype:
        raise ApiError(415, "unsupported_media_type", f"no Content-Type; {HOW_TO_SEND}")
    raise ApiError(415, "unsupported_media_type", f"Content-Type {mimetype} is not accepted; {HOW_TO_SEND}")


HOW_TO_SEND = (
    f"send multipart/form-data with a file field 'image', a raw {ACCEPTED_NAMES} body with its image/* "
    "Content-Type, or application/json {\"image\": \"<data URL or base64>\"}"
)


def json_payload() -> Any:
    payload = request.get_json(silent=True)  # None too for nesting too deep (app/middleware/json_limits.py)
    if payload is None:
        raise ApiError(400, "malformed_json", "the body is not valid JSON")
    return payload


def image_bytes_from_json() -> bytes:
    payload = json_payload()
    if not isinstance(payload, dict) or "image" not in payload:
        raise ApiError(400, "missing_image", 'the JSON body must be an object with an "image" key')
    if not isinstance(payload["image"], str):
        raise ApiError(400, "malformed_request", '"image" must be a string: a data URL or base64')
    return image_bytes_from_text(payload["image"], current_app.config["MAX_CONTENT_LENGTH"])


def image_to_model_input(data: bytes) -> ModelInput:
    """Decode, validate and preprocess; every failure becomes a 4xx with a clear message."""
    with image_rejections():
        image = decode_image(data, current_app.config["MAX_IMAGE_PIXELS"], work_size=WORK_SIZE)
        return preprocess(image)


@contextmanager
def image_rejections() -> Iterator[None]:
    """Turn the input's faults (ImageRejected from decoding, EmptyImage from preprocessing) into an
    ApiError (4xx). Anything else is our bug, not the input's: it propagates to the 500
    internal_error handler (logged with the request id), so the "never a 5xx" tests catch it."""
    try:
        yield
    except (ImageRejected, EmptyImage) as exc:
        raise rejection(exc) from None


def rejection(exc: Exception) -> ApiError:
    for kind, (status, code) in REJECTIONS.items():
        if isinstance(exc, kind):
            return ApiError(status, code, str(exc))
    return ApiError(400, "bad_request", str(exc))


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    """Alive and serving (200) even while the weights file on disk is refused: the last good model serves."""
    holder = current_app.extensions["model_holder"]
    model = current_model()
    unreachable = getattr(holder.registry, "unreachable", None)  # the shared registry's database is down
    return {"status": "ok", "model": model.version, "sha256": model.sha256, "pid": os.getpid(),
            "weights_ok": holder.refused is None, "weights_error": holder.refused,
            "registry_ok": unreachable is None, "registry_error": unreachable}


@bp.get("/api/model")
def model_card() -> dict[str, Any]:
    return current_model().describe()


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    return build_openapi()
