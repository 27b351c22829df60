"""Digits drawn the way a person draws them: strokes of many small moves over the pad.

Paths are in pad coordinates (0..1 of the canvas side); each stroke is densified so the
browser gets a pointer event every few pixels, as from a real hand.
"""
from __future__ import annotations

import math

from playwright.sync_api import Page, Request, Response, expect

Stroke = list[tuple[float, float]]


def ellipse(cx: float, cy: float, rx: float, ry: float, points: int = 36) -> Stroke:
    # Starts at the top and goes anticlockwise, closing slightly past the start like a pen.
    return [(cx - rx * math.sin(a), cy - ry * math.cos(a))
            for a in (2 * math.pi * i / points for i in range(points + 2))]


DIGITS: dict[int, list[Stroke]] = {
    1: [[(0.50, 0.16), (0.50, 0.84)]],
    7: [[(0.28, 0.20), (0.72, 0.20), (0.44, 0.84)]],
    0: [ellipse(0.5, 0.5, 0.21, 0.33)],
}


def densify(stroke: Stroke, step: float = 0.02) -> Stroke:
    out = [stroke[0]]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return out


def to_page(page: Page, stroke: Stroke) -> list[tuple[float, float]]:
    box = page.locator("#pad").bounding_box()
    assert box, "the pad is not on screen"
    return [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in densify(stroke)]


def draw_with_mouse(page: Page, strokes: list[Stroke]) -> None:
    for stroke in strokes:
        points = to_page(page, stroke)
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def draw_with_touch(page: Page, strokes: list[Stroke]) -> None:
    """Real touch input through the DevTools protocol: Chromium turns it into pointer events
    of type "touch" (and would scroll the page if the pad allowed it)."""
    cdp = page.context.new_cdp_session(page)
    try:
        for stroke in strokes:
            points = to_page(page, stroke)
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
            for x, y in points[1:]:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def is_predict(message: Request | Response) -> bool:
    """A POST /predict request, or the response to one."""
    request = message.request if isinstance(message, Response) else message
    return request.url.endswith("/predict") and request.method == "POST"


def draw_and_wait(page: Page, strokes: list[Stroke], draw=draw_with_mouse, answers=is_predict) -> Response:
    """Draws, then waits until the page has shown the answer to the last stroke; returns the
    last response seen by then of the requests ``answers`` picks (POST /predict)."""
    responses: list[Response] = []

    def keep(response: Response) -> None:
        if answers(response):
            responses.append(response)

    page.on("response", keep)
    try:
        with page.expect_response(answers):
            draw(page, strokes)
        expect(page.locator("#result")).not_to_have_attribute("data-state", "pending")
    finally:
        page.remove_listener("response", keep)
    return responses[-1]
