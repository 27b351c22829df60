"""Drawings that are not digits, drawn with the mouse: the page says so, and the user can say so too."""
from playwright.sync_api import Page, expect

from app.feedback.store import NOT_A_DIGIT
from testkit.browser_drawing import draw_and_wait
from tests.browser.page_state import assert_shows
from tests.browser.test_feedback import feedback_page, instance, stored_rows  # noqa: F401  (fixtures)

LINE_ACROSS = [[(0.06, 0.52), (0.94, 0.47)]]
TRIANGLE = [[(0.5, 0.15), (0.82, 0.8), (0.18, 0.8), (0.5, 0.15)]]
LETTER_A = [[(0.25, 0.85), (0.5, 0.15), (0.75, 0.85)], [(0.35, 0.6), (0.65, 0.6)]]


def test_a_line_across_the_pad_is_not_a_digit_and_n_stores_it_as_one(feedback_page: Page, instance):  # noqa: F811
    page = feedback_page
    response = draw_and_wait(page, LINE_ACROSS)
    prediction = response.json()
    assert prediction["verdict"] == "not_a_digit", prediction
    assert_shows(page, prediction)
    expect(page.locator("#status")).to_have_text("That doesn’t look like a digit. Draw one digit, 0–9.")
    expect(page.locator("#feedback-not-digit")).to_have_class("button not-digit-button is-answer")

    with page.expect_response(lambda r: r.url.endswith("/feedback")) as posted:
        page.keyboard.press("n")
    assert posted.value.status == 201
    assert posted.value.request.post_data_json["label"] == "not_a_digit"
    expect(page.locator("#feedback-status")).to_have_text("Thanks! Kept as “not a digit”: the network will learn from it.")
    [row] = stored_rows(instance)
    assert row.label == NOT_A_DIGIT and row.predicted == prediction["digit"]


def test_a_triangle_and_a_letter_are_not_digits(page: Page) -> None:
    for strokes in (TRIANGLE, LETTER_A):
        prediction = draw_and_wait(page, strokes).json()
        assert prediction["verdict"] == "not_a_digit", prediction
        assert_shows(page, prediction)
        expect(page.locator("#not-a-digit")).to_be_visible()
        page.locator("#clear").click()
