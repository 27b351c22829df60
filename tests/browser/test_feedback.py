"""Confirming or correcting an answer on the page stores the drawing in the feedback database."""
import base64
import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from app.feedback.store import FeedbackStore
from tests.browser.contexts import DESKTOP, open_page
from testkit.browser_drawing import DIGITS, draw_and_wait
from testkit.live_server import LiveServer


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


@pytest.fixture
def feedback_page(browser: Browser, instance, tmp_path) -> Iterator[Page]:
    with LiveServer(tmp_path / "gunicorn.log", env={"DIGIT_CANVAS_INSTANCE": str(instance)}) as live:
        with open_page(browser, live.url + "/", **DESKTOP) as page:
            page.feedback_posts = []
            page.on("request", lambda r: page.feedback_posts.append(r)
                    if r.url.endswith("/feedback") and r.method == "POST" else None)
            yield page


def stored_rows(instance):
    return list(FeedbackStore.in_folder(instance).rows())


def data_url_image(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def preview_pixels(prediction: dict) -> np.ndarray:
    return np.asarray(data_url_image(prediction["preview"]))


def test_clicking_the_right_digit_corrects_the_answer_and_stores_the_drawing(feedback_page: Page, instance):
    page = feedback_page
    expect(page.locator("#feedback")).to_be_hidden()  # nothing to confirm before an answer
    predicted = draw_and_wait(page, DIGITS[7])
    prediction = predicted.json()
    expect(page.locator("#feedback")).to_be_visible()
    answer = page.locator(f'.digit-button[data-digit="{prediction["digit"]}"]')
    expect(answer).to_have_class("button digit-button is-answer")

    label = (prediction["digit"] + 3) % 10  # the user says it is another digit
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as posted:
        page.locator(f'.digit-button[data-digit="{label}"]').click()
    assert posted.value.status == 201
    expect(page.locator("#feedback-status")).to_have_text(f"Thanks! Kept as a {label}: the network will learn from it.")
    expect(page.locator(f'.digit-button[data-digit="{label}"]')).to_have_attribute("aria-pressed", "true")

    page.keyboard.press(str(prediction["digit"]))  # one answer per drawing: nothing more is sent
    page.locator(f'.digit-button[data-digit="{(label + 1) % 10}"]').dispatch_event("click")
    [row] = stored_rows(instance)
    assert len(page.feedback_posts) == 1
    assert (row.label, row.predicted, row.model_version) == (label, prediction["digit"], prediction["model"])
    assert row.confidence == pytest.approx(prediction["confidence"])
    np.testing.assert_array_equal(row.seen, preview_pixels(prediction))  # what the model saw
    sent = posted.value.request.post_data_json
    assert sent["image"] == predicted.request.post_data_json["image"]  # the drawing that was answered
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(row.original)).convert("RGBA")),
                                  np.asarray(data_url_image(sent["image"]).convert("RGBA")))  # the drawing itself

    # A new stroke is a new drawing: the question goes away until its answer comes.
    draw_and_wait(page, [[(0.80, 0.55), (0.90, 0.55)]])
    expect(page.locator("#feedback")).to_be_visible()
    expect(page.locator("#feedback-status")).to_have_text("")
    page.locator("#clear").click()
    expect(page.locator("#feedback")).to_be_hidden()
    page.keyboard.press("4")
    assert len(page.feedback_posts) == 1 and len(stored_rows(instance)) == 1


def test_one_key_press_confirms_the_answer_in_chinese(feedback_page: Page, instance):
    page = feedback_page
    page.select_option("#lang", "zh")
    expect(page.locator("#feedback-question")).to_have_text("你写的是哪个数字？")
    prediction = draw_and_wait(page, DIGITS[1]).json()
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as posted:
        page.keyboard.press(str(prediction["digit"]))
    assert posted.value.status == 201
    expect(page.locator("#feedback-status")).to_have_text(f"谢谢！已记录为 {prediction['digit']}，与识别结果一致。")
    [row] = stored_rows(instance)
    assert row.label == row.predicted == prediction["digit"]


def test_a_refused_feedback_says_why_and_may_be_sent_again(feedback_page: Page, instance):
    page = feedback_page
    refusing = [True]

    def refuse_once(route) -> None:
        if not refusing[0]:
            return route.continue_()
        return route.fulfill(
            status=429, content_type="application/json",
            body='{"error": {"code": "too_many_requests", "message": "too much feedback from one client"}}')

    # Routed before drawing, not just before the key press: a route added to a page that is
    # already open can miss a request made right after it (seen once in CI under load).
    page.route("**/feedback", refuse_once)
    prediction = draw_and_wait(page, DIGITS[0]).json()
    page.keyboard.press("6")
    expect(page.locator("#feedback-status")).to_have_text("Not saved: too much feedback from one client")
    refusing[0] = False
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as posted:
        page.keyboard.press("6")
    assert posted.value.status == 201
    [row] = stored_rows(instance)
    assert row.label == 6 and row.predicted == prediction["digit"]
