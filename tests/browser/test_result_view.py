"""The result view's own rules, fed directly: the model rarely gives such answers on demand."""
from playwright.sync_api import Page, expect

from tests.browser.page_state import assert_shows

SHOW = """async (prediction) => {
    const { ResultView } = await import('/static/js/results.js');
    const { translator } = await import('/static/js/i18n.js');
    new ResultView(document.getElementById('result'), translator(document.documentElement.lang === 'en' ? 'en' : 'zh'))
        .showResult(prediction);
}"""
PIXEL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAEElEQVR4nGNgGAWjYBQQAwADLAABPwpG8wAAAABJRU5ErkJggg=="


def show(page: Page, digit: int, probabilities: list[float], **verdict) -> dict:
    prediction = {"digit": digit, "probabilities": probabilities, "confidence": probabilities[digit],
                  "preview": PIXEL, "model": "test", **verdict}
    page.evaluate(SHOW, prediction)
    assert_shows(page, prediction)
    return prediction


def test_an_unsure_answer_is_said_plainly(page: Page) -> None:
    show(page, 4, [0.01, 0.02, 0.01, 0.02, 0.45, 0.03, 0.01, 0.05, 0.05, 0.35])

    expect(page.locator("#unsure")).to_have_text("Unsure")
    expect(page.locator("#status")).to_have_text("Not sure: it could be 4 or 9. Best guess 4 (45%).")
    expect(page.locator("#result")).to_have_class("panel result-panel is-unsure")


def test_the_servers_unsure_verdict_names_its_candidates(page: Page) -> None:
    show(page, 4, [0.01, 0.02, 0.01, 0.02, 0.45, 0.03, 0.01, 0.05, 0.05, 0.35], verdict="unsure",
         candidates=[4, 9, 7])

    expect(page.locator("#status")).to_have_text("Not sure: it could be 4 or 9 or 7. Best guess 4 (45%).")
    page.select_option("#lang", "zh")
    show(page, 4, [0.01, 0.02, 0.01, 0.02, 0.45, 0.03, 0.01, 0.05, 0.05, 0.35], verdict="unsure",
         candidates=[4, 9, 7])
    expect(page.locator("#status")).to_have_text("不太确定：可能是 4 或 9 或 7。最可能是 4（45%）。")


def test_not_a_digit_shows_words_instead_of_a_number_in_both_languages(page: Page) -> None:
    show(page, 4, [0.01, 0.02, 0.01, 0.02, 0.85, 0.03, 0.01, 0.03, 0.01, 0.01], verdict="not_a_digit")

    expect(page.locator("#status")).to_have_text("That doesn’t look like a digit. Draw one digit, 0–9.")
    expect(page.locator("#not-a-digit")).to_have_text("Not a digit")
    expect(page.locator("#digit")).to_be_hidden()
    expect(page.locator("#result")).to_have_class("panel result-panel is-not-digit")
    page.select_option("#lang", "zh")
    show(page, 4, [0.01, 0.02, 0.01, 0.02, 0.85, 0.03, 0.01, 0.03, 0.01, 0.01], verdict="not_a_digit")
    expect(page.locator("#status")).to_have_text("这看起来不像数字。请写一个数字（0–9）。")
    expect(page.locator("#not-a-digit")).to_have_text("不是数字")


def test_a_sure_answer(page: Page) -> None:
    show(page, 8, [0.0, 0.0, 0.001, 0.004, 0.0, 0.0, 0.0, 0.0, 0.995, 0.0])

    expect(page.locator("#status")).to_have_text("Most likely 8, 100% sure.")
    assert page.locator(".bar-value").all_inner_texts() == ["0%", "0%", "<1%", "<1%", "0%", "0%", "0%", "0%", "100%", "0%"]
    expect(page.locator("#result")).to_have_class("panel result-panel")
