"""Launching the machine's Debian Chromium under Playwright (never a downloaded browser)."""
from __future__ import annotations

import os

from playwright.sync_api import Browser, Playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ChromiumMissing(RuntimeError):
    """The browser tests need a real Chromium; they fail rather than skip without one."""


def launch(playwright: Playwright) -> Browser:
    if not os.access(CHROMIUM, os.X_OK):
        raise ChromiumMissing(f"Chromium not found at {CHROMIUM}: run `make chromium` (Debian package chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
