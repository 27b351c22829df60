"""Screenshots of the Why? panel and the /model page, for the docs and the README.

    python -m tests.browser.explain_screenshots [--out docs/screenshots]

Starts the real app under gunicorn (shipped weights) and drives the machine's Chromium, as
tests/browser/screenshots.py does: a desktop window (mouse) and a phone (touch), each drawing
a digit, opening Why? and asking "why not" another digit; then /model on both.
"""
from __future__ import annotations

from playwright.sync_api import expect

from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_touch
from tests.browser.screenshots import shot_pages, shown_path

WHY_NOT = {"desktop": 1, "phone": 6}  # the digit each shot asks "why not ...?" about


def main() -> None:
    for name, page, digit, draw, _, server, out in shot_pages(__doc__.splitlines()[0]):
        draw_and_wait(page, DIGITS[digit], draw=draw)
        toggle = page.locator("#why-toggle")
        toggle.tap() if draw is draw_with_touch else toggle.click()
        expect(page.locator("#why")).to_have_attribute("data-state", "shown")
        page.locator(f'.target-button[data-digit="{WHY_NOT[name]}"]').click()
        expect(page.locator("#why")).to_have_attribute("data-target", str(WHY_NOT[name]))
        expect(page.locator("#why")).to_have_attribute("data-state", "shown")
        page.wait_for_timeout(300)
        path = out / f"why-{name}.png"
        page.screenshot(path=path, full_page=True)
        print(shown_path(path))
        page.goto(server.url + "/model")
        path = out / f"model-{name}.png"
        page.screenshot(path=path, full_page=True)
        print(shown_path(path))

if __name__ == "__main__":
    main()
