"""Screenshots of the Why? panel and the /model page, for the docs and the README.

    python -m tests.browser.explain_screenshots [--out docs/screenshots]

Starts the real app under gunicorn (shipped weights) and drives the machine's Chromium, as
tests/browser/screenshots.py does: a desktop window (mouse) and a phone (touch), each drawing
a digit, opening Why? and asking "why not" another digit; then /model on both.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from testkit.chromium import launch
from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_mouse, draw_with_touch
from tests.browser.screenshots import SHOTS
from testkit.live_server import REPO, LiveServer

WHY_NOT = {"desktop": 1, "phone": 6}  # the digit each shot asks "why not ...?" about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp) / "gunicorn.log", workers=1) as server, \
            sync_playwright() as playwright:
        browser = launch(playwright)
        for name, options, digit, draw, _ in SHOTS:
            context = browser.new_context(locale="en-GB", color_scheme="light", **options)
            page = context.new_page()
            page.goto(server.url + "/")
            draw_and_wait(page, DIGITS[digit], draw=draw)
            toggle = page.locator("#why-toggle")
            toggle.tap() if draw is draw_with_touch else toggle.click()
            expect(page.locator("#why")).to_have_attribute("data-state", "shown")
            page.locator(f'.target-button[data-digit="{WHY_NOT[name]}"]').click()
            expect(page.locator("#why")).to_have_attribute("data-target", str(WHY_NOT[name]))
            expect(page.locator("#why")).to_have_attribute("data-state", "shown")
            page.wait_for_timeout(300)
            path = args.out / f"why-{name}.png"
            page.screenshot(path=path, full_page=True)
            print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
            page.goto(server.url + "/model")
            path = args.out / f"model-{name}.png"
            page.screenshot(path=path, full_page=True)
            print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
