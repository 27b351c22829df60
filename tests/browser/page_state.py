"""Reading what the page shows: the bars, the answer, the pixels of the pad."""
from __future__ import annotations

import math
import re

from playwright.sync_api import Page

UNSURE_BELOW = 0.6  # as in static/js/results.js
PERCENT = re.compile(r"^(<1|\d{1,3})%$")


def js_round(x: float) -> int:
    """Math.round, which the page uses (Python's round() rounds halves to even)."""
    return math.floor(x + 0.5)


def read_bars(page: Page) -> list[dict]:
    return page.eval_on_selector_all(".bar", """bars => bars.map(bar => ({
        digit: Number(bar.dataset.digit),
        value: Number(bar.getAttribute('aria-valuenow')),
        text: bar.querySelector('.bar-value').textContent.trim(),
        winner: bar.classList.contains('winner'),
        visible: bar.querySelector('.bar-fill').getBoundingClientRect().width > 0,
    }))""")


def ink_pixels(page: Page) -> int:
    """How many pixels of the pad's backing store are not white paper."""
    return page.eval_on_selector("#pad", """canvas => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) ink++;
        return ink;
    }""")


def is_inked(page: Page, x: float, y: float) -> bool:
    """Whether the pad is dark at (x, y), given as fractions of its side."""
    return page.eval_on_selector("#pad", """(canvas, [x, y]) => {
        const [r] = canvas.getContext('2d').getImageData(Math.floor(x * canvas.width), Math.floor(y * canvas.height), 1, 1).data;
        return r < 128;
    }""", [x, y])


def pad_pixels(page: Page) -> str:
    """The pad's backing store as a PNG data URL, to compare two drawings pixel for pixel."""
    return page.eval_on_selector("#pad", "canvas => canvas.toDataURL('image/png')")


def assert_shows(page: Page, prediction: dict) -> None:
    """The page shows this server answer: the digit, ten bars that agree with the probabilities
    and sum to 100 %, one highlighted winner, and the 28x28 preview."""
    assert page.locator("#result").get_attribute("data-state") == "result"
    digit = prediction["digit"]
    verdict = prediction.get("verdict")
    if verdict is None:  # an answer without a verdict: the page's own threshold decides
        verdict = "unsure" if prediction["probabilities"][digit] < UNSURE_BELOW else "digit"
    assert page.locator("#result").get_attribute("data-verdict") == verdict
    if verdict == "not_a_digit":  # the words instead of a number
        assert page.locator("#digit").inner_text() == "" and not page.locator("#digit").is_visible()
        assert page.locator("#not-a-digit").is_visible() and not page.locator("#unsure").is_visible()
    else:
        assert page.locator("#digit").inner_text() == str(digit)
    bars = read_bars(page)
    assert [bar["digit"] for bar in bars] == list(range(10))
    for bar, p in zip(bars, prediction["probabilities"]):
        assert PERCENT.match(bar["text"]), bar
        assert abs(bar["value"] - 100 * p) <= 0.051, (bar, p)
        if bar["text"] != "<1%":
            assert int(bar["text"][:-1]) == js_round(100 * p), (bar, p)
    assert abs(sum(bar["value"] for bar in bars) - 100) < 0.6
    assert [bar["digit"] for bar in bars if bar["winner"]] == [digit]
    assert max(bars, key=lambda bar: bar["value"])["digit"] == digit
    preview = page.locator("#preview")
    assert preview.is_visible()
    assert preview.get_attribute("src").startswith("data:image/")
    assert preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [28, 28]
    if verdict != "not_a_digit":
        confidence = prediction["probabilities"][digit]
        assert f"{js_round(100 * confidence)}%" in page.locator("#confidence").inner_text()  # "45% sure", "把握 45%"
        assert page.locator("#unsure").is_visible() == (verdict == "unsure")
