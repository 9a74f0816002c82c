"""axe-core (WCAG 2.1 AA and best practices) on every page kind, in light and dark colour schemes.

axe-core comes from PyPI with axe-playwright-python and is evaluated in the page
by Playwright (page.evaluate is not subject to the pages' CSP). Chromium is
Debian's, as in test_browser_pages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from agenda import create_app
from tests.conftest import SEVERAL, SHIPPED
from tests.test_browser_pages import SEVERAL_NOW, live

pytestmark = pytest.mark.browser

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SCHEMES = ["light", "dark"]
# Every page kind: the agenda, session pages in each state, the embed, an error page.
SHIPPED_PAGES = ["/", "/events/clermont-ferrand", "/events/biarritz"]
SEVERAL_PAGES = [
    "/",  # upcoming and past lists
    "/events/printemps",  # past, public video
    "/events/texte-difficile",  # past, markup in the text
    "/events/automne",  # upcoming, private video
    "/events/annulee",  # cancelled
    "/events/reportee",  # rescheduled
    "/events/provisoire",  # tentative
    "/events/sans-date",  # undated
    "/embed",
    "/events/inconnue",  # 404 page
]




@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    """Base URLs of the shipped schedule (pinned before Clermont-Ferrand) and of the fixture."""
    shipped = create_app({"AGENDA_DATA": str(SHIPPED), "AGENDA_NOW": "2021-05-17T12:00:00+02:00"})
    several = create_app({"AGENDA_DATA": str(SEVERAL), "AGENDA_NOW": SEVERAL_NOW})
    with live(shipped) as shipped_url, live(several) as several_url:
        yield {"shipped": shipped_url, "several": several_url}


def violations(page: Page) -> list[str]:
    """axe's violations on the loaded page, one line each with the offending nodes."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    return [
        f"{v['id']}: {v['help']} — " + ", ".join(str(n["target"]) for n in v["nodes"])
        for v in results.response["violations"]
    ]


PAGES = [("shipped", p) for p in SHIPPED_PAGES] + [("several", p) for p in SEVERAL_PAGES]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(("data", "path"), PAGES, ids=[f"{d}:{p}" for d, p in PAGES])
def test_browser_axe_finds_no_violation(
    browser: Browser, urls: dict[str, str], data: str, path: str, scheme: str
) -> None:
    context = browser.new_context(locale="fr-FR", color_scheme=scheme,
                                  viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(urls[data] + path, wait_until="networkidle")
        assert violations(page) == []
    finally:
        context.close()


def background(browser: Browser, url: str, scheme: str) -> str:
    """The computed background colour of <body> under `scheme`."""
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        return page.evaluate("getComputedStyle(document.body).backgroundColor")
    finally:
        context.close()


def test_browser_dark_scheme_darkens_the_pages_but_not_the_embed(
    browser: Browser, urls: dict[str, str]
) -> None:
    white = "rgb(255, 255, 255)"
    assert background(browser, urls["several"] + "/", "light") == white
    assert background(browser, urls["several"] + "/", "dark") == "rgb(16, 23, 31)"
    assert background(browser, urls["several"] + "/events/annulee", "dark") == "rgb(16, 23, 31)"
    assert background(browser, urls["several"] + "/embed", "dark") == white


def test_browser_axe_does_report_a_violation(browser: Browser, urls: dict[str, str]) -> None:
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(urls["several"] + "/", wait_until="networkidle")
        # An image without alt text: the harness must see it, or it proves nothing.
        page.evaluate("""() => {
            const image = document.createElement('img');
            image.src = '/static/favicon.svg';
            document.querySelector('main').append(image);
        }""")
        assert [v.split(":")[0] for v in violations(page)] == ["image-alt"]
    finally:
        context.close()


# For the element that has the focus: the colours of its focus ring (outline, box-shadow) and
# the opaque background behind it (the first ancestor's that has one, else the page's).
FOCUS_RING = """() => {
  const element = document.activeElement;
  if (element === document.body) return {name: "", ring: [], background: ""};
  const style = getComputedStyle(element);
  let behind = element.parentElement, background = "rgb(255, 255, 255)";
  for (; behind; behind = behind.parentElement) {
    const colour = getComputedStyle(behind).backgroundColor;
    if (!colour.startsWith("rgba(0, 0, 0, 0)") && colour !== "transparent") {
      background = colour;
      break;
    }
  }
  const shadows = style.boxShadow.match(/rgba?\\([^)]*\\)/g) || [];
  return {name: (element.textContent || element.value || element.tagName).trim().slice(0, 40),
          ring: style.outlineStyle === "none" ? shadows : [style.outlineColor, ...shadows],
          background: background};
}"""


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an rgb()/rgba() colour."""
    channels = [float(v) / 255 for v in colour[colour.index("(") + 1:-1].split(",")[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("path", ["/", "/events/reportee", "/embed"])
def test_browser_keyboard_focus_ring_stands_out_of_what_is_behind_it(
    browser: Browser, urls: dict[str, str], path: str, scheme: str
) -> None:
    """WCAG 1.4.11: a focus indicator contrasts 3:1 with what surrounds it. The amber ring
    alone made 1.9:1 on the white page, where most links are."""
    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(urls["several"] + path)
        faint = []
        for _ in range(30):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            if ring["name"] and not ring["ring"]:
                faint.append((ring["name"], "no ring"))
            elif ring["ring"] and max(contrast(c, ring["background"]) for c in ring["ring"]) < 3:
                faint.append((ring["name"], ring["ring"], ring["background"]))
        assert faint == []
    finally:
        context.close()
