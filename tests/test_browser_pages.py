"""The pages in a real browser: Debian's Chromium driven by Playwright over a live server.

Skipped with a reason when Chromium is missing, except under CI (the CI variable
set), where a missing browser is a failure: the tests must not silently vanish.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect
from werkzeug.serving import make_server

from agenda import create_app
from agenda.loader import load_schedule
from tests.conftest import SEVERAL, SHIPPED

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Several sessions past, several to come: both parts of the agenda are on screen.
SEVERAL_NOW = "2021-07-01T12:00:00+02:00"


def chromium_path() -> str:
    """Debian's Chromium; skip (or fail under CI) when it is not installed."""
    for candidate in (CHROMIUM, shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    reason = f"Chromium not found at {CHROMIUM} nor on PATH; run scripts/install-browser"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: browser tests may not be skipped)")
    pytest.skip(reason)




@contextmanager
def live(app: Flask | Callable) -> Iterator[str]:
    """Serve `app` from a real server on a free port of 127.0.0.1; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def shipped_url() -> Iterator[str]:
    """The shipped schedule, served with the real clock."""
    with live(create_app({"AGENDA_DATA": str(SHIPPED)})) as url:
        yield url


@pytest.fixture(scope="module")
def shipped_before_url() -> Iterator[str]:
    """The shipped schedule, served with the clock pinned before Clermont-Ferrand's session."""
    config = {"AGENDA_DATA": str(SHIPPED), "AGENDA_NOW": "2021-05-17T12:00:00+02:00"}
    with live(create_app(config)) as url:
        yield url


@pytest.fixture(scope="module")
def several_url() -> Iterator[str]:
    """The several-sessions fixture, served with the clock pinned to mid-2021."""
    with live(create_app({"AGENDA_DATA": str(SEVERAL), "AGENDA_NOW": SEVERAL_NOW})) as url:
        yield url


@dataclass
class Visit:
    """A browser tab that records every request it makes and every error it reports."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, url: str) -> int:
        """Load `url`, wait for it to settle, return the HTTP status."""
        response = self.page.goto(url, wait_until="networkidle")
        assert response is not None
        return response.status

    def hosts(self) -> set[str]:
        """host:port of every request made so far."""
        return {urlsplit(u).netloc for u in self.requests}


def watch(page: Page) -> Visit:
    """Start recording requests, console errors and uncaught exceptions of `page`."""
    visit = Visit(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            visit.errors.append(message.text)

    def on_request(request: Request) -> None:
        visit.requests.append(request.url)

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    return visit


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    """A fresh French-speaking tab, watched."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    yield watch(context.new_page())
    context.close()


def test_browser_agenda_renders_without_console_error(visit: Visit, shipped_url: str) -> None:
    assert visit.open(shipped_url + "/") == 200
    page = visit.page
    assert page.locator("h1").inner_text() == "CEPS\u00a0– Tour des Villes"
    assert page.locator("#seance-clermont-ferrand").is_visible()
    assert visit.errors == []
    assert visit.hosts() == {urlsplit(shipped_url).netloc}


def test_browser_copy_button_runs_from_the_served_script(visit: Visit, shipped_url: str) -> None:
    visit.open(shipped_url + "/")
    button = visit.page.get_by_role("button", name="Copier")
    assert button.is_visible()  # the script ran, despite script-src 'self'
    button.click()
    status = visit.page.locator("#adresse-agenda-statut")
    expect(status).to_contain_text("Adresse")  # waits: the machine may be busy
    assert visit.errors == []


def test_browser_session_page_jsonld_and_calendar_links(
    visit: Visit, shipped_before_url: str
) -> None:
    # Before the session: once it is over, its page offers no add-to-calendar links.
    shipped_url = shipped_before_url
    clermont = load_schedule(SHIPPED).session("clermont-ferrand")
    assert visit.open(shipped_url + "/events/clermont-ferrand") == 200
    page = visit.page
    assert page.locator("h1").inner_text() == clermont.city
    [block] = page.locator("script[type='application/ld+json']").all()
    event = json.loads(block.text_content() or "")
    assert event["@type"] == "Event"
    assert event["startDate"] == "2021-05-19T08:45:00+02:00"
    assert event["endDate"] == "2021-05-19T10:15:00+02:00"
    assert event["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert event["location"]["@type"] == "VirtualLocation"
    assert event["performer"][0]["name"] == clermont.speakers[0].name
    google = page.get_by_role("link", name="Google Agenda").get_attribute("href") or ""
    assert parse_qs(urlsplit(google).query)["dates"] == ["20210519T064500Z/20210519T081500Z"]
    outlook = page.get_by_role("link", name="Outlook.com").get_attribute("href") or ""
    query = parse_qs(urlsplit(outlook).query)
    assert (query["startdt"], query["enddt"]) == (["2021-05-19T06:45:00Z"],
                                                  ["2021-05-19T08:15:00Z"])
    with page.expect_download() as download:  # the file a visitor gets: the session's name
        page.get_by_role("link", name="Apple Calendrier et autres (.ics)").click()
    assert download.value.suggested_filename == "clermont-ferrand.ics"
    assert [str(e["UID"]).split("@")[0] for e in icalendar.Calendar.from_ical(
        Path(download.value.path()).read_bytes()).walk("VEVENT")] == ["clermont-ferrand"]
    assert visit.errors == []
    assert visit.hosts() == {urlsplit(shipped_url).netloc}


def test_browser_script_in_the_data_shows_as_text_and_never_runs(
    visit: Visit, several_url: str
) -> None:
    assert visit.open(several_url + "/events/texte-difficile") == 200
    page = visit.page
    assert page.title() != "pwned"
    assert page.title().startswith("Matinales d’essai n°\u00a03\u00a0: L’Haÿ-les-Roses")
    shown = page.get_by_text('<script>document.title = "pwned"</script> & <b>gras</b>')
    assert shown.is_visible()
    assert page.get_by_text("Jean <b>Gras</b> & Fils", exact=False).is_visible()
    assert page.locator("main b").count() == 0
    assert visit.errors == []
    assert visit.hosts() == {urlsplit(several_url).netloc}


def test_browser_agenda_shows_upcoming_then_past_and_cancelled(
    visit: Visit, several_url: str
) -> None:
    assert visit.open(several_url + "/") == 200
    page = visit.page
    upcoming = page.locator("section:has(> #a-venir) h4").all_inner_texts()
    past = page.locator("section:has(> #passees) h4").all_inner_texts()
    assert any("Orléans" in t for t in upcoming)
    assert any("Saint-Étienne" in t for t in past)
    cancelled = page.locator("li:has(#seance-annulee)")
    assert "Annulé" in cancelled.inner_text()
    assert visit.errors == []


# A phone's width, then the same phone zoomed to 200 % by a low-vision reader (WCAG 1.4.4,
# 1.4.10): the agenda's grid took the subscribe box's address field as its narrowest width,
# and every card was cut at the right edge.
@pytest.mark.parametrize("width", [360, 180])
def test_browser_pages_fit_a_phone_screen(browser: Browser, several_url: str, width: int) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 740})
    try:
        visit = watch(context.new_page())
        for path in ("/", "/events/texte-difficile", "/events/reportee", "/embed"):
            assert visit.open(several_url + path) == 200
            overflow = visit.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, path
        assert visit.errors == []
    finally:
        context.close()


# Words longer than a phone is wide, where editors may write them: a title quoting a link, a
# city of many hyphens, a speaker's office, a press e-mail address, a public video link.
LONG = "https://example.org/un/lien/sans/espace/aucun/que/le/texte/cite/en/entier/0123456789"
LONGER_TEXTS = {
    'title = "Une séance reportée"': f'title = "Lire {LONG} avant de venir"',
    'city = "Lille"': 'city = "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson"',
    '"Maire d’Orléans"': '"Vice-présidente-déléguée-à-l’aménagement-numérique-des-territoires"',
    "presse@example.org": "anne-sophie.delacroix-montmorency@communication-metropole.example.org",
    "https://video.example.org/live/printemps": LONG.replace("example.org", "video.example.org"),
}


def test_browser_long_words_fit_a_narrow_screen(browser: Browser, tmp_path: Path) -> None:
    """At 320 px (a small phone, or 200 % zoom in a narrow window) a word wider than the
    screen breaks: it pushed whole pages sideways, every line cut at the right edge."""
    text = SEVERAL.read_text(encoding="utf-8")
    for old, new in LONGER_TEXTS.items():
        assert old in text
        text = text.replace(old, new)
    data = tmp_path / "sessions.toml"
    data.write_text(text, encoding="utf-8")
    context = browser.new_context(locale="fr-FR", viewport={"width": 320, "height": 640})
    try:
        with live(create_app({"AGENDA_DATA": str(data), "AGENDA_NOW": SEVERAL_NOW})) as url:
            visit = watch(context.new_page())
            for path in ("/", "/events/reportee", "/events/automne", "/events/printemps",
                         "/embed"):
                assert visit.open(url + path) == 200
                overflow = visit.page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, path
    finally:
        context.close()


def test_browser_pages_read_without_javascript(browser: Browser, shipped_url: str) -> None:
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(shipped_url + "/")
        assert page.locator("#adresse-agenda").input_value().endswith("/calendar.ics")
        assert not page.get_by_role("button", name="Copier").is_visible()
        assert page.locator("#seance-clermont-ferrand").is_visible()
    finally:
        context.close()


def test_browser_print_hides_the_subscribe_box(visit: Visit, shipped_url: str) -> None:
    visit.open(shipped_url + "/")
    visit.page.emulate_media(media="print")
    assert not visit.page.locator("#abonnement").is_visible()
    assert visit.page.locator("#seance-clermont-ferrand").is_visible()


# The colour of every element holding text of its own and shown, as rgb(a) strings.
TEXT_COLOURS = """() => [...document.querySelectorAll("body *")].filter(e =>
  [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
  && e.getClientRects().length && getComputedStyle(e).visibility !== "hidden"
).map(e => [e.textContent.trim().slice(0, 40), getComputedStyle(e).color])"""


def contrast_on_white(colour: str) -> float:
    """WCAG 2 contrast ratio of an rgb()/rgba() colour, opaque, against white paper."""
    channels = [float(v) / 255 for v in colour[colour.index("(") + 1:-1].split(",")[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


@pytest.mark.parametrize("path", ["/", "/events/annulee", "/events/reportee", "/nope"])
def test_browser_printed_text_reads_on_white_paper(
    visit: Visit, several_url: str, path: str
) -> None:
    """Browsers print no backgrounds: white words on a coloured badge (« Annulé ») vanished."""
    visit.open(several_url + path)
    visit.page.emulate_media(media="print")
    shown = visit.page.evaluate(TEXT_COLOURS)
    assert ("Annulé" in [words for words, _ in shown]) == (path in ("/", "/events/annulee"))
    assert [(words, colour) for words, colour in shown if contrast_on_white(colour) < 4.5] == []


def test_browser_only_the_embed_can_be_framed_by_another_site(
    visit: Visit, several_url: str
) -> None:
    host_page = (
        f'<!doctype html><html lang="fr"><title>Site du CEPS</title>'
        f'<iframe name="embed" title="Agenda" src="{several_url}/embed"></iframe>'
        f'<iframe name="agenda" title="Agenda" src="{several_url}/"></iframe>'
    ).encode()

    def other_site(environ: dict, start_response: Callable) -> list[bytes]:
        # Another origin (another port) on this machine, standing for the CEPS site.
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [host_page]

    with live(other_site) as foreign:
        visit.open(foreign + "/")
        embed = visit.page.frame(name="embed")
        agenda = visit.page.frame(name="agenda")
        assert embed is not None and agenda is not None
        assert embed.locator("h1").inner_text() == "Prochaines séances"
        # Chromium refuses to show the agenda inside another site's frame.
        assert agenda.locator("#abonnement").count() == 0
        assert [e for e in visit.errors if "frame-ancestors" not in e] == []
        assert any("frame-ancestors" in e for e in visit.errors)
        assert visit.hosts() <= {urlsplit(foreign).netloc, urlsplit(several_url).netloc}


def test_browser_embed_links_are_described_as_opening_a_new_tab(
    visit: Visit, several_url: str
) -> None:
    # What a screen reader says on each link of the frame, as Chromium computes it.
    assert visit.open(several_url + "/embed") == 200
    links = visit.page.locator("a")
    assert links.count() >= 5
    for link in links.all():
        expect(link).to_have_accessible_description("S’ouvre dans un nouvel onglet.")
