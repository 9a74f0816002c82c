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
