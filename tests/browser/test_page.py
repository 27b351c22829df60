"""The page itself: works under a strict Content-Security-Policy, and is accessible."""
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.contexts import DESKTOP, open_page
from testkit.browser_drawing import DIGITS, draw_and_wait, draw_with_mouse
from testkit.live_server import LiveServer
from tests.browser.page_state import assert_shows

STRICT_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

# The text colour of every visible element matching each selector and the colour behind it.
COLOURS = """selectors => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const behind = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return selectors.flatMap((selector) => [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length && el.textContent.trim())
    .map((el) => [selector, rgb(getComputedStyle(el).color).slice(0, 3), behind(el)]));
}"""
VARIABLES = """pairs => pairs.map(([fg, bg]) => {
  const probe = document.createElement('span');
  document.body.append(probe);
  const read = (name) => { probe.style.color = `var(${name})`; return getComputedStyle(probe).color.match(/[\\d.]+/g).map(Number).slice(0, 3); };
  const result = [`${fg} on ${bg}`, read(fg), read(bg)];
  probe.remove();
  return result;
})"""
TEXT = ["h1", ".tagline", ".panel-title", ".hint", ".button span", ".shortcut", "#status", "#digit",
        "#confidence", "figcaption", ".bars-title", ".bar-digit", ".bar-value", ".model-line",
        ".footer p", "#lang"]
# Colours of states not on screen in this test (unsure badge, hover) and of graphics (3:1).
TEXT_PAIRS = [("--warn-text", "--warn-bg"), ("--warn-text", "--surface"), ("--text", "--accent-soft"),
              ("--on-accent", "--accent")]
GRAPHIC_PAIRS = [("--bar", "--track"), ("--accent", "--track"), ("--warn-text", "--track"),
                 ("--pad-border", "--surface"), ("--pad-border", "--paper"), ("--focus", "--surface"),
                 ("--focus", "--bg")]


def contrast(fg: list[float], bg: list[float]) -> float:
    def luminance(rgb: list[float]) -> float:
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def with_csp(route: Route) -> None:
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})


def test_works_under_a_strict_content_security_policy(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.route(server.url + "/", with_csp)
        page.goto(server.url + "/")
        expect(page.locator("html")).to_have_class("js-ready")

        assert_shows(page, draw_and_wait(page, DIGITS[7]).json())

        assert problems == []
    finally:
        context.close()


def test_controls_are_labelled_and_in_a_logical_focus_order(page: Page) -> None:
    expect(page.get_by_role("img", name="Drawing area for one digit")).to_have_id("pad")
    assert page.locator("#pad").get_attribute("aria-describedby") == "pad-help"
    expect(page.get_by_role("combobox", name="Language")).to_have_id("lang")
    expect(page.get_by_role("button", name="Undo")).to_have_id("undo")
    expect(page.get_by_role("button", name="Clear")).to_have_id("clear")
    expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#error")).to_have_attribute("role", "alert")
    assert page.get_by_role("meter").count() == 10

    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.className"))
    assert order == ["skip-link", "lang", "mode-digit", "undo", "clear"]  # the Digit/Number radios: one stop
    # The focused control is visibly outlined.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colour_contrast_meets_wcag_aa(browser: Browser, server: LiveServer, scheme: str) -> None:
    with open_page(browser, server.url + "/", **DESKTOP, color_scheme=scheme) as page:
        colours = page.evaluate(COLOURS, [".pad-placeholder"])  # empty state, on the white paper
        draw_and_wait(page, DIGITS[7])
        colours += page.evaluate(COLOURS, TEXT)
        page.route("**/predict", lambda route: route.abort())
        page.locator("#clear").click()
        draw_with_mouse(page, DIGITS[1])
        expect(page.locator("#error")).to_be_visible()
        colours += page.evaluate(COLOURS, ["#error-text", "#retry"])
        colours += page.evaluate(VARIABLES, TEXT_PAIRS)
        graphics = page.evaluate(VARIABLES, GRAPHIC_PAIRS)

    assert {name for name, *_ in colours} >= {".pad-placeholder", "h1", "#status", ".bar-value", "#error-text"}
    low_text = [(name, round(contrast(fg, bg), 2)) for name, fg, bg in colours if contrast(fg, bg) < 4.5]
    low_graphics = [(name, round(contrast(fg, bg), 2)) for name, fg, bg in graphics if contrast(fg, bg) < 3]
    assert low_text == [] and low_graphics == []
