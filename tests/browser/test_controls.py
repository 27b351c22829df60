"""Clear, Undo and their keyboard shortcuts; answers to superseded drawings never show."""
import contextlib

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_mouse, is_predict
from tests.browser.page_state import assert_shows, ink_pixels, pad_pixels, read_bars

TOP_BAR = [[(0.30, 0.18), (0.52, 0.16)]]  # turns the "1" into a "7"-like shape


def assert_empty(page: Page) -> None:
    expect(page.locator("#result")).to_have_attribute("data-state", "empty")
    assert page.locator("#digit").inner_text() == ""
    assert all(bar["value"] == 0 and not bar["winner"] and bar["text"] == "–" for bar in read_bars(page))
    assert page.locator("#preview").is_hidden()
    assert page.locator("#pad").get_attribute("data-strokes") == "0"
    assert ink_pixels(page) == 0


def test_empty_state_before_the_first_stroke(page: Page) -> None:
    assert_empty(page)
    expect(page.locator("#status")).to_have_text("Draw a digit to see what the network thinks.")
    expect(page.locator("#undo")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#clear")).to_have_attribute("aria-disabled", "true")


def test_clear_empties_the_pad_and_the_result(page: Page) -> None:
    draw_and_wait(page, DIGITS[7])
    assert ink_pixels(page) > 0

    page.locator("#clear").click()

    assert_empty(page)


def test_undo_removes_the_last_stroke_and_predicts_again(page: Page) -> None:
    first = draw_and_wait(page, DIGITS[1]).json()
    one_stroke = pad_pixels(page)
    draw_and_wait(page, TOP_BAR)
    assert page.locator("#pad").get_attribute("data-strokes") == "2"
    assert pad_pixels(page) != one_stroke

    with page.expect_response(is_predict) as again:
        page.locator("#undo").click()
    expect(page.locator("#result")).to_have_attribute("data-state", "result")

    assert page.locator("#pad").get_attribute("data-strokes") == "1"
    assert pad_pixels(page) == one_stroke  # redrawn exactly from the stroke history
    assert again.value.json()["probabilities"] == first["probabilities"]  # the same image was sent
    assert_shows(page, first)


def test_undo_of_the_only_stroke_returns_to_the_empty_state(page: Page) -> None:
    draw_and_wait(page, DIGITS[1])
    page.locator("#undo").click()
    assert_empty(page)


def test_keyboard_shortcuts(page: Page) -> None:
    draw_and_wait(page, DIGITS[1])
    draw_and_wait(page, TOP_BAR)
    page.keyboard.press("Control+z")
    expect(page.locator("#pad")).to_have_attribute("data-strokes", "1")
    expect(page.locator("#result")).to_have_attribute("data-state", "result")
    page.keyboard.press("Escape")
    assert_empty(page)
    draw_and_wait(page, DIGITS[7])
    page.keyboard.press("c")
    assert_empty(page)
    # The shortcuts are written on the buttons.
    expect(page.locator("#undo .shortcut")).to_have_text("Ctrl+Z")
    expect(page.locator("#clear .shortcut")).to_have_text("C / Esc")


def test_an_answer_that_arrives_after_clear_is_ignored(page: Page) -> None:
    with page.expect_request(is_predict) as sent:
        draw_with_mouse(page, DIGITS[7])
    page.locator("#clear").click()  # while the request is in flight, or just answered
    sent.value.response()  # until it is answered or aborted
    page.wait_for_timeout(300)  # room for a stale answer to (wrongly) show up
    assert_empty(page)


def test_a_stroke_released_outside_the_pad_still_ends_and_predicts(page: Page) -> None:
    box = page.locator("#pad").bounding_box()
    x = box["x"] + box["width"] / 2
    with page.expect_response(is_predict) as answer:
        page.mouse.move(x, box["y"] + box["height"] * 0.2)
        page.mouse.down()
        page.mouse.move(x, box["y"] + box["height"] * 0.8, steps=15)
        page.mouse.move(x, box["y"] + box["height"] + 60, steps=5)  # off the pad, button still down
        page.mouse.up()

    assert answer.value.status == 200
    expect(page.locator("#result")).to_have_attribute("data-state", "result")
    assert page.locator("#pad").get_attribute("data-strokes") == "1"
    assert_shows(page, answer.value.json())


def test_a_newer_stroke_supersedes_a_pending_request(page: Page) -> None:
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # the server will not see this one until later

    page.route("**/predict", hold_the_first)
    with page.expect_request(is_predict) as first:
        draw_with_mouse(page, DIGITS[1])
    latest = draw_and_wait(page, TOP_BAR)
    assert first.value.failure, "the superseded request was not aborted"
    with contextlib.suppress(PlaywrightError):
        held[0].continue_()  # too late: its fetch was aborted
    page.wait_for_timeout(300)  # room for a stale answer to (wrongly) show up

    assert_shows(page, latest.json())
    assert page.locator("#pad").get_attribute("data-strokes") == "2"


def test_a_dot_is_not_sent_and_the_page_asks_for_a_whole_digit(page: Page) -> None:
    """A tap (or a dot) would be named a digit with high confidence: the page asks for more instead."""
    sent = []
    page.on("request", lambda request: sent.append(request) if is_predict(request) else None)
    box = page.locator("#pad").bounding_box()
    page.mouse.click(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])  # a tap
    draw_with_mouse(page, [[(0.50, 0.52), (0.54, 0.55)]])  # and a short dab beside it: still a dot

    expect(page.locator("#result")).to_have_attribute("data-state", "too-small")
    expect(page.locator("#status")).to_have_text("That is only a dot. Draw a whole digit, 0–9.")
    assert page.locator("#pad").get_attribute("data-strokes") == "2"
    assert page.locator("#digit").inner_text() == ""

    draw_and_wait(page, DIGITS[7])  # the dots and the 7 together are a digit: sent
    expect(page.locator("#result")).to_have_attribute("data-state", "result")
    assert len(sent) == 1

    page.locator("#undo").click()  # back to the dots: nothing is sent, the request is asked again
    expect(page.locator("#result")).to_have_attribute("data-state", "too-small")
    page.wait_for_timeout(500)  # a prediction would be scheduled within this time
    assert len(sent) == 1
