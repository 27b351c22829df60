"""Capture what the page really sends: draw a 7 with the mouse on the served page in Chromium
and save the PNG of the /predict request the page makes (the request body is a JSON data URL).

    python -m bench.browser_payload [--out bench/payloads/canvas_7_chromium.png]

bench/request_speed.py uses that file as its default payload: Chromium's canvas export (every
row PNG-filtered "Up", a fast zlib level) decodes in about half the time of Pillow's default
PNG of the same drawing, so a payload made by Pillow would measure a different request.
"""
from __future__ import annotations

import argparse
import base64
import json
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from playwright.sync_api import sync_playwright  # noqa: E402

from testkit.chromium import launch  # noqa: E402
from testkit.browser_drawing import DIGITS, draw_with_mouse, is_predict  # noqa: E402
from testkit.live_server import LiveServer  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "payloads" / "canvas_7_chromium.png"


def capture(out: Path) -> bytes:
    sent: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp) / "gunicorn.log", workers=1) as server, \
            sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            page.on("request", lambda request: sent.append(request.post_data_buffer) if is_predict(request) else None)
            page.goto(server.url)
            with page.expect_response(is_predict):
                draw_with_mouse(page, DIGITS[7])
        finally:
            browser.close()
    data_url = json.loads(sent[-1])["image"]
    png = base64.b64decode(data_url.split(",", 1)[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    png = capture(args.out)
    print(f"wrote {args.out} ({len(png)} bytes)")


if __name__ == "__main__":
    main()
