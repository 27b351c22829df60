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


def show(page: Page, digit: int, probabilities: list[float]) -> dict:
    prediction = {"digit": digit, "probabilities": probabilities, "confidence": probabilities[digit],
                  "preview": PIXEL, "model": "test"}
    page.evaluate(SHOW, prediction)
    assert_shows(page, prediction)
    return prediction


def test_an_unsure_answer_is_said_plainly(page: Page) -> None:
    show(page, 4, [0.01, 0.02, 0.01, 0.02, 0.45, 0.03, 0.01, 0.05, 0.05, 0.35])

    expect(page.locator("#unsure")).to_have_text("Unsure")
    expect(page.locator("#status")).to_have_text("Not sure. Best guess 4 (45%), but it could be 9 (35%).")
    expect(page.locator("#result")).to_have_class("panel result-panel is-unsure")


def test_a_sure_answer(page: Page) -> None:
    show(page, 8, [0.0, 0.0, 0.001, 0.004, 0.0, 0.0, 0.0, 0.0, 0.995, 0.0])

    expect(page.locator("#status")).to_have_text("Most likely 8, 100% sure.")
    assert page.locator(".bar-value").all_inner_texts() == ["0%", "0%", "<1%", "<1%", "0%", "0%", "0%", "0%", "100%", "0%"]
    expect(page.locator("#result")).to_have_class("panel result-panel")
