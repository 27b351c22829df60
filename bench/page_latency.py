"""Time from lifting the pen to the answer on the page, in real Chromium against gunicorn.

    python -m bench.page_latency [--strokes 40] [--url http://127.0.0.1:8000]

Without --url it starts the app under gunicorn itself (shipped weights, 2 workers). Reports
medians and 90th percentiles: the whole wait as a user sees it (includes the 150 ms debounce),
the /predict round trip from the browser's resource timing, and the size of the JSON body sent.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from testkit.chromium import launch
from testkit.browser_drawing import DIGITS, draw_and_wait
from testkit.live_server import LiveServer

PROBE = """() => {
    window.benchWaits = [];
    let lifted = 0;
    document.getElementById('pad').addEventListener('pointerup', () => { lifted = performance.now(); });
    const result = document.getElementById('result');
    new MutationObserver(() => {
        if (result.dataset.state === 'result') benchWaits.push(performance.now() - lifted);
    }).observe(result, { attributes: true, attributeFilter: ['data-state'] });
}"""
ROUND_TRIPS = """() => performance.getEntriesByType('resource')
    .filter((e) => e.name.endsWith('/predict')).map((e) => e.responseEnd - e.startTime)"""


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def measure(page: Page, strokes: int) -> dict[str, list[float]]:
    body_bytes: list[float] = []
    page.on("request", lambda r: body_bytes.append(len(r.post_data_buffer or b""))
            if r.url.endswith("/predict") else None)
    page.evaluate(PROBE)
    digits = list(DIGITS)
    for i in range(strokes):
        page.keyboard.press("Escape")  # clear
        draw_and_wait(page, DIGITS[digits[i % len(digits)]])
    return {"wait_ms": page.evaluate("window.benchWaits"), "round_trip_ms": page.evaluate(ROUND_TRIPS),
            "body_bytes": body_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=40)
    parser.add_argument("--url", help="a running server (default: start one)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.url
        if not url:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = stack.enter_context(LiveServer(tmp / "gunicorn.log")).url
        browser = launch(stack.enter_context(sync_playwright()))
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-GB")
        page.goto(url.rstrip("/") + "/")
        figures = measure(page, args.strokes)
    print(f"{args.strokes} drawings (1, 7, 0 in turn), one at a time")
    for name, values in figures.items():
        print(f"{name:>14}: median {statistics.median(values):8.1f}   p90 {percentile(values, 90):8.1f}   n={len(values)}")


if __name__ == "__main__":
    main()
