"""The page works under its Content-Security-Policy: drawing and predicting trigger no violation."""
from __future__ import annotations

from playwright.sync_api import Browser, expect

from app.middleware.security_headers import CONTENT_SECURITY_POLICY
from tests.browser.contexts import DESKTOP
from testkit.browser_drawing import DIGITS, draw_and_wait
from testkit.live_server import LiveServer

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
    e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_drawing_and_predicting_break_no_policy_rule(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.add_init_script(RECORD_VIOLATIONS)
        response = page.goto(server.url + "/")
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

        prediction = draw_and_wait(page, DIGITS[7])
        assert prediction.status == 200
        expect(page.locator("#digit")).to_have_text("7")
        loaded = page.locator("#preview").evaluate("i => i.src.startsWith('data:image/png') && i.naturalWidth")
        assert loaded == 28, "the data: URL preview did not load"
        assert page.evaluate("window.cspViolations") == []
        assert not [m for m in console if "Content Security Policy" in m]

        # The listener does see a violation: an inline script is refused.
        page.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = 'window.inlineRan = true'; document.body.append(s); }""")
        page.wait_for_function("window.cspViolations.length > 0")
        assert page.evaluate("window.inlineRan") is None
        assert page.evaluate("window.cspViolations")[0].startswith("script-src")
    finally:
        context.close()
