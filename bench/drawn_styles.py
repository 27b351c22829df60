"""Accuracy on digits that are not MNIST at all: typed in every font on the machine, and drawn as
pen strokes the way people write them (open 4, crossed 7, 1 with a flag or a base, curled 9).

    python -m bench.drawn_styles [--weights weights/mlp.npz] [--seed 0] [--per-style 10]

Each image is a 280x280 opaque white canvas with ink #111418 (the page's colours), sent through
the server's own preprocessing (app.imaging.preprocess.preprocess, in-process) to the model. Strokes get
a random size (60-100% of the canvas), shift (up to 10% each way), slant (about 7 degrees, 1
sigma), pen width (21, 12 or 6 px: the page's pen, a thinner one and a thin one) and a wobble of
every point (0.6% of the side, 1 sigma). Not a test: a check of how the model generalises beyond
the MNIST test set, with figures in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import glob
import math
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from app.imaging.preprocess import preprocess  # noqa: E402
from model.artifacts import weights_file  # noqa: E402
from model.nn.network import MLP  # noqa: E402

SIDE = 280
INK = (17, 20, 24, 255)
PEN_WIDTHS = (21, 12, 6)
FONT_SIZES = (180, 90)

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, points: int = 24) -> Stroke:
    """Points of an elliptic arc; angles in degrees, 0 = right, 90 = down (image coordinates)."""
    return [(cx + rx * math.cos(math.radians(start + (end - start) * i / points)),
             cy + ry * math.sin(math.radians(start + (end - start) * i / points))) for i in range(points + 1)]


# Each style: the digit it is, and its strokes in canvas units (0..1).
STYLES: dict[str, tuple[int, list[Stroke]]] = {
    "0": (0, [arc(0.5, 0.5, 0.22, 0.33, -90, 275)]),
    "1": (1, [[(0.5, 0.15), (0.5, 0.85)]]),
    "1 with a short flag": (1, [[(0.44, 0.22), (0.52, 0.15), (0.52, 0.85)]]),
    "1 with a long flag": (1, [[(0.38, 0.28), (0.52, 0.15), (0.52, 0.85)]]),
    "1 with flag and base": (1, [[(0.38, 0.28), (0.52, 0.15), (0.52, 0.85)], [(0.38, 0.85), (0.66, 0.85)]]),
    "2": (2, [[*arc(0.5, 0.33, 0.2, 0.18, 200, 360), (0.68, 0.4), (0.3, 0.85), (0.72, 0.85)]]),
    "3": (3, [[*arc(0.48, 0.31, 0.19, 0.16, 200, 450), *arc(0.48, 0.66, 0.21, 0.19, 270, 520)]]),
    "4 closed": (4, [[(0.62, 0.85), (0.62, 0.15), (0.28, 0.62), (0.75, 0.62)]]),
    "4 open": (4, [[(0.32, 0.15), (0.3, 0.55), (0.72, 0.55)], [(0.62, 0.3), (0.62, 0.86)]]),
    "5": (5, [[(0.68, 0.16), (0.36, 0.16), (0.33, 0.45), *arc(0.48, 0.63, 0.2, 0.2, 250, 500)]]),
    "6": (6, [[(0.62, 0.14), *arc(0.5, 0.65, 0.2, 0.2, 200, 560)]]),
    "7": (7, [[(0.28, 0.18), (0.72, 0.18), (0.42, 0.86)]]),
    "7 crossed": (7, [[(0.28, 0.18), (0.72, 0.18), (0.42, 0.86)], [(0.38, 0.52), (0.66, 0.52)]]),
    "8": (8, [[*arc(0.5, 0.3, 0.16, 0.15, 90, 450), *arc(0.5, 0.66, 0.2, 0.19, -90, 270)]]),
    "9": (9, [[*arc(0.5, 0.33, 0.19, 0.17, 0, 360), (0.69, 0.33), (0.62, 0.86)]]),
    "9 curled": (9, [[*arc(0.5, 0.33, 0.19, 0.17, 0, 360), (0.69, 0.33), (0.66, 0.7),
                      *arc(0.5, 0.72, 0.16, 0.13, 0, 150)]]),
}


def draw_strokes(strokes: list[Stroke], width: int, rng: np.random.Generator) -> Image.Image:
    """The strokes on a white canvas, randomly sized, shifted, slanted and wobbled, round pen ends."""
    scale, dx, dy = rng.uniform(0.6, 1.0), rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)
    angle = rng.normal(0.0, 0.12)
    cos, sin = math.cos(angle), math.sin(angle)
    image = Image.new("RGBA", (SIDE, SIDE), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = []
        for x, y in stroke:
            x, y = x - 0.5, y - 0.5
            x, y = (x * cos - y * sin) * scale + 0.5 + dx, (x * sin + y * cos) * scale + 0.5 + dy
            points.append((SIDE * (x + rng.normal(0, 0.006)), SIDE * (y + rng.normal(0, 0.006))))
        draw.line(points, fill=INK, width=width, joint="curve")
        for px, py in (points[0], points[-1]):
            draw.ellipse((px - width / 2, py - width / 2, px + width / 2, py + width / 2), fill=INK)
    return image


def typed(digit: int, font: ImageFont.FreeTypeFont) -> Image.Image:
    image = Image.new("RGBA", (SIDE, SIDE), (255, 255, 255, 255))
    ImageDraw.Draw(image).text((SIDE / 2, SIDE / 2), str(digit), font=font, fill=INK, anchor="mm")
    return image


def machine_fonts() -> list[str]:
    """Latin TrueType fonts (DejaVu, Liberation on Debian); CJK and maths fonts left out."""
    return sorted(path for path in glob.glob("/usr/share/fonts/truetype/*/*.ttf") if "Math" not in path)


def classify(network: MLP, image: Image.Image) -> int:
    return int(network.predict_proba(preprocess(image).vector)[0].argmax())


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
    for path in fonts:
        for size in FONT_SIZES:
            font = ImageFont.truetype(path, size)
            for digit in range(10):
                answer = classify(network, typed(digit, font))
                right, total = right + (answer == digit), total + 1
                if answer != digit:
                    misread[f"{digit} as {answer} ({Path(path).stem})"] += 1
    print(f"\ntyped digits, {len(fonts)} fonts x sizes {FONT_SIZES} px: {right}/{total} = {100 * right / total:.1f}%")
    for what, n in misread.most_common():
        print(f"  {what}" + (f" x{n}" if n > 1 else ""))


if __name__ == "__main__":
    main()
