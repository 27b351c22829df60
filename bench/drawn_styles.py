"""Accuracy on digits that are not MNIST at all: typed in every font on the machine, and drawn as
pen strokes the way people write them (open 4, crossed 7, 1 with a flag or a base, curled 9).

    python -m bench.drawn_styles [--weights weights/mlp.npz] [--seed 0] [--per-style 10]

Each image is a 280x280 opaque white canvas with ink #111418 (the page's colours), sent through
the server's own preprocessing (model.imaging.preprocess.preprocess, in-process) to the model. The
styles and the drawer are model.data.strokes' held-out family (never trained on). Strokes get
a random size (60-100% of the canvas), shift (up to 10% each way), slant (about 7 degrees, 1
sigma), pen width (21, 12 or 6 px: the page's pen, a thinner one and a thin one) and a wobble of
every point (0.6% of the side, 1 sigma). Not a test: a check of how the model generalises beyond
the MNIST test set, with figures in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from model.data.strokes import HELD_OUT_PEN_WIDTHS, HELD_OUT_STYLES, Stroke, arc, draw_strokes, machine_fonts, typed  # noqa: E402,F401  (Stroke, arc: for bench.drawn_numbers)
from model.imaging.preprocess import preprocess  # noqa: E402
from model.artifacts import weights_file  # noqa: E402
from model.nn.network import MLP  # noqa: E402

FONT_SIZES = (180, 90)
PEN_WIDTHS = HELD_OUT_PEN_WIDTHS
STYLES = HELD_OUT_STYLES


def classify(network: MLP, image: Image.Image) -> int:
    return int(network.predict_proba(preprocess(image).vector)[0][:10].argmax())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=REPO / "weights" / "mlp.npz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-style", type=int, default=10, help="drawings per style and pen width")
    args = parser.parse_args()
    network = weights_file.load(args.weights)
    rng = np.random.default_rng(args.seed)

    print(f"pen strokes ({args.per_style} drawings x pen widths {PEN_WIDTHS} px per style):")
    right = total = 0
    for name, (digit, strokes) in STYLES.items():
        answers = [classify(network, draw_strokes(strokes, width, rng))
                   for width in PEN_WIDTHS for _ in range(args.per_style)]
        ok = answers.count(digit)
        right, total = right + ok, total + len(answers)
        mistakes = ", ".join(f"{d} x{n}" for d, n in Counter(a for a in answers if a != digit).most_common())
        print(f"  {name:22s} {ok:3d}/{len(answers)}" + (f"   read as {mistakes}" if mistakes else ""))
    print(f"  all strokes: {right}/{total} = {100 * right / total:.1f}%")

    fonts = machine_fonts()
    right = total = 0
    misread: Counter = Counter()
    for path in fonts:  # every machine font, both families
        for size in FONT_SIZES:
            for digit in range(10):
                answer = classify(network, typed(str(digit), path, size))
                right, total = right + (answer == digit), total + 1
                if answer != digit:
                    misread[f"{digit} as {answer} ({Path(path).stem})"] += 1
    print(f"\ntyped digits, {len(fonts)} fonts x sizes {FONT_SIZES} px: {right}/{total} = {100 * right / total:.1f}%")
    for what, n in misread.most_common():
        print(f"  {what}" + (f" x{n}" if n > 1 else ""))


if __name__ == "__main__":
    main()
