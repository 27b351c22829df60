"""English and Simplified Chinese: chosen from the browser, switchable, remembered."""
from playwright.sync_api import Browser, Page, expect

from tests.browser.contexts import DESKTOP, open_page
from testkit.browser_drawing import DIGITS, draw_and_wait
from testkit.live_server import LiveServer


def test_switching_language_changes_the_text_and_is_remembered(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#clear")).to_contain_text("Clear")
    draw_and_wait(page, DIGITS[1])
    expect(page.locator("#status")).to_contain_text("1")

    page.locator("#lang").select_option("zh")

    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#clear")).to_contain_text("清除")
    expect(page.locator("#undo")).to_contain_text("撤销")
    expect(page.locator("h1")).to_have_text("数字画板")
    assert page.title() == "数字画板"
    # The answer already shown is re-worded, not lost.
    expect(page.locator("#status")).to_contain_text("是 1")
    expect(page.locator("#pad")).to_have_attribute("aria-label", "书写一个数字的区域")
    expect(page.locator('.bar[data-digit="1"]')).to_have_attribute("aria-label", "数字 1")

    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#lang")).to_have_value("zh")
    expect(page.locator("#status")).to_have_text("写一个数字，看看神经网络认为它是几。")


def test_default_language_follows_the_browser(browser: Browser, server: LiveServer) -> None:
    with open_page(browser, server.url + "/", **{**DESKTOP, "locale": "zh-CN"}) as page:
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        expect(page.locator("#lang")).to_have_value("zh")
        expect(page.locator("#clear")).to_contain_text("清除")
