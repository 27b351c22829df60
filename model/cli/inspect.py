"""``python -m model.cli.evaluate --inspect IMAGE``: why the network reads IMAGE as it does.

Prints what POST /explain answers, for a terminal: the logits and the softmax written out,
each hidden layer's strongest and most contributing units, the integrated gradients'
completeness, and the saliency as a 28x28 character map; writes the heat map over the image
as a PNG. IMAGE is a 28x28 8-bit PNG, white ink on black as MNIST (the preview /predict and
/explain answer, or the errors `--save-errors` writes), or ``mnist:N`` for test digit N.
Everything is model/nn/explain.py on the network itself; nothing here needs the web app.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from model.artifacts import weights_file
from model.artifacts.plots import enlarge, overlay_rgb
from model.artifacts.png import PngError, decode_png, encode_png
from model.artifacts.weights_file import ModelFileError
from model.nn.explain import DEFAULT_STEPS, MAX_STEPS, Explanation, explain
from model.nn.layers import softmax

SIDE = 28
SHADES_FOR, SHADES_AGAINST = " .:+#", " .:-="  # the terminal's heat map, by |value| / max


def add_inspect_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("inspect one image (--inspect)")
    g.add_argument("--inspect", metavar="IMAGE", help="explain the answer for a 28x28 PNG, or mnist:N (a test digit)")
    g.add_argument("--target", type=int, choices=range(10), metavar="DIGIT", help="explain this digit (default: the answer)")
    g.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"integrated-gradients steps, 0-{MAX_STEPS} "
                   f"(default {DEFAULT_STEPS})")
    g.add_argument("--heatmap", metavar="PNG", type=Path,
                   help="where to write the heat map (default: IMAGE's name + .heatmap.png, in the current folder)")


def load_image(spec: str, data_args: argparse.Namespace) -> tuple[np.ndarray, str, int | None]:
    """(784,) float32 in [0, 1], a name for it, and its label if known."""
    if spec.startswith("mnist:"):
        from model.training.options import load_data  # MNIST only when asked for

        index = int(spec.split(":", 1)[1])
        mnist = load_data(data_args)
        return mnist.test_images[index].reshape(-1).astype(np.float32) / 255, f"mnist_test_{index}", int(mnist.test_labels[index])
    pixels = decode_png(Path(spec).read_bytes())
    if pixels.ndim == 3:  # colour: luminance; alpha as coverage over black
        channels = pixels.shape[2]
        grey = (pixels[..., 0].astype(np.float32) if channels == 2
                else pixels[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
        pixels = grey * (pixels[..., -1] / 255.0) if channels in (2, 4) else grey
    if pixels.shape != (SIDE, SIDE):
        raise PngError(f"{spec} is {pixels.shape[1]}x{pixels.shape[0]}; give a 28x28 image (white ink on black, as "
                       "MNIST and the preview of /predict), or draw it on the page and use its Why? panel")
    return np.asarray(pixels, np.float32).reshape(-1) / 255, Path(spec).stem, None


def character_map(values: np.ndarray) -> list[str]:
    """28 lines of 28 characters: + and # for, - and = against, by strength."""
    field = values.reshape(SIDE, SIDE)
    peak = float(np.abs(field).max()) or 1.0
    levels = np.minimum((np.sqrt(np.abs(field) / peak) * len(SHADES_FOR)).astype(int), len(SHADES_FOR) - 1)
    return ["".join((SHADES_FOR if v >= 0 else SHADES_AGAINST)[k] for v, k in zip(row, lvl))
            for row, lvl in zip(field, levels)]


def report(e: Explanation, name: str, version: str, label: int | None) -> str:
    """The explanation as text (what the terminal shows)."""
    z = e.logits.astype(np.float64)
    p = softmax(z[None, :])[0]
    order = np.argsort(-z)
    exps = np.exp(z - z.max())
    lines = [f"image {name}, model {version}" + (f", label {label}" if label is not None else ""),
             f"answer {int(order[0])} ({p[order[0]]:.2%}); explaining {e.target}", "",
             "logits z and softmax p = e^(z - max) / sum over all digits:"]
    for d in order:
        mark = "  <- target" if d == e.target else ""
        lines.append(f"  {d}: z = {z[d]:8.3f}   e^(z - max) = {exps[d]:.3e}   p = {p[d]:7.2%}{mark}")
    lines.append(f"  sum of e^(z - max) = {exps.sum():.6f}")
    for layer in e.layers[:-1]:
        active = int(np.count_nonzero(layer.values > 0))
        top = ", ".join(f"#{u} {v:.2f}" for u, v in layer.top_units)
        lines += ["", f"{layer.name}: {active} of {len(layer.values)} units above 0; strongest: {top}"]
        kind = "weights" if layer.template_kind == "weights" else "input gradients"
        lines.append(f"  most contributing to logit {e.target} (activation x gradient; templates are their {kind}):")
        lines.append("  " + ", ".join(f"#{t.unit} {t.contribution:+.3f}" for t in layer.templates))
    lines += ["", f"gradient x input: sum {e.gradient_x_input.sum():+.3f} (logit {z[e.target]:.3f})"]
    if e.integrated_gradients is not None:
        lines.append(f"integrated gradients ({e.steps} steps from black): sum {e.integrated_gradients.sum():+.3f} = "
                     f"logit {z[e.target]:.3f} - logit of black {e.baseline_logit:.3f} "
                     f"{'+' if e.completeness_gap >= 0 else '-'} gap {abs(e.completeness_gap):.3f}")
    shown = e.integrated_gradients if e.integrated_gradients is not None else e.gradient_x_input
    lines += ["", f"saliency for {e.target} ('+' '#' for, '-' '=' against):"]
    lines += ["  |" + row + "|" for row in character_map(shown)]
    return "\n".join(lines)


def run_inspect(args: argparse.Namespace) -> int:
    """Explain one image; 2 with a message for a bad file or image."""
    if not 0 <= args.steps <= MAX_STEPS:
        print(f"error: --steps must be in 0..{MAX_STEPS}", file=sys.stderr)
        return 2
    try:
        model = weights_file.load(args.weights)
        x, name, label = load_image(args.inspect, args)
    except (ModelFileError, PngError, OSError, ValueError, IndexError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    e = explain(model, x, target=args.target, steps=args.steps)
    print(report(e, name, model.version, label))
    shown = e.integrated_gradients if e.integrated_gradients is not None else e.gradient_x_input
    out = args.heatmap or Path(f"{name}.heatmap.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode_png(enlarge(overlay_rgb(x.reshape(SIDE, SIDE), shown.reshape(SIDE, SIDE)), 10)))
    print(f"\nwrote the heat map over the image to {out} (280x280; red for {e.target}, blue against)")
    return 0
