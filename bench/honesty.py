"""How honest the served model is, measured through the HTTP API on held-out drawings.

    python -m bench.honesty [--weights weights/mlp.npz] [--per-family 40] [--cpu-requests 400]

Starts a real gunicorn (testkit/live_server.py, 127.0.0.1, 2 workers) serving --weights, and sends
PNG drawings to POST /predict/batch (64 a request; tests/app/test_verdict.py checks that the
batch answers are /predict's):

- the held-out non-digits (model.data.nondigits, held-out families and seeds): the share
  answered ``not_a_digit``, per kind and per family;
- the held-out drawn digits (model.data.strokes' held-out styles x 3 pens, digits typed in
  the held-out fonts) and the 10,000 MNIST test digits (28x28 PNGs): accuracy of ``digit``,
  the share answered ``not_a_digit`` (false rejection) and ``unsure``;
- ECE (15 bins) of ``confidence`` as served (calibrated) and before calibration: the served
  probabilities are softmax(z / T) over the 10 digits, so softmax(T * log p) gives back the
  uncalibrated ones (T from GET /api/model);
- the verdict's CPU cost: process CPU per /predict in-process (Flask test client, the
  shipped-style canvas PNG), the real rule against a stand-in that answers "digit" without
  deciding, alternating rounds, medians.

Also writes the reliability diagram (docs/reliability.svg). Not a test: figures for
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench.reliability_svg import reliability_svg  # noqa: E402
from model.data import honest  # noqa: E402
from model.data.mnist import load_mnist  # noqa: E402
from model.nn.calibration import reliability  # noqa: E402
from testkit.live_server import NO_RATE_LIMITS, LiveServer  # noqa: E402

BATCH = 64


def png_data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def answers(server: LiveServer, images: list[Image.Image]) -> list[dict]:
    """Every image through POST /predict/batch, in order; an error entry is an error here."""
    out: list[dict] = []
    for start in range(0, len(images), BATCH):
        results = post_json(server.url + "/predict/batch",
                            {"images": [png_data_url(im) for im in images[start:start + BATCH]]})["results"]
        for r in results:
            if "error" in r:
                raise RuntimeError(f"the server refused a drawing: {r['error']}")
        out += results
    return out


def uncalibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    z = temperature * np.log(np.clip(probabilities, 1e-300, None))
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def digit_figures(name: str, results: list[dict], labels: np.ndarray, temperature: float) -> dict:
    digit = np.array([r["digit"] for r in results])
    verdict = Counter(r["verdict"] for r in results)
    p = np.array([r["probabilities"] for r in results])
    raw = uncalibrated(p, temperature)
    right = digit == labels
    cal = reliability(np.array([r["confidence"] for r in results]), right)
    before = reliability(raw.max(axis=1), raw.argmax(axis=1) == labels)
    misses = Counter(f"{y}->{d}" for y, d in zip(labels, digit) if y != d)
    return {"set": name, "n": len(labels), "accuracy": float(right.mean()),
            "not_a_digit": verdict["not_a_digit"] / len(labels), "unsure": verdict["unsure"] / len(labels),
            "ece_before": before["ece"], "ece_after": cal["ece"], "bins_before": before["bins"],
            "bins_after": cal["bins"], "misses": dict(misses.most_common(6))}


def nondigit_figures(results: list[dict], kinds: list[str], families: list[str]) -> dict:
    rejected = [r["verdict"] == "not_a_digit" for r in results]
    by_kind, by_family = defaultdict(list), defaultdict(list)
    for r, k, f in zip(rejected, kinds, families):
        by_kind[k].append(r)
        by_family[f"{k}: {f}"].append(r)
    return {"n": len(results), "not_a_digit": float(np.mean(rejected)),
            "by_kind": {k: float(np.mean(v)) for k, v in sorted(by_kind.items())},
            "by_family": {k: float(np.mean(v)) for k, v in sorted(by_family.items())}}


def verdict_cpu(weights: Path, requests: int, rounds: int = 5) -> dict:
    """Process CPU per /predict in-process, real verdict vs a stand-in, alternating rounds."""
    import app.routes.predict as predict_module
    from app import create_app
    from model.nn.verdict import Verdict

    real = predict_module.decide

    def standin(outputs, fields):  # what /predict cost before the verdict: argmax, no geometry
        rows = np.atleast_2d(outputs)[:, :10]
        rows = rows / rows.sum(axis=1, keepdims=True)
        return [Verdict("digit", int(r.argmax()), float(r.max()), r) for r in rows]

    png = (REPO / "bench" / "payloads" / "canvas_7_chromium.png").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        client = create_app({"TESTING": True, "WEIGHTS_PATH": str(weights), "INSTANCE_PATH": tmp,
                             "PREDICT_LIMIT": "1000000/second"}).test_client()
        for _ in range(50):
            client.post("/predict", data=png, content_type="image/png")
        timings: dict[str, list[float]] = {"with verdict": [], "without": []}
        for _ in range(rounds):
            for name, fn in (("with verdict", real), ("without", standin)):
                predict_module.decide = fn
                start = time.process_time()
                for _ in range(requests):
                    assert client.post("/predict", data=png, content_type="image/png").status_code == 200
                timings[name].append((time.process_time() - start) / requests * 1e6)
        predict_module.decide = real
    with_v, without = statistics.median(timings["with verdict"]), statistics.median(timings["without"])
    return {"us_with": with_v, "us_without": without, "extra": with_v / without - 1, "rounds": timings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=REPO / "weights" / "mlp.npz")
    parser.add_argument("--per-family", type=int, default=40, help="held-out non-digits per family")
    parser.add_argument("--per-style", type=int, default=10, help="held-out stroke digits per style and pen")
    parser.add_argument("--mnist", type=int, default=10000, help="MNIST test digits to send (the first N)")
    parser.add_argument("--cpu-requests", type=int, default=400, help="/predict calls per CPU round (0: skip)")
    parser.add_argument("--svg", type=Path, default=REPO / "docs" / "reliability.svg")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = parser.parse_args()

    mnist = load_mnist(progress=False)
    digits = honest.held_out_digit_drawings(per_style=args.per_style)
    others = honest.held_out_nondigit_drawings(mnist.test_images, per_family=args.per_family)
    mnist_images = [Image.fromarray(img, "L") for img in mnist.test_images[:args.mnist]]

    with tempfile.TemporaryDirectory() as tmp:
        with LiveServer(Path(tmp) / "gunicorn.log", env={**NO_RATE_LIMITS, "DIGIT_CANVAS_WEIGHTS": str(args.weights)}) as server:
            with urllib.request.urlopen(server.url + "/api/model", timeout=30) as response:
                served = json.loads(response.read())
            temperature = float((served["metadata"].get("calibration") or {}).get("temperature", 1.0))
            start = time.perf_counter()
            drawn = digit_figures("drawn digits (held out)", answers(server, [d[3] for d in digits]),
                                  np.array([d[2] for d in digits]), temperature)
            mnist_fig = digit_figures("MNIST test", answers(server, mnist_images), mnist.test_labels[:args.mnist].astype(int),
                                      temperature)
            non = nondigit_figures(answers(server, [d[3] for d in others]), [d[0] for d in others],
                                   [d[1] for d in others])
            seconds = time.perf_counter() - start
    cpu = verdict_cpu(args.weights, args.cpu_requests) if args.cpu_requests else None

    print(f"served {served['version']} (T = {temperature:.3f}); {len(digits) + len(others) + len(mnist_images)} drawings "
          f"through POST /predict/batch in {seconds:.0f}s")
    print(f"\nnon-digits (held out), {non['n']} drawings: {non['not_a_digit']:.1%} answered not_a_digit")
    for kind, rate in non["by_kind"].items():
        print(f"  {kind:12s} {rate:6.1%}")
    for family, rate in non["by_family"].items():
        print(f"    {family:40s} {rate:6.1%}")
    for fig in (drawn, mnist_fig):
        print(f"\n{fig['set']}, {fig['n']}: accuracy {fig['accuracy']:.2%}, not_a_digit {fig['not_a_digit']:.2%}, "
              f"unsure {fig['unsure']:.2%}, ECE {fig['ece_before']:.2%} before calibration -> "
              f"{fig['ece_after']:.2%} after; misses {fig['misses']}")
    if cpu:
        print(f"\n/predict process CPU, in-process, median of {len(cpu['rounds']['without'])} rounds x "
              f"{args.cpu_requests}: {cpu['us_without']:.0f} us without the verdict, {cpu['us_with']:.0f} us with "
              f"(+{cpu['extra']:.1%})")
    args.svg.write_text(reliability_svg({
        "MNIST test": (mnist_fig["bins_before"], mnist_fig["bins_after"]),
        "drawn digits (held out)": (drawn["bins_before"], drawn["bins_after"]),
    }, temperature), encoding="utf-8")
    print(f"\nreliability diagram -> {args.svg.relative_to(REPO) if args.svg.is_relative_to(REPO) else args.svg}")
    if args.json:
        args.json.write_text(json.dumps({"model": served["version"], "temperature": temperature, "nondigits": non,
                                         "drawn": drawn, "mnist": mnist_fig, "cpu": cpu}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
