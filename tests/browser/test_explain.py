"""The "Why?" panel and the /model page in real Chromium, against the real server (gunicorn).

Draw, open Why?, see the heat maps (red and blue pixels on both canvases) and a strip per
hidden layer with its templates; click another bar and the explained digit changes; the
panel follows the language and fits a phone; /model shows the curves and the confusion
matrix; no Content-Security-Policy rule is broken on the way.
"""
from __future__ import annotations

import json

from playwright.sync_api import Browser, Page, expect

from tests.browser.contexts import DESKTOP, PHONE
from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_touch
from tests.browser.test_csp import RECORD_VIOLATIONS
from testkit.live_server import WEIGHTS, LiveServer

COLOURED = """canvas => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let red = 0, blue = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i] > data[i + 2] + 60 && data[i] > data[i + 1] + 60) red++;
        if (data[i + 2] > data[i] + 60) blue++;
    }
    return {red, blue, width: canvas.width};
}"""


def is_explain(response) -> bool:
    return response.url.endswith("/explain") and response.request.method == "POST"


def open_why(page: Page) -> dict:
    with page.expect_response(is_explain) as answer:
        page.locator("#why-toggle").click()
    expect(page.locator("#why")).to_have_attribute("data-state", "shown")
    return answer.value.json()


def test_why_shows_heat_maps_layers_and_switches_target(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(server.url + "/")
        expect(page.locator("#why-toggle")).to_be_disabled()
        draw_and_wait(page, DIGITS[7])
        expect(page.locator("#digit")).to_have_text("7")
        body = open_why(page)
        assert body["target"] == 7
        why = page.locator("#why")
        expect(why).to_be_visible()
        expect(why).to_have_attribute("data-target", "7")
        expect(page.locator("#why-status")).to_contain_text("Why 7")
        for canvas in ("#why-preview", "#why-strokes"):
            colours = page.locator(canvas).evaluate(COLOURED)
            assert colours["red"] > 50, (canvas, colours)
        # a strip per hidden layer, each with its strongest units' templates, all loaded
        strips = page.locator(".layer-strip")
        expect(strips).to_have_count(2)
        expect(strips.nth(0).locator("h4")).to_contain_text("of 800 units")
        loaded = page.eval_on_selector_all(".templates img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
        assert loaded == [28] * 12
        grid = strips.nth(0).locator("canvas.layer-grid")
        assert grid.evaluate("c => [c.width, c.height]") == [240, 120]
        # logits and softmax written out, the target's row marked
        expect(page.locator("#why-logits tr.is-target th")).to_have_text("7")
        shown = float(page.locator("#why-logits tr.is-target td").first.inner_text().replace("−", "-"))
        assert abs(shown - body["logits"][7]) < 0.01
        # "why not 1?": click the bar of 1
        with page.expect_response(is_explain) as answer:
            page.locator('.bar[data-digit="1"]').click()
        assert answer.value.json()["target"] == 1
        expect(why).to_have_attribute("data-target", "1")
        expect(page.locator("#why-status")).to_contain_text("Why not 1?")
        expect(page.locator('.target-button[data-digit="1"]')).to_have_attribute("aria-pressed", "true")
        expect(page.locator('.bar[data-digit="1"]')).to_have_class("bar explained")
        # another map, same answer: no new request
        page.locator('input[value="gradient"]').check()
        expect(why).to_have_attribute("data-method", "gradient")
        assert page.locator("#why-preview").evaluate(COLOURED)["blue"] > 20
        # the other language
        page.select_option("#lang", "zh")
        expect(page.locator("#why-status")).to_contain_text("为什么不是 1")
        expect(page.locator("#why-heading")).to_have_text("为什么是这个答案？")
        # a new stroke: the open panel explains the new answer
        page.locator("#pad").scroll_into_view_if_needed()
        with page.expect_response(is_explain):
            draw_and_wait(page, [[(0.2, 0.9), (0.8, 0.9)]])
        expect(why).to_have_attribute("data-state", "shown")
        assert page.evaluate("window.cspViolations") == []
        assert not errors
    finally:
        context.close()


def test_why_on_a_phone(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        draw_and_wait(page, DIGITS[0], draw=draw_with_touch)
        page.locator("#why-toggle").tap()
        expect(page.locator("#why")).to_have_attribute("data-state", "shown")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        for canvas in ("#why-preview", "#why-strokes"):
            box = page.locator(canvas).bounding_box()
            assert box and box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= 390
        with page.expect_response(is_explain) as answer:
            page.locator('.target-button[data-digit="6"]').tap()
        assert answer.value.json()["target"] == 6
        expect(page.locator("#why")).to_have_attribute("data-target", "6")
        size = page.locator('.target-button[data-digit="6"]').bounding_box()
        assert size and size["height"] >= 44
    finally:
        context.close()


def test_model_page_shows_curves_confusion_and_versions(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(server.url + "/")
        page.locator('a[href="/model"]').wait_for(state="attached")
        response = page.goto(server.url + "/model")
        assert response.status == 200
        expect(page.locator("#layers")).to_contain_text("784→800→800→11")  # the 11th output: not a digit
        expect(page.locator("#curves svg polyline.series")).to_have_count(4)
        points = page.locator('#curves polyline[data-label="validation accuracy"]').get_attribute("points")
        epochs = len(json.loads(WEIGHTS.with_suffix(".json").read_text())["curves"])
        assert len(points.split()) == epochs  # one point per epoch of the shipped model's own training run
        expect(page.locator("#confusion rect.cell")).to_have_count(121)
        expect(page.locator("#confused-pairs tr")).to_have_count(6)
        expect(page.locator("#version-table tr.is-active")).to_contain_text("shipped")
        assert page.evaluate("window.cspViolations") == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
