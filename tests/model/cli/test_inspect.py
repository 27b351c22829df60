"""`python -m model.cli.evaluate --inspect IMAGE`, run for real as a subprocess on the shipped model."""
from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image

from model.artifacts import weights_file
from model.artifacts.png import encode_png
from model.nn.explain import explain
from testkit.live_server import WEIGHTS
from tests.model.cli.test_evaluate import run


def test_inspect_an_mnist_digit_prints_the_explanation_and_writes_the_heat_map(tmp_path, mnist) -> None:
    out = tmp_path / "seven.png"
    proc = run("model.cli.evaluate", str(WEIGHTS), "--inspect", "mnist:0", "--heatmap", str(out))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "label 7" in text and "answer 7" in text and "explaining 7" in text
    x = mnist.test_images[0].reshape(-1).astype(np.float32) / 255
    e = explain(weights_file.load(WEIGHTS), x)
    for d in range(10):  # every logit, as the network computes it
        assert re.search(rf"^  {d}: z = +{e.logits[d]:.3f}", text, re.M), d
    first = e.layers[0]
    assert f"#{first.top_units[0][0]} {first.top_units[0][1]:.2f}" in text
    assert f"#{first.templates[0].unit} {first.templates[0].contribution:+.3f}" in text
    assert f"integrated gradients (16 steps from black): sum {e.integrated_gradients.sum():+.3f}" in text
    rows = [line for line in text.splitlines() if line.startswith("  |")]
    assert len(rows) == 28 and all(len(r) == 32 for r in rows)
    heat = np.asarray(Image.open(out))
    assert heat.shape == (280, 280, 3)
    red = (heat[..., 0] > heat[..., 2] + 60)
    assert red.sum() > 1000


def test_inspect_a_28x28_png_for_another_target(tmp_path, mnist) -> None:
    image = tmp_path / "four.png"
    index = int(np.flatnonzero(mnist.test_labels == 4)[0])
    Image.fromarray(mnist.test_images[index]).convert("RGB").save(image)  # colour PNG: read as luminance
    proc = run("model.cli.evaluate", str(WEIGHTS), "--inspect", str(image), "--target", "9", "--steps", "0",
               "--heatmap", str(tmp_path / "out" / "h.png"))
    assert proc.returncode == 0, proc.stderr
    assert "answer 4" in proc.stdout and "explaining 9" in proc.stdout
    assert "integrated gradients" not in proc.stdout.split("saliency")[0]
    assert (tmp_path / "out" / "h.png").is_file()


def test_inspect_refuses_what_it_cannot_read(tmp_path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(encode_png(np.zeros((280, 280))))
    for spec, message in [(str(big), "give a 28x28 image"), (str(tmp_path / "missing.png"), "No such file"),
                          (str(WEIGHTS), "not a PNG")]:
        proc = run("model.cli.evaluate", str(WEIGHTS), "--inspect", spec)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    proc = run("model.cli.evaluate", str(WEIGHTS), "--inspect", "mnist:0", "--steps", "65")
    assert proc.returncode == 2 and "--steps" in proc.stderr
