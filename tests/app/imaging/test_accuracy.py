"""MNIST test digits drawn the way a canvas would hold them, POSTed to the real server.

The whole path (PNG encoding, HTTP, gunicorn, Flask, decoding, preprocessing, the network)
must keep the model's own accuracy on the raw 28x28 images to within one point.
"""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from model.data.mnist import load_mnist
from model.artifacts import weights_file
from testkit.live_server import WEIGHTS, LiveServer
from testkit.drawings import CANVAS, render_like_canvas

SAMPLE = 1500
SEED = 20261127  # bench/canvas_accuracy.py renders with the same seed and recipe


def post_all(server: LiveServer, bodies: list[bytes], clients: int = 2) -> list[int]:
    """POST every body as image/png over keep-alive connections; the predicted digits in order."""
    digits = [-1] * len(bodies)
    errors: list[str] = []

    def work(start: int) -> None:
        conn = server.connect()
        try:
            for i in range(start, len(bodies), clients):
                response = server.request("POST", "/predict", bodies[i], {"Content-Type": "image/png"}, conn=conn)
                if response.status != 200:
                    errors.append(f"#{i}: {response.status} {response.body[:200]!r}")
                    continue
                digits[i] = json.loads(response.body)["digit"]
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:5]
    return digits


@pytest.mark.slow
def test_accuracy_through_http_stays_within_a_point_of_raw_mnist(live_server: LiveServer, capsys) -> None:
    mnist = load_mnist(progress=False)
    rng = np.random.default_rng(SEED)
    index = rng.choice(len(mnist.test_labels), SAMPLE, replace=False)
    images, labels = mnist.test_images[index], mnist.test_labels[index]

    model = weights_file.load(WEIGHTS)
    raw_accuracy = float((model.predict(images.reshape(SAMPLE, -1).astype(np.float32) / 255.0) == labels).mean())
    bodies = [render_like_canvas(image, rng) for image in images]
    http_accuracy = float((np.array(post_all(live_server, bodies)) == labels).mean())

    with capsys.disabled():
        print(
            f"\n[accuracy] {SAMPLE} MNIST test digits, model {model.version}: raw 28x28 {raw_accuracy:.4f}, "
            f"drawn on a {CANVAS}x{CANVAS} canvas and POSTed over HTTP {http_accuracy:.4f} "
            f"(difference {100 * (http_accuracy - raw_accuracy):+.2f} points)"
        )
    assert http_accuracy >= raw_accuracy - 0.01
