"""Accuracy of weights files on MNIST and on MNIST digits drawn like the page's canvas.

    python -m bench.canvas_accuracy [--n 10000] [--seed 20261127] WEIGHTS.npz [MORE.npz ...]

For each weights file: the accuracy on the raw 28x28 MNIST test images, and on the same
test digits rendered the way tests/app/imaging/test_accuracy.py renders them (scaled up 4-10x
with a random filter, placed anywhere on a 280x280 canvas in one of five polarity /
transparency styles, PNG) and then sent through the server's own decoding and
preprocessing (app.imaging.decode.decode_image + app.imaging.preprocess.preprocess, in-process: the
same code a POST /predict runs, without the HTTP round trip). The drawings are rendered
and preprocessed once; every model classifies the same vectors. Not a test.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path


import numpy as np  # noqa: E402

from app.settings import DEFAULT_MAX_IMAGE_PIXELS  # noqa: E402
from app.imaging.decode import decode_image  # noqa: E402
from app.imaging.preprocess import WORK_SIZE, preprocess  # noqa: E402
from model.data.mnist import load_mnist  # noqa: E402
from model.artifacts import weights_file  # noqa: E402
from testkit.drawings import STYLES, canvas_drawing  # noqa: E402

SEED = 20261127  # the seed of tests/app/imaging/test_accuracy.py


def canvas_vectors(images: np.ndarray, seed: int) -> tuple[np.ndarray, list[str]]:
    """The 784-vectors the server makes of each digit drawn on a canvas, and each drawing's style."""
    rng = np.random.default_rng(seed)
    vectors = np.empty((len(images), 784), np.float32)
    styles = []
    for i, digit in enumerate(images):
        png, style = canvas_drawing(digit, rng)
        image = decode_image(png, DEFAULT_MAX_IMAGE_PIXELS, work_size=WORK_SIZE)
        vectors[i] = preprocess(image).vector
        styles.append(style)
    return vectors, styles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", nargs="+", type=Path, help="weights files (.npz) to compare")
    parser.add_argument("--n", type=int, default=10000, help="test digits to draw (the first N of a seeded shuffle)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the drawing choices")
    args = parser.parse_args()

    mnist = load_mnist(progress=False)
    n = max(1, min(args.n, len(mnist.test_labels)))
    pick = np.random.default_rng(args.seed).permutation(len(mnist.test_labels))[:n]
    images, labels = mnist.test_images[pick], mnist.test_labels[pick].astype(np.intp)
    raw_all = mnist.test_images.reshape(len(mnist.test_images), -1).astype(np.float32) / 255.0

    start = time.perf_counter()
    vectors, styles = canvas_vectors(images, args.seed)
    seconds = time.perf_counter() - start
    print(f"{n} MNIST test digits drawn on a 280x280 canvas and preprocessed in {seconds:.1f} s "
          f"(styles: {', '.join(f'{s} {c}' for s, c in sorted(Counter(styles).items()))})\n")

    style_names = [s for s in STYLES if s in styles]
    print("| weights | version | MNIST test (10,000, raw 28x28) | same digits drawn on a canvas "
          f"({n}) | drawn - raw (same {n}) | " + " | ".join(style_names) + " |")
    print("| --- | --- | --- | --- | --- |" + " --- |" * len(style_names))
    style_array = np.array(styles)
    for path in args.weights:
        model = weights_file.load(path)
        raw_test = float((model.predict(raw_all) == mnist.test_labels).mean())
        raw_same = float((model.predict(raw_all[pick]) == labels).mean())
        drawn_hits = model.predict(vectors) == labels
        drawn = float(drawn_hits.mean())
        per_style = [float(drawn_hits[style_array == s].mean()) for s in style_names]
        print(f"| {path} | {model.version} | {raw_test:.2%} | {drawn:.2%} | "
              f"{100 * (drawn - raw_same):+.2f} points | " + " | ".join(f"{a:.2%}" for a in per_style) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
