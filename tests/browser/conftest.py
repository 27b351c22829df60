"""Browser fixtures: one gunicorn server and one Chromium for the session, a fresh context per test."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.chromium import ChromiumMissing, launch
from tests.browser.contexts import DESKTOP, PHONE, open_page
from tests.live_server import LiveServer


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
    folder = tmp_path_factory.mktemp("server")
    with LiveServer(folder / "gunicorn.log", env={"DIGIT_CANVAS_INSTANCE": str(folder / "instance")}) as live:
        yield live


@pytest.fixture
def own_server(tmp_path) -> Iterator[LiveServer]:
    """A server for one test alone, which may stop it."""
    with LiveServer(tmp_path / "gunicorn.log", workers=1, env={"DIGIT_CANVAS_INSTANCE": str(tmp_path / "instance")}) as live:
        yield live


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    with open_page(browser, server.url + "/", **DESKTOP) as page:
        yield page


@pytest.fixture
def phone(browser: Browser, server: LiveServer) -> Iterator[Page]:
    with open_page(browser, server.url + "/", **PHONE) as page:
        yield page
