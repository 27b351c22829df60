"""Screenshots of the page with a drawn digit and its answer, for the docs.

    python -m tests.browser.screenshots [--out docs/screenshots]

Starts the real app under gunicorn (shipped weights) and drives the machine's Chromium: a
desktop window (1280x800, mouse) and a phone (390x844, touch).
"""
from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from testkit.chromium import launch
from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_mouse, draw_with_touch
from testkit.live_server import REPO, LiveServer

SHOTS = [
    # name, context options, digit, how it is drawn, whole page or just the screen
    ("desktop", {"viewport": {"width": 1280, "height": 800}}, 7, draw_with_mouse, False),
    ("phone", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
               "has_touch": True}, 0, draw_with_touch, True),
]


def shot_pages(description: str) -> Iterator[tuple[str, Page, int, Callable, bool, LiveServer, Path]]:
    """Parse --out, start the app under gunicorn and Chromium, and yield one fresh page per SHOT:
    (name, page, digit, draw, full_page, server, out folder). The one session both screenshot scripts use."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp) / "gunicorn.log", workers=1) as server, \
            sync_playwright() as playwright:
        browser = launch(playwright)
        for name, options, digit, draw, full_page in SHOTS:
            context = browser.new_context(locale="en-GB", color_scheme="light", **options)
            page = context.new_page()
            page.goto(server.url + "/")
            yield name, page, digit, draw, full_page, server, args.out
            context.close()
        browser.close()


def shown_path(path: Path) -> Path:
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def main() -> None:
    for name, page, digit, draw, full_page, _, out in shot_pages(__doc__.splitlines()[0]):
        prediction = draw_and_wait(page, DIGITS[digit], draw=draw).json()
        page.wait_for_timeout(400)  # let the bars finish their short transition
        path = out / f"{name}.png"
        page.screenshot(path=path, full_page=full_page)
        print(f"{shown_path(path)}: drew {digit}, "
              f"shown {prediction['digit']} ({prediction['probabilities'][prediction['digit']]:.0%})")

if __name__ == "__main__":
    main()
