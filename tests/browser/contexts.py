"""Browser contexts the tests use: a desktop window and a phone, each with fresh storage."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True, "locale": "en-US"}


@contextmanager
def open_page(browser: Browser, url: str, **context_options) -> Iterator[Page]:
    """A page in a fresh context (own storage); fails the test on any uncaught script error."""
    context = browser.new_context(**context_options)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        yield page
    finally:
        context.close()
    assert not errors, f"script errors on the page: {errors}"
