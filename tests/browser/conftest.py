"""Browser fixtures: one gunicorn server and one Chromium for the session, a fresh context per test."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.chromium import ChromiumMissing, launch
from tests.browser.live_server import LiveServer

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True, "locale": "en-US"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    try:
        chromium = launch(playwright)
    except ChromiumMissing as error:
        pytest.fail(str(error), pytrace=False)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("server") / "gunicorn.log") as live:
        yield live


@pytest.fixture
def own_server(tmp_path) -> Iterator[LiveServer]:
    """A server for one test alone, which may stop it."""
    with LiveServer(tmp_path / "gunicorn.log", workers=1) as live:
        yield live


def open_page(browser: Browser, url: str, **context_options) -> Iterator[Page]:
    """A page in a fresh context (own storage); fails the test on any uncaught script error."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    yield from open_page(browser, server.url + "/", **DESKTOP)


@pytest.fixture
def phone(browser: Browser, server: LiveServer) -> Iterator[Page]:
    yield from open_page(browser, server.url + "/", **PHONE)
