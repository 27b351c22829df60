"""Drawing real strokes gives the model's answer on the page, with mouse and with touch."""
import pytest
from playwright.sync_api import Page

from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_touch
from tests.browser.page_state import assert_shows, is_inked


@pytest.mark.parametrize("digit", [1, 7, 0])
def test_mouse_drawn_digit_is_recognised(page: Page, digit: int) -> None:
    response = draw_and_wait(page, DIGITS[digit])

    assert response.status == 200
    prediction = response.json()
    assert_shows(page, prediction)
    assert prediction["digit"] == digit, prediction["probabilities"]


def test_touch_drawing_on_a_phone(phone: Page) -> None:
    pad = phone.locator("#pad")
    box = pad.bounding_box()
    # Sized to the screen, and a backing store at the device's pixel density (sharp strokes).
    assert 300 <= box["width"] <= 390 and box["width"] == pytest.approx(box["height"], abs=1)
    assert pad.evaluate("c => Math.abs(c.width - c.clientWidth * devicePixelRatio) <= 2 && devicePixelRatio === 3")
    phone.evaluate("""() => {
        window.seenPointerTypes = [];
        document.getElementById('pad').addEventListener('pointerdown', e => seenPointerTypes.push(e.pointerType));
    }""")

    response = draw_and_wait(phone, DIGITS[1], draw=draw_with_touch)

    pointer_types = phone.evaluate("window.seenPointerTypes")
    assert pointer_types == ["touch"]
    assert phone.evaluate("window.scrollY") == 0, "drawing scrolled the page"
    # The whole stroke was drawn: the browser did not take the finger over for scrolling.
    (x0, y0), (x1, y1) = DIGITS[1][0]
    assert is_inked(phone, x0, y0) and is_inked(phone, (x0 + x1) / 2, (y0 + y1) / 2) and is_inked(phone, x1, y1)
    prediction = response.json()
    assert_shows(phone, prediction)
    assert prediction["digit"] == 1, prediction["probabilities"]
    # The answer is on screen below the pad without scrolling.
    assert phone.locator("#digit").bounding_box()["y"] + 40 < 844
