"""What an entry says, in RSS and Atom alike: its HTML body read back as HTML, escaping, leaks."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import feedparser
import lxml.html
import pytest
from flask.testing import FlaskClient
from lxml import etree

from agenda import create_app
from agenda.model import Schedule
from agenda.published import published_path
from tests.conftest import MINIMAL, SEVERAL, SHIPPED

FORMATS = ["/rss.xml", "/atom.xml"]
NS = {"a": "http://www.w3.org/2005/Atom"}


@dataclass(frozen=True)
class Entry:
    """One entry as a reader sees it: title text (its non-breaking spaces read as plain ones)
    and body parsed as an HTML fragment."""

    title: str
    body: lxml.html.HtmlElement

    @property
    def text(self) -> str:
        return self.body.text_content()

    def hrefs(self) -> list[str]:
        return [a.get("href") for a in self.body.iter("a")]


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def entries(body: bytes) -> dict[str, Entry]:
    """Announcement entries by session id, read with lxml from either format (changes left out)."""
    root = etree.fromstring(body)
    found: dict[str, Entry] = {}
    if root.tag == "rss":
        for item in root.iter("item"):
            if "#revision-" in item.findtext("guid"):
                continue
            body = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
            html = lxml.html.fragment_fromstring(body, create_parent="div")
            title = plain(item.findtext("title"))
            found[item.findtext("guid").rsplit("/", 1)[-1]] = Entry(title, html)
    else:
        for entry in root.findall("a:entry", NS):
            if "#revision-" in entry.findtext("a:id", namespaces=NS):
                continue
            content = entry.find("a:content", NS)
            assert content.get("type") == "html"
            html = lxml.html.fragment_fromstring(content.text, create_parent="div")
            ident = entry.findtext("a:id", namespaces=NS)
            title = plain(entry.findtext("a:title", namespaces=NS))
            found[ident.rsplit("/", 1)[-1]] = Entry(title, html)
    return found


def lines(entry: Entry) -> list[str]:
    """The body's paragraphs and list items, as text."""
    # Non-breaking spaces (inside times, between day and month) read as plain ones here.
    return [e.text_content().replace("\u00a0", " ") for e in entry.body.iter("p", "li")]


@pytest.mark.parametrize("path", FORMATS)
def test_feed_markup_in_data_is_text(path: str, several_client: FlaskClient) -> None:
    raw = several_client.get(path).data
    entry = entries(raw)["texte-difficile"]
    assert list(entry.body.iter("script")) == []
    assert [b.text for b in entry.body.iter("b")] == []
    assert '<script>document.title = "pwned"</script> & <b>gras</b>' in lines(entry)
    assert "Intervenant : Jean <b>Gras</b> & Fils, Invité" in lines(entry)
    # Escaped twice in the raw XML: once for HTML, once for XML.
    assert b"<script" not in raw
    assert b"&amp;lt;script&amp;gt;" in raw


@pytest.mark.parametrize("path", FORMATS)
def test_feed_markup_in_data_survives_feedparser_sanitizer(
    path: str, several_client: FlaskClient
) -> None:
    parsed = feedparser.parse(several_client.get(path).data)
    (entry,) = [e for e in parsed.entries if e.id.endswith("/texte-difficile")]
    html = entry.content[0].value if "content" in entry else entry.summary
    text = lxml.html.fragment_fromstring(html, create_parent="div").text_content()
    assert '<script>document.title = "pwned"</script> & <b>gras</b>' in text


@pytest.mark.parametrize("path", FORMATS)
def test_feed_accents_apostrophes_guillemets_survive(path: str, several: Schedule) -> None:
    # Before the session (16 June 2021), while its entry still offers registration.
    app = create_app({"AGENDA_DATA": str(SEVERAL), "AGENDA_NOW": "2021-06-01T12:00:00+02:00",
                      "TESTING": True})
    entry = entries(app.test_client().get(path).data)["texte-difficile"]
    session = several.session("texte-difficile")
    assert session is not None
    assert entry.title.startswith("Matinales d’essai n° 3 : L’Haÿ-les-Roses, ")
    assert f"Thème : {session.title}" in lines(entry)
    assert "Intervenant : Émilie d’Arçon, Maire, présidente ; « métropole »" in lines(entry)
    assert "Fin 🎉" in lines(entry)
    assert "https://example.org/inscription?a=1&b=2" in entry.hrefs()


@pytest.mark.parametrize("path", FORMATS)
def test_feed_private_video_link_never_appears(path: str, several_client: FlaskClient) -> None:
    for query in ("", "?series=essais", "?city=Orl%C3%A9ans"):
        raw = several_client.get(path + query).data
        assert b"SECRET" not in raw
        assert b"private-room" not in raw


@pytest.mark.parametrize("path", FORMATS)
def test_feed_public_video_link_is_clickable(
    path: str, several_client: FlaskClient, several: Schedule
) -> None:
    session = several.session("printemps")
    assert session is not None and session.video_public
    entry = entries(several_client.get(path).data)["printemps"]
    assert session.video_url in entry.hrefs()


@pytest.mark.parametrize("path", FORMATS)
def test_feed_cancelled_entry_says_so(path: str, several_client: FlaskClient) -> None:
    entry = entries(several_client.get(path).data)["annulee"]
    assert entry.title.startswith("Annulé : ")
    assert lines(entry)[0] == "Séance annulée."
    # No invitation to register for a session that will not take place.
    assert "https://example.org/inscription/tours" not in entry.hrefs()


@pytest.mark.parametrize("path", FORMATS)
def test_feed_rescheduled_entry_shows_former_date(path: str, several_client: FlaskClient) -> None:
    # "reportee" moved from Wednesday 15 December 2021 to Wednesday 19 January 2022.
    entry = entries(several_client.get(path).data)["reportee"]
    assert entry.title.replace("\u00a0", " ") == (
        "Reporté : Autres rencontres : Lille, mercredi 19 janvier 2022, 8 h 45 – 10 h 15 "
        "(au lieu du mercredi 15 décembre 2021 à 8 h 45)"
    )
    assert lines(entry)[0] == (
        "Séance reportée. Elle était prévue le mercredi 15 décembre 2021 à 8 h 45."
    )


@pytest.mark.parametrize("path", FORMATS)
def test_feed_shipped_body_gives_press_release_facts(path: str, shipped: Schedule) -> None:
    session = shipped.session("clermont-ferrand")
    assert session is not None and session.moderator is not None
    # As the feed read on the day of the press release (its registration link is gone once
    # the session is over, as on its page).
    app = create_app({"AGENDA_DATA": str(SHIPPED), "AGENDA_NOW": "2021-05-14T12:00:00+02:00",
                      "TESTING": True})
    entry = entries(app.test_client().get(path).data)["clermont-ferrand"]
    body = lines(entry)
    assert f"Thème : {session.title}" in body
    (speaker,) = session.speakers
    assert f"Intervenant : {speaker.name}, {speaker.role}" in body
    assert f"Animation : {session.moderator.name}, {session.moderator.role}" in body
    # Press release: « LE MERCREDI 19 MAI DE 8H45 A 10H15 », Paris time.
    date_line = (
        "Date : mercredi 19 mai 2021, 8 h 45 – 10 h 15 (heure de Paris), en visioconférence."
    )
    assert date_line in body
    assert entry.hrefs()[:3] == [
        "https://oandb.typeform.com/to/kjo9UbK5",
        "https://agenda.ceps-oing.org/events/clermont-ferrand",
        "https://agenda.ceps-oing.org/events/clermont-ferrand.ics",
    ]
    for contact in shipped.contacts:
        line = f"{contact.name} ({contact.organization}) – {contact.phone} – {contact.email}"
        assert line in body
        assert f"mailto:{contact.email}" in entry.hrefs()


@pytest.mark.parametrize("render", ["rss_bytes", "atom_bytes"])
def test_a_feed_holds_the_newest_entries_only(
    render: str, several: Schedule, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from agenda.render import feeds

    until = datetime(2100, 1, 1, tzinfo=UTC)
    full = feedparser.parse(getattr(feeds, render)(several, several.sessions, until=until))
    assert len(full.entries) > 2
    monkeypatch.setattr(feeds, "MAX_ENTRIES", 2)
    window = feedparser.parse(getattr(feeds, render)(several, several.sessions, until=until))
    assert [e.id for e in window.entries] == [e.id for e in full.entries[:2]]
    stamps = [e.get("published_parsed") or e.get("updated_parsed") for e in full.entries]
    assert stamps == sorted(stamps, reverse=True)  # newest first: the window is the newest


@pytest.mark.parametrize("path", FORMATS)
def test_feed_entry_of_a_session_over_offers_no_registration_as_its_page(
    path: str, tmp_path: Path
) -> None:
    data = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, data)
    shutil.copyfile(published_path(SEVERAL), published_path(data))
    registration = "https://example.org/inscription/automne"
    # The day before automne (31 October 2021, 9:00 to 10:30), then the day after.
    for now, over in (("2021-10-30T12:00:00+02:00", False), ("2021-11-01T12:00:00+01:00", True)):
        app = create_app({"AGENDA_DATA": str(data), "AGENDA_NOW": now, "TESTING": True})
        client = app.test_client()
        entry = entries(client.get(path).data)["automne"]
        page = lxml.html.fromstring(client.get("/events/automne").data)
        assert (registration in entry.hrefs()) is (registration in page.xpath("//a/@href"))
        assert (registration in entry.hrefs()) is not over
        said = "Visioconférence : le lien de connexion est communiqué aux inscrits."
        assert (said in lines(entry)) is not over
        assert b"private-room" not in client.get(path).data


@pytest.mark.parametrize("path", FORMATS)
def test_feed_markup_in_the_calendar_description_is_text(path: str, tmp_path: Path) -> None:
    # RSS readers take the channel's description as HTML (feedparser says text/html), as
    # they take an item's; Atom's subtitle is text. Either way, readers show the text.
    description = 'Villes & territoires <img src="x" onerror="alert(1)"> <b>gras</b>'
    schedule = tmp_path / "sessions.toml"
    text = MINIMAL.replace('name = "Essai"', f"name = \"Essai\"\ndescription = '{description}'")
    schedule.write_text(text, encoding="utf-8")
    parsed = feedparser.parse(create_app({"AGENDA_DATA": str(schedule)}).test_client().get(
        path).data)
    subtitle = parsed.feed.subtitle_detail
    shown = lxml.html.fragment_fromstring(subtitle.value, create_parent="div").text_content() \
        if subtitle.type == "text/html" else subtitle.value
    assert shown == description


@pytest.mark.parametrize("path", FORMATS)
@pytest.mark.parametrize("now", ["2021-11-01T12:00:00+01:00", "2021-12-01T12:00:00+01:00"])
def test_feed_offers_to_add_to_a_calendar_only_what_is_still_to_come(
    path: str, now: str, several: Schedule
) -> None:
    """As the session's page does: a cancelled session, or one that is over, has no
    « Ajouter à mon agenda » (it gave a journalist a cancelled event to add)."""
    app = create_app({"AGENDA_DATA": str(SEVERAL), "TESTING": True, "AGENDA_NOW": now})
    moment = datetime.fromisoformat(now)
    found = entries(app.test_client().get(path).data)
    page = app.test_client().get
    offered = {}
    for ident, entry in found.items():
        session = several.session(ident)
        assert session is not None
        ics = [h for h in entry.hrefs() if h.endswith(".ics")]
        offered[ident] = bool(ics)
        adds = lxml.html.fromstring(page(f"/events/{ident}").data).xpath(
            "//a[@download and contains(@href, '.ics')]")
        assert bool(ics) == bool(adds), ident  # as its page
        assert bool(ics) == (session.is_dated and not session.is_cancelled
                             and session.end is not None and session.end > moment), ident
        assert all(page(h.removeprefix(several.calendar.base_url)).status_code == 200
                   for h in ics)
    # Tours, cancelled, to come on 1 November; Lille, moved, to come on 1 December.
    assert offered["annulee"] is False
    assert offered.get("reportee", False) == now.startswith("2021-12")


@pytest.mark.parametrize("path", FORMATS)
def test_every_entry_has_a_short_summary_beside_its_body(path: str,
                                                         several_client: FlaskClient) -> None:
    """Feedly's and Inoreader's lists, Slack's RSS app and Mailchimp's *|RSSITEM:CONTENT|* show
    the RSS description or Atom summary as a teaser: it was the whole body (press contacts,
    links), cut mid-list. It is now the page's own description, text; the body stays whole."""
    raw = several_client.get(path).data
    parsed = feedparser.parse(raw)
    assert parsed.bozo == 0 and parsed.entries
    for entry in parsed.entries:
        page = lxml.html.fromstring(several_client.get(entry.link.split("#")[0]).data)
        (described,) = page.xpath("//meta[@name='description']/@content")
        teaser = lxml.html.fragment_fromstring(entry.summary, create_parent="div").text_content()
        assert plain(teaser) == plain(described), entry.id
        assert "\n" not in teaser and len(teaser) < len(entry.content[0].value)
        assert "Date :" in plain(lxml.html.fromstring(entry.content[0].value).text_content())
    root = etree.fromstring(raw)  # feedparser takes either for the other: the elements
    for item in root.iter("item", "{http://www.w3.org/2005/Atom}entry"):
        summary = item.find("description") if root.tag == "rss" else item.find("a:summary", NS)
        body = item.find("{http://purl.org/rss/1.0/modules/content/}encoded") \
            if root.tag == "rss" else item.find("a:content", NS)
        assert summary is not None and body is not None and summary.text != body.text
