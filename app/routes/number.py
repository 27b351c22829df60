"""POST /predict/number: a drawing of several digits side by side, read left to right."""
from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, current_app, g

from app.imaging.decode import decode_image
from app.imaging.preprocess import MIN_INK_PIXELS, WORK_SIZE, EmptyImage, ModelInput, from_ink, locate_ink
from app.imaging.segment import MAX_DIGITS, Candidate, TooManyPieces, best_reading, segment
from app.middleware.errors import ApiError
from app.routes.predict import current_model, image_rejections, prediction, read_image_bytes

bp = Blueprint("number", __name__)


@bp.post("/predict/number")
def predict_number() -> dict[str, Any]:
    """Segment the ink into digits, classify every candidate digit in one forward pass, keep the
    best reading. Same inputs, limits and errors as /predict; 422 too_many_digits past MAX_DIGITS."""
    data = read_image_bytes()
    with image_rejections():
        image = decode_image(data, current_app.config["MAX_IMAGE_PIXELS"], work_size=WORK_SIZE)
        located = locate_ink(image)
        refused, candidates, inputs, atoms = classifiable_candidates(located.pixels)
    if refused:  # raised here: image_rejections turns any exception inside it into a 400
        raise ApiError(422, "too_many_pieces", str(refused))
    model = current_model()
    ready = [i for i, model_input in enumerate(inputs) if model_input is not None]
    outputs = model.predict_proba_batch(np.stack([inputs[i].vector for i in ready]))  # the one forward pass
    probabilities = np.zeros((len(candidates), outputs.shape[1]), outputs.dtype)
    probabilities[ready] = outputs
    # A candidate's score: its best digit's probability (with an 11th "not a digit" output, the
    # mass that output takes lowers every digit: a merged pair or a half digit scores low).
    reading = best_reading(atoms, candidates, probabilities[:, :10].max(axis=1))
    reading = [i for i in reading if inputs[i] is not None]  # a sliver with no ink left is no digit
    if not reading:
        raise ApiError(422, "empty_image", "the image has almost no ink: draw a number first")
    if len(reading) > MAX_DIGITS:
        raise ApiError(422, "too_many_digits",
                       f"the drawing reads as {len(reading)} digits; the limit is {MAX_DIGITS} per drawing")
    g.number_digits = len(reading)  # what the request costs against the /predict limit
    width, height = image.size
    digits, previews = [], []
    for i in reading:
        entry = prediction(probabilities[i], inputs[i], model.version)
        previews.append(entry.pop("preview"))
        entry.pop("model", None)
        entry["box"] = input_box(candidates[i].box, located.left, located.top, located.factor, width, height)
        digits.append(entry)
    return {**number_of(digits), "digits": digits, "preview": previews, "model": model.version}


def classifiable_candidates(
        ink: np.ndarray) -> tuple[TooManyPieces | None, list[Candidate], list[ModelInput | None], int]:
    """Every candidate digit and its 28x28 model input (None: too little ink to classify), or why
    the ink cannot be a number."""
    if int(ink.sum(dtype=np.int64)) < MIN_INK_PIXELS * 255:
        raise EmptyImage("the image has no ink: draw a number first")
    try:
        segmentation = segment(ink)
    except TooManyPieces as exc:
        return exc, [], [], 0
    inputs: list[ModelInput | None] = []
    done: dict[int, ModelInput | None] = {}  # segment() shares one ink array between identical candidates
    for candidate in segmentation.candidates:
        if id(candidate.ink) not in done:
            try:
                done[id(candidate.ink)] = from_ink(candidate.ink)
            except EmptyImage:
                done[id(candidate.ink)] = None
        inputs.append(done[id(candidate.ink)])
    if not any(model_input is not None for model_input in inputs):
        raise EmptyImage("the image has almost no ink: draw a number first")
    return None, segmentation.candidates, inputs, segmentation.atoms


def input_box(box: tuple[int, int, int, int], left: int, top: int, factor: int,
              width: int, height: int) -> list[int]:
    """A box in the ink crop's pixels as [x0, y0, x1, y1] (exclusive) in the input image's pixels."""
    x0, y0, x1, y1 = box
    return [(x0 + left) * factor, (y0 + top) * factor,
            min((x1 + left) * factor, width), min((y1 + top) * factor, height)]


def number_of(digits: list[dict[str, Any]]) -> dict[str, Any]:
    """{"number": "2026"}, or null with a message when a piece is not a digit (never a made-up digit)."""
    strangers = [i for i, entry in enumerate(digits) if entry.get("verdict") == "not_a_digit"]
    if strangers:
        which = ", ".join(str(i + 1) for i in strangers)
        return {"number": None, "message": f"piece {which} (counting from the left) does not look like a digit"}
    return {"number": "".join(str(entry["digit"]) for entry in digits)}
