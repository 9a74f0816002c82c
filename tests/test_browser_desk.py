"""The editors' desk in Debian's Chromium: the whole flow without JavaScript, by keyboard,
and axe (WCAG 2.1 AA) on every desk page in both colour schemes.

With AGENDA_SCREENSHOTS=1 the flow also saves the screenshots of the editors' guide
(docs/guide-edition.md) into docs/images/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from agenda import create_app
from tests.conftest import ROOT, SHIPPED
from tests.test_browser_axe import SCHEMES, violations
from tests.test_browser_pages import live
from tests.test_desk import EMAIL, PASSWORD, SECRET, add_editor

pytestmark = pytest.mark.browser

IMAGES = ROOT / "docs" / "images"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A live server on a copy of the shipped schedule with one editor: (base URL, file)."""
    schedule = tmp_path / "sessions.toml"
    shutil.copy(SHIPPED, schedule)
    shutil.copy(ROOT / "data" / "sessions.published.json", tmp_path / "sessions.published.json")
    add_editor(schedule)
    app = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET,
                      "AGENDA_DESK_SECURE": False})
    with live(app) as url:
        yield url, schedule


def shot(page: Page, name: str) -> None:
    """Save a screenshot for the guide when AGENDA_SCREENSHOTS is set."""
    if os.environ.get("AGENDA_SCREENSHOTS"):
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=False)


def press(page: Page, selector: str, key: str = "Enter") -> None:
    """Activate a link or button from the keyboard."""
    page.locator(selector).first.focus()
    with page.expect_navigation():
        page.keyboard.press(key)


@contextlib.contextmanager
def french_context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser context in French, closed however the test ends."""
    context = browser.new_context(locale="fr-FR")
    try:
        yield context
    finally:
        context.close()


def log_in(page: Page, url: str, email: str = EMAIL) -> None:
    """Log in through the form, by keyboard."""
    page.goto(url + "/desk/")
    page.locator("#email").focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def fetch(url: str) -> bytes:
    """A public URL's body, as a subscriber's client gets it."""
    with urllib.request.urlopen(url) as answer:  # noqa: S310 (a local test server)
        return answer.read()


def event_of(url: str, session_id: str) -> icalendar.Event:
    """A session's VEVENT in /calendar.ics."""
    feed = icalendar.Calendar.from_ical(fetch(url + "/calendar.ics"))
    found = [e for e in feed.walk("VEVENT") if session_id in str(e.get("URL", ""))]
    assert len(found) == 1
    return found[0]


def publish(page: Page, mode: str = "#mode-regle") -> None:
    """Open the draft, choose the kind of change, press « Publier »."""
    press(page, "a:has-text('Brouillon et publication')")
    page.locator(mode).focus()
    page.keyboard.press("Space")
    press(page, "button:has-text('Voir ce qu’envoie')")
    shot(page, "publier")
    press(page, "button:has-text('Publier')")
    assert page.locator("p.ok").inner_text().startswith("Version ")


def test_browser_desk_whole_flow_without_javascript(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    url, schedule = desk
    context = browser.new_context(locale="fr-FR", java_script_enabled=False,
                                  viewport={"width": 1100, "height": 800})
    try:
        page = context.new_page()
        page.goto(url + "/desk/")
        shot(page, "connexion")
        log_in(page, url)
        assert page.locator("h1").inner_text() == "Séances"
        shot(page, "seances")
        # « Nouvelle séance », prefilled from Clermont-Ferrand.
        press(page, "a:has-text('Nouvelle séance')")
        assert page.locator("#f-number").input_value() == "4"
        page.locator("#f-id").fill("marseille")
        page.locator("#f-city").fill("Marseille")
        page.locator("#f-start").fill("2027-02-17T08:45")
        page.locator("#f-end").fill("2027-02-17T10:15")
        shot(page, "nouvelle-seance")
        press(page, "#f-city")
        press(page, "a:has-text('Brouillon et publication')")
        assert "Tour des Villes n° 4 : Marseille" in page.locator(".outgoing").inner_text()
        shot(page, "brouillon")
        press(page, "a:has-text('Voir l’aperçu du site')")
        assert page.locator(".desk-banner").is_visible()
        assert "Marseille" in page.locator("main").inner_text()
        shot(page, "apercu")
        press(page, ".desk-banner a")
        publish(page)
        event = event_of(url, "marseille")
        assert event.decoded("DTSTART").isoformat() == "2027-02-17T08:45:00+01:00"
        titles = [e.title for e in feedparser.parse(fetch(url + "/rss.xml")).entries]
        assert any("Marseille" in t for t in titles)
        # « Reporter » Marseille.
        press(page, "#s-marseille a:has-text('Reporter')")
        page.locator("#f-start").fill("2027-03-17T08:45")
        page.locator("#f-end").fill("2027-03-17T10:15")
        shot(page, "reporter")
        press(page, "button:has-text('Enregistrer')")
        # « Annuler » Marseille (Bourges, held, cannot be).
        press(page, "#s-marseille a:has-text('Annuler')")
        shot(page, "annuler")
        press(page, "button:has-text('Annuler la séance')")
        # « Ajouter le replay » of Clermont-Ferrand.
        press(page, "#s-clermont-ferrand a:has-text('Ajouter le replay')")
        page.locator("#f-replay_url").fill("https://video.example.org/clermont")
        shot(page, "replay")
        press(page, "button:has-text('Enregistrer')")
        publish(page, "#mode-annonce")
        event = event_of(url, "marseille")
        assert event.decoded("DTSTART").isoformat() == "2027-03-17T08:45:00+01:00"
        assert event["SEQUENCE"] == 1
        text = schedule.read_text(encoding="utf-8")
        assert 'replay_url = "https://video.example.org/clermont"' in text
        assert [s.get("status") for s in tomllib.loads(text)["sessions"]
                if s["id"] == "marseille"] == ["cancelled"]
        # A correction: calendars get it (SEQUENCE + 1), journalists get no news entry.
        entries = len(feedparser.parse(fetch(url + "/rss.xml")).entries)
        press(page, "#s-marseille a:has-text('Reporter')")
        page.locator("#f-start").fill("2027-03-17T09:00")
        press(page, "button:has-text('Enregistrer')")
        publish(page, "#mode-correction")
        event = event_of(url, "marseille")
        assert event.decoded("DTSTART").isoformat() == "2027-03-17T09:00:00+01:00"
        assert event["SEQUENCE"] == 2
        assert len(feedparser.parse(fetch(url + "/rss.xml")).entries) == entries
        # A mistake in a field shows on the field.
        press(page, "#s-marseille a:has-text('Reporter')")
        page.locator("#f-end").fill("2027-03-17T07:00")
        press(page, "button:has-text('Enregistrer')")
        assert page.locator("#f-end-erreur").is_visible()
        assert page.locator("#f-end").get_attribute("aria-invalid") == "true"
        shot(page, "erreur")
    finally:
        context.close()


def test_browser_desk_actions_reachable_with_tab(browser: Browser, desk: tuple[str, Path]) -> None:
    url, _ = desk
    with french_context(browser) as context:
        page = context.new_page()
        log_in(page, url)
        reached = []
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.textContent.trim()"))
        for label in ("Aller au contenu", "Nouvelle séance de « Tour des Villes »",
                      "Modifier Clermont-Ferrand", "Reporter Clermont-Ferrand",
                      "Annuler Clermont-Ferrand", "Ajouter le replay Clermont-Ferrand",
                      "Brouillon et publication", "Se déconnecter"):
            assert label in reached, (label, reached)


# The focused element's id, once the browser has painted the page: autofocus is applied then,
# after the load event that navigations wait for.
ACTIVE = """() => new Promise(painted => requestAnimationFrame(() => requestAnimationFrame(
    () => painted(document.activeElement.id))))"""
# The id of the focused element or of its nearest ancestor that has one, and its text.
FOCUSED = ACTIVE.replace("document.activeElement.id", "document.activeElement.closest('[id]')?.id"
                         " + ' ' + document.activeElement.textContent")


def test_browser_desk_refused_form_says_so_first_and_takes_the_focus_there(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # A blind editor sends a form with a mistake: the page came back with the same title and
    # the focus at its top, the list of what to correct said nowhere until found by hand.
    url, schedule = desk
    with french_context(browser) as context:
        page = context.new_page()
        page.goto(url + "/desk/connexion")
        page.locator("#email").fill(EMAIL)
        page.locator("#password").fill("pas le bon")
        press(page, "#password")
        assert page.title().startswith("Erreur : ")
        assert page.evaluate(ACTIVE) == "erreur-connexion"
        log_in(page, url)
        page.goto(url + "/desk/seances/clermont-ferrand/reporter")
        page.locator("#f-end").fill("2021-05-19T07:00")
        press(page, "#f-end")
        assert page.title().startswith("Erreur : Reporter la séance")
        assert page.evaluate(ACTIVE) == "erreurs"
        # Its first point leads to the field, which says what is wrong with it.
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert page.evaluate(ACTIVE) == "f-end"
        described = page.locator("#f-end").get_attribute("aria-describedby") or ""
        assert "f-end-erreur" in described.split()
        page.goto(url + "/desk/seances/clermont-ferrand/reporter")
        assert not page.title().startswith("Erreur")
        # Publishing refused (the file changed by hand meanwhile): the focus is on the refusal.
        page.locator("#f-end").fill("2021-05-19T10:30")
        press(page, "#f-end")
        page.goto(url + "/desk/brouillon")
        schedule.write_text(schedule.read_text(encoding="utf-8").replace(
            'city = "Bourges"', 'city = "Bourges (Cher)"'), encoding="utf-8")
        press(page, "button:has-text('Publier')")
        assert "Rien n’a été publié" in page.evaluate(FOCUSED)
        assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"


def test_browser_desk_saved_or_published_says_so_where_the_focus_lands(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # A blind editor saves a form, or publishes: the list of sessions opened with nothing said
    # where the focus was, and whether it was saved had to be guessed from the page.
    url, _ = desk
    with french_context(browser) as context:
        page = context.new_page()
        log_in(page, url)
        page.goto(url + "/desk/seances/clermont-ferrand/reporter")
        page.locator("#f-end").fill("2021-05-19T10:30")
        press(page, "#f-end")
        # On the session's row, where the page scrolls to.
        assert page.evaluate(FOCUSED).startswith("s-clermont-ferrand Enregistré dans le brouillon")
        press(page, "#s-clermont-ferrand a:has-text('Annuler')")
        press(page, "button:has-text('Annuler la séance')")
        assert page.evaluate(FOCUSED).startswith("s-clermont-ferrand Enregistré dans le brouillon")
        # No row for the press contacts: at the top of the page.
        page.goto(url + "/desk/contacts")
        page.locator("#f-contacts-3-name").fill("Mairie de Vichy")
        press(page, "button:has-text('Enregistrer dans le brouillon')")
        assert page.evaluate(FOCUSED).startswith("contenu Enregistré dans le brouillon")
        publish(page)
        assert page.evaluate(FOCUSED).startswith("contenu Version ")
        page.goto(url + "/desk/")
        assert page.evaluate(ACTIVE) == ""


DESK_PAGES = [
    "/desk/connexion", "/desk/", "/desk/seances/clermont-ferrand",
    "/desk/seances/clermont-ferrand/reporter", "/desk/seances/clermont-ferrand/annuler",
    "/desk/seances/clermont-ferrand/retablir",
    "/desk/seances/clermont-ferrand/replay", "/desk/series/tour-des-villes/nouvelle",
    "/desk/series/tour-des-villes", "/desk/agenda", "/desk/contacts", "/desk/brouillon",
    "/desk/apercu/", "/desk/abandonner", "/desk/inexistante",
]


# An editor on a phone (360 px), then zooming it to 200 % (180 CSS px): no page wider than the
# screen, every action in reach. Zoomed, « Se déconnecter » and a city's name in a title went
# past the right edge.
@pytest.mark.parametrize("width", [360, 180])
def test_browser_desk_fits_a_phone_screen(
    browser: Browser, desk: tuple[str, Path], width: int
) -> None:
    url, schedule = desk
    context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 740})
    try:
        page = context.new_page()
        log_in(page, url)
        page.goto(url + "/desk/seances/clermont-ferrand/replay")
        page.locator("#f-replay_url").fill("https://video.example.org/clermont")
        press(page, "button:has-text('Enregistrer')")
        widest = ("Math.max(...[...document.querySelectorAll('*')].map("
                  "e => e.getBoundingClientRect().right))")  # the page's widest element
        widths = {}
        for path in DESK_PAGES[1:]:
            page.goto(url + path)
            widths[path] = page.evaluate(widest)
        # The refusal to publish over a hand edit made while the draft page was open, with
        # both changes side by side; then the draft page, which shows them too.
        page.goto(url + "/desk/brouillon")
        schedule.write_text(schedule.read_text(encoding="utf-8").replace(
            'city = "Bourges"', 'city = "Bourges (Cher)"'), encoding="utf-8")
        press(page, "button:has-text('Publier')")
        assert page.locator("h1").inner_text() == "Publication refusée"
        widths["conflict"] = page.evaluate(widest)
        page.goto(url + "/desk/brouillon")
        assert page.locator("main h2").first.inner_text() == "L’autre modification"
        widths["moved"] = page.evaluate(widest)
        assert widths == {path: w for path, w in widths.items() if w <= width}
        page.goto(url + "/desk/")
        rights = page.locator(".series a").evaluate_all(
            "links => links.map(a => a.getBoundingClientRect().right)")
        assert len(rights) >= 10 and max(rights) <= width
    finally:
        context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_browser_axe_finds_nothing_on_the_desk(
    browser: Browser, desk: tuple[str, Path], scheme: str
) -> None:
    url, schedule = desk
    context = browser.new_context(locale="fr-FR", color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(url + "/desk/connexion")
        assert violations(page) == []
        log_in(page, url)
        # A draft with a change, so that the draft page lists it and the preview exists.
        page.goto(url + "/desk/seances/clermont-ferrand/replay")
        page.locator("#f-replay_url").fill("https://video.example.org/clermont")
        page.locator("button:has-text('Enregistrer')").click()
        found = {}
        for path in DESK_PAGES[1:]:
            page.goto(url + path, wait_until="networkidle")
            found[path] = violations(page)
        page.goto(url + "/desk/seances/clermont-ferrand/reporter")
        page.locator("#f-end").fill("2021-05-19T07:00")
        page.locator("button:has-text('Enregistrer')").click()
        found["errors"] = violations(page)
        # The refusal to publish over a hand edit made while the draft page was open, and
        # the draft page then.
        page.goto(url + "/desk/brouillon")
        schedule.write_text(schedule.read_text(encoding="utf-8").replace(
            'city = "Bourges"', 'city = "Bourges (Cher)"'), encoding="utf-8")
        page.locator("button:has-text('Publier')").click()
        assert page.locator("h1").inner_text() == "Publication refusée"
        found["conflict"] = violations(page)
        page.goto(url + "/desk/brouillon", wait_until="networkidle")
        found["moved"] = violations(page)
        assert found == {path: [] for path in found}
    finally:
        context.close()


def typing_while_logged_out(context: BrowserContext, url: str, typed: str,
                            log_in_again: bool) -> Page:
    """A session's form with `typed` in it, while another tab logs out (and in again)."""
    page = context.new_page()
    log_in(page, url)
    page.goto(url + "/desk/seances/clermont-ferrand")
    page.locator("#f-description").fill(typed)
    other = context.new_page()
    other.goto(url + "/desk/")
    with other.expect_navigation():
        other.locator("button:has-text('Se déconnecter')").click()
    if log_in_again:
        log_in(other, url)
    other.close()
    return page


def typed_back_and_saved(page: Page, url: str, typed: str) -> None:
    """The browser's Back gives the form back with what was typed; saved, the draft has it."""
    page.go_back()
    assert page.locator("#f-description").input_value() == typed
    press(page, "button:has-text('Enregistrer dans le brouillon')")
    page.goto(url + "/desk/brouillon")
    assert typed in page.locator("pre.diff").inner_text()


def test_browser_desk_login_ended_keeps_what_was_typed_as_its_page_says(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # A form sent once the login had ended (8 hours, or « Se déconnecter » in another tab):
    # the page said to log in and make the change again, an hour of typing lost. Followed
    # as it now says, the browser's Back gives the text back, and it is saved.
    url, _schedule = desk
    with french_context(browser) as context:
        typed = "Un long texte, tapé pendant une heure."
        page = typing_while_logged_out(context, url, typed, log_in_again=False)
        press(page, "button:has-text('Enregistrer dans le brouillon')")
        said = page.locator("main").inner_text()
        assert "Précédent" in said and "nouvel onglet" in said
        with context.expect_page() as opened:
            page.locator("a:has-text('Se reconnecter dans un nouvel onglet')").click()
        again = opened.value
        again.wait_for_load_state()
        again.locator("#email").fill(EMAIL)
        again.locator("#password").fill(PASSWORD)
        with again.expect_navigation():
            again.locator("button:has-text('Se connecter')").click()
        again.close()
        typed_back_and_saved(page, url, typed)


def test_browser_desk_form_from_before_a_new_login_keeps_what_was_typed_as_its_page_says(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # A form left open while the editor logged out and in again in another tab: its check
    # failed, and the page said to reload it, which loses what was typed. Followed as it
    # now says, the browser's Back gives the text back, and it is saved.
    url, _schedule = desk
    with french_context(browser) as context:
        typed = "Un texte tapé avant de se reconnecter ailleurs."
        page = typing_while_logged_out(context, url, typed, log_in_again=True)
        press(page, "button:has-text('Enregistrer dans le brouillon')")
        assert "Précédent" in page.locator("main").inner_text()
        typed_back_and_saved(page, url, typed)


def test_browser_desk_keeps_an_email_address_with_accents_as_typed(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # Chromium sends the domain of an <input type=email> as punycode: a press contact typed
    # « presse@mairie-évry.fr » was published as « presse@xn--mairie-vry-h7a.fr ».
    url, _schedule = desk
    with french_context(browser) as context:
        page = context.new_page()
        log_in(page, url)
        page.goto(url + "/desk/contacts")
        page.locator("#f-contacts-3-name").fill("Mairie d’Évry")
        page.locator("#f-contacts-3-email").fill("presse@mairie-évry.fr")
        press(page, "button:has-text('Enregistrer dans le brouillon')")
        publish(page)
        contacts = json.loads(fetch(url + "/events.json"))["contacts"]
        assert [c["email"] for c in contacts if c["name"] == "Mairie d’Évry"] == \
            ["presse@mairie-évry.fr"]


def test_browser_desk_logs_in_an_editor_whose_address_has_accents(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # The login's <input type=email> sent the domain as punycode: an editor added as
    # « redaction@mairie-évry.fr » was told « Adresse ou mot de passe incorrect » for ever.
    url, schedule = desk
    address = "redaction@mairie-évry.fr"
    add_editor(schedule, address)
    with french_context(browser) as context:
        page = context.new_page()
        log_in(page, url, address)
        assert page.locator("form.logout button").count() == 1, page.locator("main").inner_text()


def test_browser_desk_other_site_can_neither_frame_nor_post_to_it(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # An editor logged in opens another site's page (localhost is another site than
    # 127.0.0.1): it frames the desk, to have a click land on « Publier », and posts forms
    # to « Se déconnecter » and « Publier » at once.
    url, schedule = desk
    before = schedule.read_bytes()
    hostile = f"""<!doctype html><iframe src="{url}/desk/brouillon"></iframe>
<form id="a" method="post" action="{url}/desk/deconnexion" target="x"></form>
<form id="b" method="post" action="{url}/desk/publier" target="y"><input name="mode"
value="correction"></form><iframe name="x"></iframe><iframe name="y"></iframe>
<script>document.getElementById("a").submit(); document.getElementById("b").submit();</script>"""

    def other_site(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [hostile.encode("utf-8")]

    with french_context(browser) as context:
        page = context.new_page()
        log_in(page, url)
        other = context.new_page()
        with live(other_site) as elsewhere, other.expect_response(
                lambda r: r.url.endswith("/desk/publier")) as posted:
            other.goto(elsewhere.replace("127.0.0.1", "localhost") + "/")
        assert posted.value.status == 400
        assert [f.url for f in other.frames if f.url.startswith(url)] == []
        page.goto(url + "/desk/")
        assert page.locator("form.logout button").count() == 1  # still logged in
        assert schedule.read_bytes() == before


def test_browser_desk_two_officers_at_once_lose_nothing_and_are_told(
    browser: Browser, desk: tuple[str, Path]
) -> None:
    # Hélène and Marc open Clermont's form; she corrects the city and double-clicks
    # « Publier »; he, his form still showing the old city, types his own and saves.
    url, schedule = desk
    add_editor(schedule, "marc@ceps-oing.org")
    with french_context(browser) as hers, french_context(browser) as his:
        helene, marc = hers.new_page(), his.new_page()
        log_in(helene, url)
        log_in(marc, url, "marc@ceps-oing.org")
        for page in (helene, marc):
            page.goto(url + "/desk/seances/clermont-ferrand")
        helene.fill("#f-city", "Clermont (Puy-de-Dôme)")
        with helene.expect_navigation():
            helene.click("button:has-text('Enregistrer')")
        helene.goto(url + "/desk/brouillon")
        helene.dblclick("button:has-text('Publier')")
        helene.wait_for_url("**/desk/?publie=*")
        said = helene.locator("main").inner_text()
        assert "Version 2 publiée." in said and "attendent" not in said
        marc.fill("#f-city", "Clermont-Ferrand (63)")
        with marc.expect_navigation():
            marc.click("button:has-text('Enregistrer')")
        assert "c’est maintenant « Clermont (Puy-de-Dôme) »" in marc.locator("main").inner_text()
        assert marc.input_value("#f-city") == "Clermont-Ferrand (63)"
        with marc.expect_navigation():
            marc.click("button:has-text('Enregistrer')")
        assert marc.locator("h1").inner_text() == "Séances"
        assert "Clermont-Ferrand (63)" in marc.locator("#s-clermont-ferrand").inner_text()
    published = json.loads(schedule.with_name("sessions.published.json").read_text("utf-8"))
    assert published["version"] == 2
