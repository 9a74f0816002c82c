"""Labels that say what is true: « Tenue », « Non confirmé : », past sessions, meta descriptions,
and one name per landmark on the agenda."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import feedparser
import icalendar
import lxml.html
import pytest
from babel.dates import format_date

from agenda import create_app
from agenda.model import Schedule
from agenda.render import html
from tests.conftest import MINIMAL
from tests.test_json_schema import LYON

BEFORE_ALL = datetime(2021, 1, 1, tzinfo=UTC)
AFTER_ALL = datetime(2030, 1, 1, tzinfo=UTC)
MID_2021 = datetime(2021, 7, 1, 10, tzinfo=UTC)


def parse(body: bytes) -> lxml.html.HtmlElement:
    """The page as an lxml tree."""
    return lxml.html.fromstring(body)


def text(element: lxml.html.HtmlElement) -> str:
    """Visible text with spaces (non-breaking ones included) normalised."""
    return " ".join(element.text_content().replace("\xa0", " ").split())


def meta(page: lxml.html.HtmlElement) -> dict[str, str]:
    """Every <meta> by property or name, non-breaking spaces read as plain ones."""
    return {m.get("property") or m.get("name"): m.get("content").replace("\xa0", " ")
            for m in page.xpath("//meta[@content]")}


def session(schedule: Schedule, session_id: str, now: datetime) -> lxml.html.HtmlElement:
    """A session's page rendered for `now`, parsed."""
    return parse(html.session_page(schedule, schedule.session(session_id), now))


def test_labels_held_undated_session_is_tenue_not_confirme(shipped: Schedule) -> None:
    page = session(shipped, "biarritz", BEFORE_ALL)
    assert [text(b) for b in page.xpath("//main//*[contains(@class, 'badge')]")] == ["Tenue"]
    agenda = parse(html.agenda_page(shipped, BEFORE_ALL))
    card = agenda.xpath("//li[.//*[@id='seance-biarritz']]")[0]
    assert text(card.xpath(".//*[contains(@class, 'badge')]")[0]) == "Tenue"
    assert "Confirmé" not in text(card)


def test_labels_past_session_promises_no_link(shipped: Schedule) -> None:
    for session_id in ("biarritz", "clermont-ferrand"):
        main = text(session(shipped, session_id, AFTER_ALL).xpath("//main")[0])
        assert "communiqué aux inscrits" not in main, session_id
        assert "S’inscrire" not in main, session_id
    upcoming = text(session(shipped, "clermont-ferrand", BEFORE_ALL).xpath("//main")[0])
    assert "le lien de connexion est communiqué aux inscrits" in upcoming


def test_labels_past_public_video_is_not_offered_to_follow(several: Schedule) -> None:
    printemps = several.session("printemps")
    before = session(several, "printemps", BEFORE_ALL)
    after = session(several, "printemps", AFTER_ALL)
    follow = "//a[normalize-space()='Suivre la visioconférence']"
    assert before.xpath(follow)[0].get("href") == printemps.video_url
    assert after.xpath(follow) == []


def test_labels_tentative_title_says_non_confirme(several: Schedule) -> None:
    page = session(several, "provisoire", BEFORE_ALL)
    assert text(page.xpath("//title")[0]).startswith("Non confirmé : Autres rencontres : Nantes")
    assert meta(page)["og:title"] == "Non confirmé : Autres rencontres : Nantes"
    assert meta(page)["twitter:title"] == "Non confirmé : Autres rencontres : Nantes"


def test_labels_cancelled_title_still_says_annule(several: Schedule) -> None:
    page = session(several, "annulee", BEFORE_ALL)
    assert meta(page)["og:title"] == "Annulé : Matinales d’essai n° 4 : Tours"


@pytest.mark.parametrize(("status", "word"), [("tentative", "Non confirmé"),
                                              ("cancelled", "Annulé")])
def test_labels_every_title_of_a_session_says_it_is_uncertain_or_off(
    write_schedule, status: str, word: str
) -> None:
    """The page said « À confirmer : » in its title, the calendar's SUMMARY, the JSON's headline
    and the « Ajouter à Google Agenda » link did not: Google shows no STATUS:TENTATIVE, and a copy
    added from a link never updates, so a date still to confirm sat in calendars as a firm one."""
    client = create_app({"AGENDA_DATA": str(write_schedule(
        MINIMAL + LYON.replace('city = "Lyon"', f'city = "Lyon"\nstatus = "{status}"'))),
        "TESTING": True}).test_client()
    page = parse(client.get("/events/lyon").data)
    document = client.get("/events/lyon.json").get_json()
    google = parse_qs(urlsplit(page.xpath("//a[contains(@href, 'calendar.google.com')]/@href")[0]
                               if status == "tentative" else "").query).get("text", [])
    titles = [text(page.xpath("//title")[0]).split(" – ")[0], meta(page)["og:title"],
              document["headline"], *google,
              *(str(e["SUMMARY"]) for path in ("/calendar.ics", "/events/lyon.ics")
                for e in icalendar.Calendar.from_ical(client.get(path).data).walk("VEVENT")),
              *(e.title.split(",")[0].replace("\xa0", " ")
                for e in feedparser.parse(client.get("/rss.xml").data).entries)]
    assert len(titles) == (7 if status == "tentative" else 6)
    assert set(titles) == {f"{word} : Série : Lyon"}


def test_labels_meta_description_says_what_an_undated_session_is(shipped: Schedule) -> None:
    description = meta(session(shipped, "biarritz", AFTER_ALL))["description"]
    assert description == (
        "Tour des Villes n° 1 à Biarritz (Club Villes de demain du CEPS), en visioconférence : "
        "séance tenue, date non communiquée."
    )


def test_labels_meta_description_of_a_dated_session(shipped: Schedule) -> None:
    clermont = shipped.session("clermont-ferrand")
    tags = meta(session(shipped, "clermont-ferrand", BEFORE_ALL))
    assert tags["description"] == tags["og:description"]
    assert tags["description"].startswith(
        "Tour des Villes n° 3 à Clermont-Ferrand (Club Villes de demain du CEPS), "
        "en visioconférence : mercredi 19 mai 2021, 8 h 45 – 10 h 15, heure de Paris. "
    )
    assert clermont.title in tags["description"]
    assert tags["description"].endswith("Avec Olivier Bianchi.")


def test_labels_meta_description_says_a_session_was_moved(several: Schedule) -> None:
    """A shared link's preview (og:description) said « Séance annulée. » of a cancelled session
    but nothing of a moved one, whose page, calendar and feed all say « reportée »: a reader who
    had the first date noted saw a new one without a word."""
    tags = meta(session(several, "reportee", BEFORE_ALL))
    first = format_date(several.session("reportee").previous_start, "EEEE d MMMM y", locale="fr")
    assert tags["description"] == tags["og:description"]
    assert tags["description"].startswith(
        f"Séance reportée : elle était prévue le {first} à 8 h 45.")


def test_labels_meta_description_of_an_upcoming_undated_session(several: Schedule) -> None:
    description = meta(session(several, "sans-date", BEFORE_ALL))["description"]
    assert "Brest" in description
    assert "date à venir" in description


def accessible_names(page: lxml.html.HtmlElement) -> list[str]:
    """Names of the named regions (section, aside with aria-labelledby), per ARIA: the
    referenced elements' text, in order, joined by spaces."""
    names = []
    for region in page.xpath("//section[@aria-labelledby] | //aside[@aria-labelledby]"):
        parts = [text(page.get_element_by_id(i)) for i in region.get("aria-labelledby").split()]
        names.append(" ".join(parts))
    return names


def test_labels_agenda_landmark_names_are_unique(several: Schedule) -> None:
    page = parse(html.agenda_page(several, MID_2021))
    names = accessible_names(page)
    assert "Prochaines séances Matinales d’essai" in names
    assert "Séances passées Matinales d’essai" in names
    assert [n for n, count in Counter(names).items() if count > 1] == []
