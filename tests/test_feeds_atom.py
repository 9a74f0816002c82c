"""Atom 1.0 at /atom.xml: RFC 4287's required elements, dates with their offset, ids."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import etree

from agenda.loader import parse_schedule
from agenda.model import Schedule
from agenda.published import next_version
from agenda.render import feeds
from tests.conftest import LYON_OCTOBER, MINIMAL

PARIS = ZoneInfo("Europe/Paris")
NS = {"a": "http://www.w3.org/2005/Atom"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# RFC 3339 date-time, as RFC 4287 section 3.3 requires (an offset or Z is mandatory).
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")


def plain(text: str) -> str:
    """Text with its non-breaking spaces (inside times, between day and month) as plain ones."""
    return text.replace("\u00a0", " ")


def root(body: bytes) -> etree._Element:
    found = etree.fromstring(body)
    assert found.tag == "{http://www.w3.org/2005/Atom}feed"
    return found


def one(element: etree._Element, name: str) -> etree._Element:
    (found,) = element.findall(f"a:{name}", NS)
    return found


def entry_of(feed: etree._Element, session_id: str) -> etree._Element:
    wanted = f"/events/{session_id}"
    (found,) = [e for e in feed.findall("a:entry", NS) if one(e, "id").text.endswith(wanted)]
    return found


def assert_rfc4287(feed: etree._Element) -> None:
    """The MUSTs of RFC 4287 that a feed like ours can break."""
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"a:{name}", NS)) == 1, name
    assert RFC3339.match(one(feed, "updated").text)
    authors = feed.findall("a:author", NS)
    assert authors, "the feed must have an author when entries have none"
    assert all(len(a.findall("a:name", NS)) == 1 for a in authors)
    assert one(feed, "id").text.startswith("https://")
    for entry in feed.findall("a:entry", NS):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"a:{name}", NS)) == 1, name
        assert RFC3339.match(one(entry, "updated").text)
        assert RFC3339.match(one(entry, "published").text)
        links = entry.findall("a:link", NS)
        assert links
        alternates = [
            (link.get("type"), link.get("hreflang"))
            for link in links
            if link.get("rel", "alternate") == "alternate"
        ]
        assert len(alternates) == len(set(alternates)), "one alternate per type and language"
        for content in entry.findall("a:content", NS):
            assert content.get("type") in ("text", "html", "xhtml")


@pytest.mark.parametrize("fixture", ["client", "several_client"])
def test_atom_feed_valid_to_rfc4287(fixture: str, request: pytest.FixtureRequest) -> None:
    body = request.getfixturevalue(fixture).get("/atom.xml").data
    assert_rfc4287(root(body))
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0
    assert parsed.version == "atom10"


def test_atom_shipped_entry_matches_press_release(client: FlaskClient) -> None:
    # The press release of 14 May 2021 announces matinale no. 3, Wednesday 19 May, 8:45-10:15.
    (entry,) = root(client.get("/atom.xml").data).findall("a:entry", NS)
    assert plain(one(entry, "title").text) == (
        "Tour des Villes n° 3 : Clermont-Ferrand, mercredi 19 mai 2021, 8 h 45 – 10 h 15"
    )
    assert one(entry, "id").text == "https://agenda.ceps-oing.org/events/clermont-ferrand"
    assert one(entry, "published").text == "2021-05-14T00:00:00+02:00"
    assert one(entry, "link").get("href") == "https://agenda.ceps-oing.org/events/clermont-ferrand"


def test_atom_feed_head_describes_calendar(client: FlaskClient, shipped: Schedule) -> None:
    feed = root(client.get("/atom.xml").data)
    info = shipped.calendar
    assert feed.get(XML_LANG) == "fr"
    assert one(feed, "title").text == info.name
    assert one(feed, "subtitle").text == info.description
    assert one(feed, "id").text == "https://agenda.ceps-oing.org/atom.xml"
    author = one(feed, "author")
    assert one(author, "name").text == info.organizer.name
    assert one(author, "email").text == info.organizer.email
    links = {link.get("rel"): link.get("href") for link in feed.findall("a:link", NS)}
    assert links == {
        "self": "https://agenda.ceps-oing.org/atom.xml",
        "alternate": "https://agenda.ceps-oing.org/",
    }


def announcement_entries(feed):
    """The entries that announce a session; change entries have '#revision-' ids."""
    return [e for e in feed.findall("a:entry", NS) if "#revision-" not in one(e, "id").text]


def test_atom_published_is_announcement_updated_is_last_change(
    several_client: FlaskClient, several: Schedule
) -> None:
    feed = root(several_client.get("/atom.xml").data)
    for entry in announcement_entries(feed):
        session = several.session(one(entry, "id").text.rsplit("/", 1)[-1])
        assert session is not None and session.start is not None
        published = datetime.fromisoformat(one(entry, "published").text)
        updated = datetime.fromisoformat(one(entry, "updated").text)
        assert published == session.announced
        assert updated == session.updated
        # Shown in the calendar's zone, with the offset in force on that day.
        assert published.utcoffset() == session.announced.astimezone(PARIS).utcoffset()
        assert published != session.start


def test_atom_session_prepared_ahead_of_its_announcement_is_news_at_the_announcement() -> None:
    # Added on 3 October, moved on the 5th, announced on the 10th: once out, the entry and
    # the feed are dated the 10th, not a week earlier (readers sorting by `updated` show it
    # as new), and the move, made before journalists heard of the session, is no entry.
    text = MINIMAL + LYON_OCTOBER
    first, _ = next_version(None, text.encode(), "s.toml", datetime(2026, 10, 1, tzinfo=PARIS))
    added = text + text[len(MINIMAL):].replace("lyon", "metz").replace("Lyon", "Metz").replace(
        "2026-10-01", "2026-10-10")
    second, _ = next_version(first, added.encode(), "s.toml", datetime(2026, 10, 3, tzinfo=PARIS))
    moved = added.replace("2026-10-21T08:45:00\nend = 2026-10-21T10:15:00\nannounced = 2026-10-10",
                          "2026-10-22T08:45:00\nend = 2026-10-22T10:15:00\nannounced = 2026-10-10")
    version, _ = next_version(second, moved.encode(), "s.toml", datetime(2026, 10, 5, tzinfo=PARIS))
    schedule = version.schedule
    assert any(r.news for r in schedule.session("metz").revisions)  # a rescheduling
    body = feeds.atom_bytes(schedule, schedule.sessions, until=datetime(2026, 10, 11, tzinfo=PARIS))
    parsed = feedparser.parse(body)
    (entry,) = [e for e in parsed.entries if "/metz" in e.id]
    assert (entry.published, entry.updated) == ("2026-10-10T00:00:00+02:00",) * 2
    assert parsed.feed.updated == "2026-10-10T00:00:00+02:00"


def test_atom_cancelled_entry_updated_after_announcement(several_client: FlaskClient) -> None:
    # "annulee": announced 20 October 2021 (summer time), cancelled 10 November 14:00 (winter).
    entry = entry_of(root(several_client.get("/atom.xml").data), "annulee")
    assert one(entry, "published").text == "2021-10-20T00:00:00+02:00"
    assert one(entry, "updated").text == "2021-11-10T14:00:00+01:00"
    assert plain(one(entry, "title").text) == (
        "Annulé : Matinales d’essai n° 4 : Tours, mercredi 17 novembre 2021, 8 h 45 – 10 h 15"
    )


def test_atom_feed_updated_is_latest_entry_not_other_sessions(
    several_client: FlaskClient, several: Schedule
) -> None:
    feed = root(several_client.get("/atom.xml").data)
    updated = datetime.fromisoformat(one(feed, "updated").text)
    entry_updates = [datetime.fromisoformat(one(e, "updated").text)
                     for e in feed.findall("a:entry", NS)]
    # Read today, every session is over: an entry's body changes at its session's end.
    ends = [s.end for s in several.sessions if s.announced is not None and s.end is not None]
    assert updated == max(entry_updates + ends)
    # "provisoire" changed later (2022-01-05) but is not announced, so it is no entry.
    provisoire = several.session("provisoire")
    assert provisoire is not None and provisoire.updated is not None
    assert provisoire.updated > max(entry_updates)
    assert one(feed, "updated").text == "2022-01-19T10:15:00+01:00"  # "reportee" ended


def test_atom_ids_are_permanent_page_urls(several_client: FlaskClient, several: Schedule) -> None:
    feed = root(several_client.get("/atom.xml").data)
    announced = {s.id for s in several.sessions if s.announced is not None}
    ids = [one(e, "id").text for e in announcement_entries(feed)]
    assert sorted(ids) == sorted(f"https://agenda.example.org/events/{i}" for i in announced)
    for entry in feed.findall("a:entry", NS):
        assert one(entry, "link").get("href") == one(entry, "id").text  # a change's: #revision-N


def test_atom_filtered_feed_without_entries_is_dated_from_data(
    several_client: FlaskClient, several: Schedule
) -> None:
    # Brest's only session is not announced: an empty feed, still valid and still dated.
    response = several_client.get("/atom.xml?city=brest")
    feed = root(response.data)
    assert feed.findall("a:entry", NS) == []
    assert_rfc4287(feed)
    latest = max(s.updated for s in (*several.sessions, *several.planned) if s.updated)
    assert datetime.fromisoformat(one(feed, "updated").text) == latest
    assert one(feed, "id").text == "https://agenda.example.org/cities/brest/atom.xml"


def test_atom_updated_without_any_date_is_fixed() -> None:
    schedule = parse_schedule(
        MINIMAL
        + """
        [[sessions]]
        id = "un"
        series = "s"
        city = "Metz"
        """
    )
    first = feeds.atom_bytes(schedule, schedule.sessions)
    assert first == feeds.atom_bytes(schedule, schedule.sessions)
    # Nothing in the data is dated: a fixed instant, never the clock.
    updated = datetime.fromisoformat(one(root(first), "updated").text)
    assert updated.year == 1970
