"""The CEPS site's scripts reading the JSON, calendars and feeds from another origin,
in Chromium over gunicorn.

The agenda runs under gunicorn (tests/servers.py) as in production; a second server on
another port stands for the CEPS site, whose page calls fetch() as its developers would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser

from agenda import create_app
from tests.conftest import SEVERAL, SHIPPED
from tests.servers import ROOT, free_port, gunicorn
from tests.test_browser_pages import live

pytestmark = pytest.mark.browser

# What fetch() wrappers and tutorials add to a GET: each makes Chromium ask OPTIONS first.
HEADERS = [{"If-None-Match": '"x"'}, {"Cache-Control": "no-cache"}, {"Pragma": "no-cache"},
           {"Content-Type": "application/json"}, {"X-Requested-With": "XMLHttpRequest"}]
FETCH = """async ([url, headers]) => {
  try {
    const first = await fetch(url, {headers, cache: "no-store"});
    const etag = first.headers.get("ETag");
    const again = await fetch(url, {headers: {...headers, "If-None-Match": etag},
                                    cache: "no-store"});
    return [first.status, etag !== null, first.headers.get("Last-Modified") !== null,
            again.status];
  } catch (error) {
    return String(error);
  }
}"""


@pytest.fixture(scope="module")
def agenda() -> Iterator[str]:
    port = free_port()
    with gunicorn(SEVERAL, port, workers=1):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def ceps_site() -> Iterator[str]:
    def page(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b'<!doctype html><html lang="fr"><title>CEPS</title><p>Agenda</p></html>']

    with live(page) as url:
        yield url


# The JSON, and the calendars and news feeds in each form: FullCalendar's iCalendar source
# and a « latest news » box read them with fetch() too.
PATHS = ["/events.json", "/events/annulee.json", "/schemas/events.json", "/calendar.ics",
         "/events/annulee.ics", "/calendar.ics?series=essais", "/series/essais/calendar.ics",
         "/rss.xml?city=Orléans", "/cities/orleans/rss.xml", "/atom.xml?series=autres"]


@pytest.mark.parametrize("headers", HEADERS, ids=lambda h: next(iter(h)))
@pytest.mark.parametrize("path", PATHS)
def test_a_script_on_another_site_reads_and_revalidates_the_documents(
    browser: Browser, agenda: str, ceps_site: str, path: str, headers: dict[str, str]
) -> None:
    """A request header a script adds (« Cache-Control: no-cache » to get fresh data, a
    wrapper's « Content-Type ») was not allowed by the preflight's answer: Chromium refused
    the fetch(), and the CEPS page showed no agenda at all. The calendars and feeds, in every
    form (?series=, ?city=, /series/…, /cities/…), sent no CORS header at all."""
    page = browser.new_page()
    try:
        page.goto(ceps_site + "/")
        result = page.evaluate(FETCH, [agenda + path, headers])
        assert isinstance(result, list), result  # else Chromium's TypeError: Failed to fetch
        first, etag, modified, again = result
        assert (first, etag, again) == (200, True, 304)
        assert modified == (path != "/schemas/events.json"), path  # the fixture: no `updated`
    finally:
        page.close()


def readme_embed_snippet(agenda: str) -> str:
    """The README's <iframe> and script for the CEPS site, pointed at `agenda`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("To show the upcoming matinales on the CEPS site", 1)[1]
    snippet = block.split("```html\n", 1)[1].split("```", 1)[0]
    return snippet.replace("https://agenda.ceps-oing.org", agenda)


def test_the_readmes_snippet_sizes_the_embed_to_its_list(browser: Browser) -> None:
    """The frame on the CEPS site had a fixed height: a scroll bar inside it when the list was
    longer (a narrow phone), a blank band below it when shorter. With the README's lines, the
    frame takes the list's height, and again when the width rewraps it."""
    config = {"AGENDA_DATA": str(SHIPPED), "AGENDA_NOW": "2021-05-17T12:00:00+02:00"}
    with live(create_app(config)) as agenda:  # upcoming sessions to list
        snippet = readme_embed_snippet(agenda).encode("utf-8")
        sized(browser, agenda, snippet)


def sized(browser: Browser, agenda: str, snippet: bytes) -> None:
    """Check, on a page of another origin holding `snippet`, that the frame fits its list."""

    def host(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b'<!doctype html><html lang="fr"><title>CEPS</title><body style="margin:0">'
                + snippet + b"</body></html>"]

    outer = "document.getElementById('agenda-ceps').getBoundingClientRect().height"
    content = "document.documentElement.getBoundingClientRect().height"  # as laid out now
    with live(host) as url:
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        try:
            page.goto(url + "/")
            page.frame_locator("#agenda-ceps").locator("main").wait_for()
            inner = next(f for f in page.frames if f.url.startswith(agenda))
            heights = []
            for width in (1000, 300):
                page.set_viewport_size({"width": width, "height": 800})
                deadline = time.monotonic() + 5
                while abs(page.evaluate(outer) - inner.evaluate(content)) > 1 \
                        and time.monotonic() < deadline:
                    time.sleep(0.05)
                # No scroll bar inside the frame, no blank band below the list.
                assert inner.evaluate("document.documentElement.scrollHeight <= "
                                      "document.documentElement.clientHeight"), width
                assert abs(page.evaluate(outer) - inner.evaluate(content)) <= 1, width
                heights.append(page.evaluate(outer))
            assert heights[1] > heights[0] and 420 not in heights, heights
        finally:
            page.close()
