"""A minimal digit service to measure the project against: Flask + Pillow + NumPy, no hardening.

What such a service usually is: decode the upload with Pillow, DESIGN.md's preprocessing written
plainly (flatten alpha, polarity, ink bounding box, longer side to 20 px with Lanczos, centre of
mass at the centre of 28x28, [0, 1] float32), the same weights file read with np.load and a
dense forward pass. No limits, request ids, metrics, access log or security headers.
Served by bench/side_by_side.py as `gunicorn -w <cores> bench.reference_service:app` (sync workers).
"""
import io
import os

import numpy as np
from flask import Flask, jsonify, request
from PIL import Image, ImageOps

app = Flask(__name__)
_w = np.load(os.environ.get("DIGIT_CANVAS_WEIGHTS", "weights/mlp.npz"))
LAYERS = [(_w[f"fc{i}.W"], _w[f"fc{i}.b"]) for i in range(3)]


def preprocess(image: Image.Image) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if grey.mean() > 0.5:  # dark ink on light paper
        grey = 1.0 - grey
    grey[grey < 0.15] = 0.0  # faint noise
    ys, xs = np.nonzero(grey)
    if len(ys) == 0:
        raise ValueError("empty")
    crop = grey[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    digit = np.asarray(Image.fromarray(crop, "F").resize(size, Image.LANCZOS)).clip(0, 1)
    cy, cx = (np.indices(digit.shape) * digit).reshape(2, -1).sum(1) / digit.sum()
    top = int(np.clip(round(14 - cy), 0, 28 - digit.shape[0]))
    left = int(np.clip(round(14 - cx), 0, 28 - digit.shape[1]))
    field = np.zeros((28, 28), np.float32)
    field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return field.reshape(-1)


@app.post("/predict")
def predict():
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(request.get_data())))
    x = preprocess(image)
    for i, (W, b) in enumerate(LAYERS):
        x = x @ W + b
        if i < len(LAYERS) - 1:
            x = np.maximum(x, 0)
    p = np.exp(x - x.max())
    p /= p.sum()
    return jsonify(digit=int(p.argmax()), probabilities=p.tolist(), confidence=float(p.max()))
