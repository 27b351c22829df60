"""Number mode in real Chromium: a wide pad, a three-digit number written with the mouse, read
from the page (the number, a card per digit, a box per digit), one digit corrected to /feedback."""
from __future__ import annotations

import json

from playwright.sync_api import Browser, Page, Response, expect

from tests.browser.contexts import DESKTOP, PHONE, open_page
from testkit.browser_drawing import DIGITS, Stroke, draw_and_wait, draw_with_mouse, draw_with_touch
from testkit.live_server import LiveServer
from tests.browser.test_csp import RECORD_VIOLATIONS

ASPECT = 2.5  # the page's number pad: 5:2


def in_slot(strokes: list[Stroke], slot: int, slots: int = 3) -> list[Stroke]:
    """A digit drawn for the square pad, squeezed into one of `slots` side-by-side places of the wide pad."""
    width = 0.8 / slots
    return [[(0.1 + width * (slot + x), 0.1 + 0.8 * y) for x, y in stroke] for stroke in strokes]


def is_number(response: Response) -> bool:
    return response.url.endswith("/predict/number") and response.request.method == "POST"


def write_number(page: Page, digits: list[int], draw=draw_with_mouse) -> dict:
    """Writes the digits side by side; the answer to the last stroke, once the page shows it."""
    strokes = [stroke for slot, d in enumerate(digits) for stroke in in_slot(DIGITS[d], slot, len(digits))]
    response = draw_and_wait(page, strokes, draw=draw, answers=is_number)
    expect(page.locator("#result")).to_have_attribute("data-state", "result")
    return response.json()


def test_writing_a_three_digit_number(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(server.url + "/")
        page.get_by_label("Number").check()
        expect(page.locator("body")).to_have_attribute("data-mode", "number")
        pad = page.locator("#pad")
        box = pad.bounding_box()
        assert abs(box["width"] / box["height"] - ASPECT) < 0.02 and box["width"] >= 900, box
        expect(page.locator("#status")).to_have_text("Write a number to see what the network reads.")

        requests = []
        page.on("request", lambda r: requests.append(r) if r.url.endswith("/predict/number") else None)
        answer = write_number(page, [1, 7, 0])

        sent = json.loads(requests[-1].post_data)["image"]
        size = page.evaluate("""src => new Promise(ok => { const i = new Image();
            i.onload = () => ok([i.naturalWidth, i.naturalHeight]); i.src = src; })""", sent)
        assert size == [700, 280]
        assert answer["number"] == "170", answer
        expect(page.locator("#number")).to_have_text("170")
        expect(page.locator("#status")).to_have_text("It reads 170.")
        cards = page.locator(".digit-card")
        expect(cards).to_have_count(3)
        assert [cards.nth(i).locator(".card-digit").text_content() for i in range(3)] == ["1", "7", "0"]
        assert all(cards.nth(i).locator(".card-preview").evaluate("i => i.naturalWidth") == 28 for i in range(3))
        # The boxes sit over the strokes, left to right, inside the pad.
        boxes = page.locator(".digit-box")
        expect(boxes).to_have_count(3)
        rects = [boxes.nth(i).bounding_box() for i in range(3)]
        assert [r["x"] for r in rects] == sorted(r["x"] for r in rects)
        for i, rect in enumerate(rects):
            centre = (rect["x"] + rect["width"] / 2 - box["x"]) / box["width"]
            assert 0.1 + 0.8 / 3 * i < centre < 0.1 + 0.8 / 3 * (i + 1), (i, centre)
        # The single-digit answer and its bars are not shown in Number mode.
        expect(page.locator("#bars")).to_be_hidden()

        # Correcting the 7 sends that digit's part of the drawing to /feedback.
        with page.expect_response(lambda r: r.url.endswith("/feedback")) as stored:
            cards.nth(1).get_by_label("Correct digit 2").select_option("4")
        assert stored.value.status == 201
        posted = json.loads(stored.value.request.post_data)
        assert posted["label"] == 4 and posted["predicted"] == 7 and posted["model"] == answer["model"]
        width = page.evaluate("""src => new Promise(ok => { const i = new Image();
            i.onload = () => ok(i.naturalWidth); i.src = src; })""", posted["image"])
        assert width < 700 / 2, "the whole number was sent instead of one digit"
        expect(page.locator("#number-feedback-status")).to_have_text("Thanks! Digit 2 kept as a 4.")

        # Back to Digit mode: a square pad, the pad cleared, the digit view back.
        page.get_by_label("Digit", exact=True).check()
        box = pad.bounding_box()
        assert abs(box["width"] - box["height"]) <= 1
        expect(page.locator(".digit-box")).to_have_count(0)
        expect(page.locator("#status")).to_have_text("Draw a digit to see what the network thinks.")
        assert page.evaluate("window.cspViolations") == []
    finally:
        context.close()


def test_number_mode_on_a_phone_in_chinese(browser: Browser, server: LiveServer) -> None:
    with open_page(browser, server.url + "/", **{**PHONE, "locale": "zh-CN"}) as phone:
        phone.get_by_label("多位数").check()
        box = phone.locator("#pad").bounding_box()
        assert box["width"] >= 0.85 * 390 and abs(box["width"] / box["height"] - ASPECT) < 0.03, box
        answer = write_number(phone, [7, 1], draw=draw_with_touch)
        assert answer["number"] == "71", answer
        expect(phone.locator("#status")).to_have_text("读出的是 71。")
        expect(phone.locator(".digit-card")).to_have_count(2)


def test_number_mode_by_keyboard(page: Page) -> None:
    page.locator("#mode-digit").focus()
    page.keyboard.press("ArrowRight")  # radios: the arrow keys move the choice
    expect(page.locator("#mode-number")).to_be_checked()
    expect(page.locator("body")).to_have_attribute("data-mode", "number")
    expect(page.locator("#pad")).to_have_attribute("aria-label", "Drawing area for a number")

    write_number(page, [7, 1])
    expect(page.locator(".digit-box")).to_have_count(2)
    expect(page.locator("#mode-number")).to_be_focused()  # the shortcuts work from the switch too
    with page.expect_response(is_number) as again:
        page.keyboard.press("Control+z")  # undo the 1: the number is read again
    assert again.value.json()["number"] == "7"
    expect(page.locator("#number")).to_have_text("7")
    page.keyboard.press("Escape")  # clear
    expect(page.locator(".digit-box")).to_have_count(0)
    expect(page.locator("#status")).to_have_text("Write a number to see what the network reads.")
