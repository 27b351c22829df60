"""Reading numbers: exact-number accuracy of POST /predict/number by digit count and by gap, and
what a digit costs there against one POST /predict.

    python -m bench.number_accuracy [--seed 1] [--per-cell 50] [--weights weights/mlp.npz] [--timing 200]
                                   [--counts 1,2,3,4,8,12] [--verbose]

Numbers of 1-4 digits (uniformly random digits; 1 digit only in the digit-count table) are drawn by
bench/drawn_numbers.py on a 700x280 white canvas (the page's number pad) with ink gaps that are
"separate" (0.25-0.5 of the digit height), "close" (0.03-0.12) or "touching" (ink overlapping by
0.01-0.04), and sent as PNG through the app in-process (Flask test client: the real route, no
network). Also 8 and 12 digits (on a 1400x280 canvas). The segmenter's priors were tuned on
--seed 0; the figures in docs/benchmarks.md are on other seeds (held out).

Cost: median wall time of one request, in-process, over --timing requests each, interleaved: a
3-digit number ("204", close gaps, drawn with a fixed seed) vs a single digit drawn the same way on
a 280x280 canvas to /predict.
"""
from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.drawn_numbers import HEIGHT, WIDTH, draw_number, random_text

REPO = Path(__file__).resolve().parents[1]

TIMING_SEED = 12345
GAPS = {"separate": (0.25, 0.5), "close": (0.03, 0.12), "touching": (-0.04, -0.01)}


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def make_client(weights: Path):
    from app import create_app

    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(weights), "INSTANCE_PATH": tempfile.mkdtemp(),
                      "PREDICT_LIMIT": "1000000/second"})
    return app.test_client()


def read(client, image) -> dict:
    """The answer; a 422 (e.g. too_many_digits when a 12-digit number is read as 13) reads as no number."""
    response = client.post("/predict/number", data=png(image), content_type="image/png")
    assert response.status_code in (200, 422), response.get_json()
    return response.get_json() if response.status_code == 200 else {"number": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=REPO / "weights" / "mlp.npz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-cell", type=int, default=50, help="numbers per (digit count, gap)")
    parser.add_argument("--timing", type=int, default=200, help="requests per timed case (0: no timing)")
    parser.add_argument("--verbose", action="store_true", help="print every misread number")
    parser.add_argument("--counts", default="1,2,3,4,8,12", help="digit counts to draw (comma-separated)")
    args = parser.parse_args()
    client = make_client(args.weights)
    rng = np.random.default_rng(args.seed)

    right: dict[tuple[int, str], int] = defaultdict(int)
    total: dict[tuple[int, str], int] = defaultdict(int)
    counts = [int(n) for n in args.counts.split(",")]
    cells = [(n, gap) for n in counts for gap in GAPS if n > 1 or gap == "separate"]
    for n, gap in cells:
        size = (WIDTH, HEIGHT) if n <= 4 else (2 * WIDTH, HEIGHT)
        for _ in range(args.per_cell):
            drawn = draw_number(random_text(rng, n), rng, gap=GAPS[gap], size=size)
            answer = read(client, drawn.image)
            ok = answer["number"] == drawn.text
            right[n, gap] += ok
            total[n, gap] += 1
            if not ok and args.verbose:
                print(f"  {gap:9s} {drawn.text!r} read as {answer['number']!r} ({', '.join(drawn.styles)})")

    def pct(keys) -> str:
        r, t = sum(right[k] for k in keys), sum(total[k] for k in keys)
        return f"{100 * r / t:5.1f}% ({r}/{t})" if t else "-"

    print(f"exact numbers, seed {args.seed}, {args.per_cell} per cell (canvas {WIDTH}x{HEIGHT}; 8 and 12 digits "
          f"on {2 * WIDTH}x{HEIGHT})")
    print("| digits | " + " | ".join(GAPS) + " | all |")
    print("| --- | " + " | ".join("---" for _ in GAPS) + " | --- |")
    for n in counts:
        row = [pct([(n, g)]) if (n, g) in total else "-" for g in GAPS]
        print(f"| {n} | " + " | ".join(row) + f" | {pct([(n, g) for g in GAPS])} |")
    print(f"| 2-4 | " + " | ".join(pct([(n, g) for n in (2, 3, 4)]) for g in GAPS)
          + f" | {pct([(n, g) for n in (2, 3, 4) for g in GAPS])} |")
    print(f"target set (2-4 digits, close gaps): {pct([(n, 'close') for n in (2, 3, 4)])}; "
          f"touching pairs: {pct([(2, 'touching')])}")

    if args.timing:
        fixed = np.random.default_rng(TIMING_SEED)  # the same two drawings whatever --seed and --counts
        number = png(draw_number("204", fixed, gap=GAPS["close"]).image)
        single = png(draw_number("7", fixed, size=(280, 280)).image)
        for _ in range(20):  # warm-up
            client.post("/predict/number", data=number, content_type="image/png")
            client.post("/predict", data=single, content_type="image/png")
        times: dict[str, list[float]] = {"number": [], "single": []}
        for _ in range(args.timing):  # interleaved: both see the same load
            for name, path, body in (("number", "/predict/number", number), ("single", "/predict", single)):
                start = time.perf_counter()
                client.post(path, data=body, content_type="image/png")
                times[name].append(time.perf_counter() - start)
        number_ms = statistics.median(times["number"]) * 1e3
        single_ms = statistics.median(times["single"]) * 1e3
        print(f"\ncost, median of {args.timing} in-process requests: 3-digit number {number_ms:.2f} ms "
              f"({number_ms / 3:.2f} ms per digit), single digit /predict {single_ms:.2f} ms; "
              f"per digit {number_ms / 3 / single_ms:.2f}x a /predict")


if __name__ == "__main__":
    main()
