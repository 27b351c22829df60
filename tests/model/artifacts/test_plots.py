"""The project's own pictures: colour PNGs that Pillow reads back exactly, the small PNG reader,
heat-map colours, and SVG plots that parse as XML and hold one mark per datum."""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest
from PIL import Image

from model.artifacts.plots import (
    bars_svg,
    calibration_reports,
    card_figures,
    confusion_svg,
    heat_rgba,
    most_confused,
    overlay_rgb,
    reliability_svg,
    template_pngs,
)
from model.artifacts.png import PngError, decode_png, encode_png
from testkit.live_server import REPO

SVG = "{http://www.w3.org/2000/svg}"
CARD = json.loads((REPO / "weights" / "mlp.json").read_text())


@pytest.mark.parametrize("mode,shape", [("L", (28, 28)), ("RGB", (9, 13, 3)), ("RGBA", (28, 28, 4))])
def test_colour_pngs_round_trip_through_pillow_and_our_reader(mode: str, shape: tuple) -> None:
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    for level in (0, 1, 9):
        data = encode_png(image, level=level)
        decoded = Image.open(io.BytesIO(data))
        assert decoded.mode == mode
        np.testing.assert_array_equal(np.asarray(decoded), image)
        np.testing.assert_array_equal(decode_png(data), image)


def test_reader_undoes_every_png_filter() -> None:
    """Pillow's optimised PNGs of smooth images use the Sub, Up, Average and Paeth filters."""
    y, x = np.mgrid[0:28, 0:28]
    image = np.stack([(x * 9) % 256, (y * 7) % 256, ((x + y) * 5) % 256], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG", compress_level=9)
    data = buf.getvalue()
    np.testing.assert_array_equal(decode_png(data), image)
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    raw = zlib.decompress(data[start : start + length])
    filters = {raw[i * (28 * 3 + 1)] for i in range(28)}
    assert filters - {0}, "Pillow wrote only unfiltered rows: the filters were not exercised"
    np.testing.assert_array_equal(decode_png(png_with_every_filter(image)), image)
    with pytest.raises(PngError):
        decode_png(b"GIF89a")
    with pytest.raises(PngError):
        decode_png(encode_png(image)[:60])


def png_with_every_filter(image: np.ndarray) -> bytes:
    """An RGB PNG whose rows cycle through filter types 0-4 (None, Sub, Up, Average, Paeth)."""
    h, w, c = image.shape
    rows, prior = [], np.zeros(w * c, np.int32)
    for y in range(h):
        raw = image[y].reshape(-1).astype(np.int32)
        left = np.concatenate([np.zeros(c, np.int32), raw[:-c]])
        up_left = np.concatenate([np.zeros(c, np.int32), prior[:-c]])
        kind = y % 5
        if kind == 0:
            pred = np.zeros_like(raw)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = prior
        elif kind == 3:
            pred = (left + prior) // 2
        else:
            p = left + prior - up_left
            pa, pb, pc = abs(p - left), abs(p - prior), abs(p - up_left)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prior, up_left))
        rows.append(bytes([kind]) + ((raw - pred) & 0xFF).astype(np.uint8).tobytes())
        prior = raw
    plain = encode_png(image)
    start = plain.index(b"IDAT") - 4
    end = plain.index(b"IEND") - 4
    idat = zlib.compress(b"".join(rows))
    chunk = len(idat).to_bytes(4, "big") + b"IDAT" + idat + zlib.crc32(b"IDAT" + idat).to_bytes(4, "big")
    return plain[:start] + chunk + plain[end:]


def test_heat_map_colours_and_opacity() -> None:
    values = np.array([[1.0, -1.0], [0.25, 0.0]])
    rgba = heat_rgba(values)
    assert tuple(rgba[0, 0]) == (220, 38, 38, 255) and tuple(rgba[0, 1]) == (37, 99, 235, 255)
    assert rgba[1, 0, 3] == 128 and rgba[1, 1, 3] == 0  # sqrt-eased: a quarter shows at half opacity
    over = overlay_rgb(np.zeros((2, 2)), values)
    assert tuple(over[0, 0]) == (220, 38, 38) and over[1, 1, 0] == over[1, 1, 2]
    templates = np.stack([values, -values * 3])
    for png, sign in zip(template_pngs(templates), (1, -1)):
        rgb = np.asarray(Image.open(io.BytesIO(png)))
        assert tuple(rgb[0, 0]) == ((220, 38, 38) if sign > 0 else (37, 99, 235))  # each on its own scale
        assert tuple(rgb[1, 1]) == (255, 255, 255)


def test_card_figures_of_the_shipped_card() -> None:
    figures = card_figures(CARD)
    assert set(figures) == {"loss", "accuracy", "confusion", "per_class"}
    for svg in figures.values():
        ET.fromstring(svg)  # well-formed
    loss = ET.fromstring(figures["loss"])
    lines = loss.findall(f".//{SVG}polyline")
    assert [line.get("data-label") for line in lines] == ["training loss", "validation loss"]
    assert all(len(line.get("points").split()) == len(CARD["curves"]) for line in lines)
    cells = ET.fromstring(figures["confusion"]).findall(f".//{SVG}rect[@class='cell']")
    matrix = CARD["test"]["confusion_matrix"]
    assert len(cells) == len(matrix) ** 2  # 11 x 11 for the shipped model (its 11th output: not a digit)
    off_diagonal = max(c for i, row in enumerate(matrix) for j, c in enumerate(row) if i != j)
    assert most_confused(matrix)[0][2] == off_diagonal
    assert sum(c for _, _, c in most_confused(matrix, k=100)) == CARD["test"]["errors"]
    bars = ET.fromstring(figures["per_class"]).findall(f".//{SVG}rect[@class='bar']")
    widths = [float(b.get("width")) for b in bars]
    digits = CARD["test"]["per_class_accuracy"][:10]  # an 11th class ("not a digit") has no test image: null
    assert np.argmin(widths[:10]) == int(np.argmin(digits))


def test_reliability_diagram_once_the_card_has_calibration() -> None:
    bins = [{"low": i / 15, "high": (i + 1) / 15, "n": n, "accuracy": acc, "confidence": (i + 0.5) / 15}
            for i, (n, acc) in enumerate([(0, None)] * 10 + [(5, 0.6), (9, 0.8), (20, 0.9), (40, 0.95), (900, 0.99)])]
    card = {**CARD, "calibration": {"temperature": 1.3, "test": {"before": {"ece": 0.02, "bins": bins},
                                                                 "after": {"ece": 0.008, "bins": bins}}}}
    assert [label for label, _ in calibration_reports(card)] == ["test before", "test after"]
    figures = card_figures(card)
    assert {"reliability_test_before", "reliability_test_after"} <= set(figures)
    svg = ET.fromstring(figures["reliability_test_after"])
    assert len(svg.findall(f".//{SVG}rect[@class='bin']")) == 5  # empty bins are not drawn
    assert "ECE 0.80%" in figures["reliability_test_after"]
    ET.fromstring(reliability_svg([]))
    ET.fromstring(bars_svg([1.0, float("nan")], title="<&>"))
    ET.fromstring(confusion_svg([[1]]))
