"""What the page says when the server refuses the drawing or cannot be reached."""
import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.contexts import DESKTOP, open_page
from tests.browser.test_number_mode import in_slot
from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_mouse
from testkit.live_server import LiveServer

NOT_AN_IMAGE = json.dumps({"image": "data:image/png;base64,bm90IGFuIGltYWdl"})


@pytest.fixture
def page_on_own_server(browser: Browser, own_server: LiveServer) -> Iterator[Page]:
    with open_page(browser, own_server.url + "/", **DESKTOP) as page:
        yield page


def test_server_down_says_it_cannot_reach_the_server(page_on_own_server: Page, own_server: LiveServer) -> None:
    page = page_on_own_server
    assert draw_and_wait(page, DIGITS[1]).status == 200

    own_server.stop()
    page.locator("#clear").click()
    draw_with_mouse(page, DIGITS[7])

    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-text")).to_have_text("Cannot reach the server. Check the connection, then try again.")
    expect(page.locator("#result")).to_have_attribute("data-state", "error")
    assert page.locator("#digit").inner_text() == ""
    assert page.locator(".bar.winner").count() == 0
    expect(page.locator("#retry")).to_be_visible()


def test_number_mode_shows_the_same_errors_and_redraws_them_in_another_language(
        page_on_own_server: Page, own_server: LiveServer) -> None:
    page = page_on_own_server
    page.get_by_label("Number").check()
    own_server.stop()
    draw_with_mouse(page, in_slot(DIGITS[7], 0))

    expect(page.locator("#result")).to_have_attribute("data-state", "error")
    expect(page.locator("#error-text")).to_have_text("Cannot reach the server. Check the connection, then try again.")
    expect(page.locator("#status")).to_have_text("No prediction this time.")
    assert page.locator("#digit-cards li").count() == 0
    page.select_option("#lang", "zh")
    expect(page.locator("#error-text")).to_have_text("无法连接服务器。请检查网络后重试。")
    expect(page.locator("#status")).to_have_text("这次没有识别结果。")
    expect(page.locator("#result")).to_have_attribute("data-state", "error")


def test_server_error_message_is_shown(page: Page) -> None:
    # The real server judges a corrupted upload; the page must show its error.message.
    page.route("**/predict", lambda route: route.continue_(post_data=NOT_AN_IMAGE))

    response = draw_and_wait(page, DIGITS[1])

    assert 400 <= response.status < 500
    message = response.json()["error"]["message"]
    assert message
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-text")).to_have_text(f"The server could not read the drawing: {message}")
    expect(page.locator("#result")).to_have_attribute("data-state", "error")


def test_retry_after_an_error_predicts(page: Page) -> None:
    page.route("**/predict", lambda route: route.continue_(post_data=NOT_AN_IMAGE))
    draw_and_wait(page, DIGITS[1])
    expect(page.locator("#error")).to_be_visible()
    page.unroute("**/predict")

    with page.expect_response("**/predict") as answer:
        page.locator("#retry").click()

    assert answer.value.status == 200
    expect(page.locator("#result")).to_have_attribute("data-state", "result")
    expect(page.locator("#error")).to_be_hidden()
