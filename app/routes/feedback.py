"""POST /feedback: a user confirms or corrects a prediction; the drawing is kept for retraining.

The drawing goes through the same decoding and preprocessing as /predict, so the stored
28x28 image is exactly what the model saw. Anything wrong (types, label, image) is a 4xx
JSON error and nothing is stored; a stored row is whole (one transaction). A flood from one
client is refused before this code runs (app/middleware/rate_limits.py, 429).

With DIGIT_CANVAS_DATABASE_URL the rows go to the PostgreSQL database every server shares
(app/feedback/postgres.py); while it cannot be reached the answer is 503 feedback_unavailable.

A database locked by another process (a backup, an admin command) is waited for up to
FEEDBACK_BUSY_TIMEOUT_MS, then the answer is 503 storage_busy with Retry-After and nothing is
stored. Only one request per worker waits for the lock at a time; the others are told at once,
so a locked database cannot take every thread of a worker away from /predict.
"""
from __future__ import annotations

import math
import sqlite3
import threading
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from app.routes.predict import image_to_model_input, rejection
from app.imaging.decode import ImageRejected, decode_image, image_bytes_from_text
from app.middleware.errors import ApiError, error_response
from app.feedback.postgres import PostgresFeedbackStore, StorageUnavailable, open_feedback_store
from app.feedback.store import (
    NOT_A_DIGIT, FeedbackStore, FeedbackStoreError, StorageBusy, encode_original, is_busy, seen_to_uint8,
)

bp = Blueprint("feedback", __name__)

MAX_VERSION_LENGTH = 100
NOT_A_DIGIT_LABEL = "not_a_digit"  # the "label" that says: this drawing was not a digit at all
WRITER_QUEUE_WAIT = 0.5  # seconds a second writer waits for this worker's one waiting slot


def init_app(app: Flask) -> None:
    """The store is opened (created) as the worker starts, so a database deleted later is an
    error (503) rather than silently replaced by an empty one."""
    app.extensions["feedback_writer"] = threading.Lock()
    app.register_blueprint(bp)
    with app.app_context():
        try:
            feedback_store()
        except (sqlite3.Error, FeedbackStoreError, OSError) as exc:  # tried again on the first /feedback
            app.logger.error("the feedback database cannot be opened: %s", exc)


def feedback_store() -> FeedbackStore | PostgresFeedbackStore:
    store = current_app.extensions.get("feedback_store")
    if store is None:  # the shared PostgreSQL database if DIGIT_CANVAS_DATABASE_URL names one
        store = open_feedback_store(current_app.instance_path, current_app.config["FEEDBACK_BUSY_TIMEOUT_MS"],
                                    current_app.config.get("DATABASE_URL"))
        current_app.extensions["feedback_store"] = store
    return store


@bp.post("/feedback")
def post_feedback() -> tuple[dict[str, Any], int] | Response:
    fields = read_fields()
    data = image_bytes(fields["image"])
    model_input = image_to_model_input(data)  # exactly what /predict does: 4xx on a bad image
    original_png = original_drawing(data)
    writer: threading.Lock = current_app.extensions["feedback_writer"]
    if not writer.acquire(timeout=WRITER_QUEUE_WAIT):
        return storage_busy()
    try:
        row_id = feedback_store().add(
            label=fields["label"], predicted=fields["predicted"], confidence=fields["confidence"],
            model_version=fields["model"], seen=seen_to_uint8(model_input.vector), original_png=original_png,
        )
    except (sqlite3.Error, FeedbackStoreError, OSError) as exc:
        if isinstance(exc, StorageBusy) or is_busy(exc):  # e.g. the first use's migration found it locked
            current_app.logger.warning("feedback not stored: %s", exc)
            return storage_busy()
        if isinstance(exc, StorageUnavailable):  # the shared database is down: one line, not a traceback each
            current_app.logger.warning("feedback not stored: %s", exc)
        else:
            current_app.logger.exception("could not store feedback")
        return error_response(503, "feedback_unavailable", "feedback cannot be stored right now; try later")
    finally:
        writer.release()
    return {"id": row_id}, 201


def storage_busy() -> Response:
    """503 + Retry-After: another process holds the database; nothing was stored."""
    response = error_response(503, "storage_busy", "the feedback database is busy; nothing was stored, "
                                                   "try again in a few seconds")
    response.headers["Retry-After"] = str(max(1, math.ceil(current_app.config["FEEDBACK_BUSY_TIMEOUT_MS"] / 1000)))
    return response


def read_fields() -> dict[str, Any]:
    """The JSON body, every field checked; the first problem is the error message."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       'send application/json {"image", "label", "predicted", "confidence", "model"}')
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(400, "malformed_json", "the body is not valid JSON")
    if not isinstance(payload, dict):
        raise ApiError(400, "malformed_request", "the JSON body must be an object")
    if "image" not in payload:
        raise ApiError(400, "missing_image", 'the JSON body has no "image"')
    if not isinstance(payload["image"], str):
        raise ApiError(400, "malformed_request", '"image" must be a string: a data URL or base64')
    label = payload.get("label")
    if label == NOT_A_DIGIT_LABEL:
        label = NOT_A_DIGIT  # stored as 10: retraining uses it as a non-digit example
    elif not is_digit(label):
        raise ApiError(400, "invalid_label", f'"label" must be a whole number from 0 to 9 or '
                                             f'"{NOT_A_DIGIT_LABEL}", got {label!r}'[:200])
    if not is_digit(payload.get("predicted")):
        raise ApiError(400, "invalid_predicted",
                       f'"predicted" must be a whole number from 0 to 9, got {payload.get("predicted")!r}'[:200])
    confidence = payload.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
            or not math.isfinite(confidence) or not 0.0 <= confidence <= 1.0:
        raise ApiError(400, "invalid_confidence", '"confidence" must be a number from 0 to 1')
    model = payload.get("model")
    if not isinstance(model, str) or not 0 < len(model) <= MAX_VERSION_LENGTH:
        raise ApiError(400, "invalid_model", f'"model" must be the version string /predict returned '
                                             f"(1-{MAX_VERSION_LENGTH} characters)")
    return {"image": payload["image"], "label": label, "predicted": payload["predicted"],
            "confidence": float(confidence), "model": model}


def is_digit(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9


def original_drawing(data: bytes) -> bytes:
    """The drawing decoded at full size (not reduced as for the model) and re-encoded to keep."""
    try:
        return encode_original(decode_image(data, current_app.config["MAX_IMAGE_PIXELS"]))
    except ImageRejected as exc:
        raise rejection(exc) from None
    except ValueError:  # cannot be shrunk below the size limit
        raise ApiError(413, "too_large", "the drawing is too large to keep") from None


def image_bytes(text: str) -> bytes:
    try:
        return image_bytes_from_text(text, current_app.config["MAX_CONTENT_LENGTH"])
    except ImageRejected as exc:
        raise rejection(exc) from None
