"""/predict's answers on the test drawings, as they were before the hot path was sped up (issue 15).

`python -m tests.support.predict_golden` wrote tests/support/predict_golden.json: for every drawing
of tests/support/preprocess_golden.py plus dots, dashes and scribbles (so every verdict and the
"candidates" list occur), the status and the parsed JSON answer of the shipped model, canonicalised
(sorted keys, floats by repr) and hashed; tests/app/routes/test_predict_golden.py checks that today's
answers are the very same.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from testkit.drawings import encode
from tests.support.preprocess_golden import cases as drawing_cases

GOLDEN = Path(__file__).with_suffix(".json")


def shapes() -> Iterator[tuple[str, bytes]]:
    """Dots, dashes, slashes, rings and random scribbles: the geometry's and the thresholds' cases."""
    rng = np.random.default_rng(15)
    for i in range(40):
        a = np.zeros((280, 280), np.uint8)
        kind = i % 5
        if kind == 0:  # a dot of some size
            r = 3 + i
            y, x = np.ogrid[:280, :280]
            a[(y - 140) ** 2 + (x - 140) ** 2 <= r * r] = 255
        elif kind == 1:  # a dash / line at some angle
            t = np.linspace(0, 1, 400)
            ang = rng.uniform(0, np.pi)
            ys = (140 + np.sin(ang) * (t - 0.5) * rng.integers(40, 240)).astype(int)
            xs = (140 + np.cos(ang) * (t - 0.5) * rng.integers(40, 240)).astype(int)
            w = int(rng.integers(2, 20))
            for yy, xx in zip(ys, xs):
                a[max(yy - w, 0):yy + w, max(xx - w, 0):xx + w] = 255
        else:  # a scribble: random strokes
            pts = rng.integers(40, 240, (int(rng.integers(2, 7)), 2))
            for (y0, x0), (y1, x1) in zip(pts[:-1], pts[1:]):
                for t in np.linspace(0, 1, 200):
                    yy, xx = int(y0 + (y1 - y0) * t), int(x0 + (x1 - x0) * t)
                    a[max(yy - 8, 0):yy + 8, max(xx - 8, 0):xx + 8] = 255
        yield f"shape-{i:02d}", encode(Image.fromarray(a, "L"), "PNG")


def cases() -> Iterator[tuple[str, bytes]]:
    yield from drawing_cases()
    yield from shapes()


def canonical(answer: Any) -> str:
    """The answer as a string independent of key order and float printing (repr of each float)."""
    return json.dumps(answer, sort_keys=True, separators=(",", ":"))


def answers(client) -> dict[str, str]:
    """name -> "<status> <sha256 of the canonical answer>" for every case, from a Flask test client."""
    out = {}
    for name, data in cases():
        response = client.post("/predict", data=data, content_type="image/png")
        body = response.get_json()
        if isinstance(body.get("error"), dict):
            body["error"].pop("request_id", None)
        out[name] = f"{response.status_code} {hashlib.sha256(canonical(body).encode()).hexdigest()[:32]}"
    return out


def golden_client():
    """A test client of the app serving the shipped model with no rate limits."""
    import tempfile

    from app import create_app
    from testkit.live_server import WEIGHTS
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": tempfile.mkdtemp(),
                      "PREDICT_LIMIT": "1000000/second", "FEEDBACK_LIMIT": "1000000/second"})
    return app.test_client()


if __name__ == "__main__":
    result = answers(golden_client())
    GOLDEN.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {GOLDEN}: {len(result)} answers")
