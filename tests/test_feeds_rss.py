"""RSS 2.0 at /rss.xml, read back with feedparser and, independently, with lxml."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import feedparser
from flask.testing import FlaskClient
from lxml import etree

from agenda.loader import parse_schedule
from agenda.model import Schedule
from agenda.render import feeds
from tests.conftest import MINIMAL

PARIS = ZoneInfo("Europe/Paris")
ATOM_NS = "http://www.w3.org/2005/Atom"
# Read from tests/fixtures/several_sessions.toml: announced 2021-11-25, 2021-10-20,
# 2021-10-04, 2021-05-20, 2021-03-01. "provisoire" and "sans-date" are not announced.
SEVERAL_NEWEST_FIRST = ["reportee", "annulee", "automne", "texte-difficile", "printemps"]


def plain(text: str) -> str:
    """Text with its non-breaking spaces (inside times, between day and month) as plain ones."""
    return text.replace("\u00a0", " ")


def channel(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    (found,) = root.findall("channel")
    return found


def rfc822(text: str | None) -> datetime:
    assert text is not None
    return parsedate_to_datetime(text)


def test_rss_shipped_parses_without_bozo(client: FlaskClient, shipped: Schedule) -> None:
    parsed = feedparser.parse(client.get("/rss.xml").data)
    assert parsed.bozo == 0
    assert parsed.version == "rss20"
    assert parsed.feed.title == shipped.calendar.name
    assert parsed.feed.language == "fr"
    assert len(parsed.entries) == len([s for s in shipped.sessions if s.announced])


def test_rss_shipped_item_matches_press_release(client: FlaskClient) -> None:
    # The press release of 14 May 2021 announces matinale no. 3, Wednesday 19 May, 8:45-10:15.
    (item,) = channel(client.get("/rss.xml").data).findall("item")
    assert plain(item.findtext("title")) == (
        "Tour des Villes n° 3 : Clermont-Ferrand, mercredi 19 mai 2021, 8 h 45 – 10 h 15"
    )
    assert item.findtext("pubDate") == "Fri, 14 May 2021 00:00:00 +0200"
    assert rfc822(item.findtext("pubDate")) == datetime(2021, 5, 14, tzinfo=PARIS)
    assert item.findtext("link") == "https://agenda.ceps-oing.org/events/clermont-ferrand"
    guid = item.find("guid")
    assert guid is not None
    assert guid.text == "https://agenda.ceps-oing.org/events/clermont-ferrand"
    assert guid.get("isPermaLink") == "true"


def test_rss_channel_link_is_agenda_page_not_feed(client: FlaskClient, shipped: Schedule) -> None:
    found = channel(client.get("/rss.xml").data)
    assert found.findtext("link") == shipped.calendar.base_url.rstrip("/") + "/"
    (self_link,) = found.findall(f"{{{ATOM_NS}}}link")
    assert self_link.get("rel") == "self"
    assert self_link.get("href") == "https://agenda.ceps-oing.org/rss.xml"
    assert self_link.get("type") == "application/rss+xml"


def test_rss_channel_describes_calendar(several_client: FlaskClient, several: Schedule) -> None:
    found = channel(several_client.get("/rss.xml").data)
    info = several.calendar
    assert found.findtext("title") == info.name
    assert found.findtext("description") == info.description
    assert found.findtext("language") == info.language
    assert found.findtext("managingEditor") == f"{info.organizer.email} ({info.organizer.name})"


def test_rss_last_build_date_is_latest_entry_update(
    several_client: FlaskClient, several: Schedule
) -> None:
    found = channel(several_client.get("/rss.xml").data)
    announced = [s for s in several.sessions if s.announced is not None]
    # Read today, every session is over: its entry lost its registration link at its end,
    # which is then the channel's last change.
    latest = max([s.updated for s in announced if s.updated is not None]
                 + [s.end for s in announced if s.end is not None])
    assert rfc822(found.findtext("lastBuildDate")) == latest
    # "reportee" ended on 19 January 2022 at 10:15 Paris time (winter, +01:00).
    assert found.findtext("lastBuildDate") == "Wed, 19 Jan 2022 10:15:00 +0100"


def test_rss_several_items_newest_announcement_first(several_client: FlaskClient) -> None:
    body = several_client.get("/rss.xml").data
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0
    expected = [f"https://agenda.example.org/events/{i}" for i in SEVERAL_NEWEST_FIRST]
    # Change entries (ids with '#revision-') sit among them; announcements keep their order.
    assert [e.id for e in parsed.entries if "#" not in e.id] == expected
    guids = [i.findtext("guid") for i in channel(body).findall("item")]
    assert [g for g in guids if "#" not in g] == expected


def test_rss_parsers_agree_on_titles_and_links(several_client: FlaskClient) -> None:
    body = several_client.get("/rss.xml").data
    items = channel(body).findall("item")
    entries = feedparser.parse(body).entries
    assert [e.title for e in entries] == [i.findtext("title") for i in items]
    assert [e.link for e in entries] == [i.findtext("link") for i in items]


def test_rss_pubdate_is_announcement_not_event(
    several_client: FlaskClient, several: Schedule
) -> None:
    for item in channel(several_client.get("/rss.xml").data).findall("item"):
        if "#revision-" in item.findtext("guid", ""):
            continue  # a change entry is dated at its revision
        session_id = item.findtext("guid", "").rsplit("/", 1)[-1]
        session = several.session(session_id)
        assert session is not None and session.start is not None
        published = rfc822(item.findtext("pubDate"))
        assert published == session.announced
        assert published.utcoffset() == session.announced.astimezone(PARIS).utcoffset()
        assert published.date() != session.start.date()
        # The event's date is in the title instead.
        assert str(session.start.year) in item.findtext("title", "")


def test_rss_automne_dates_land_where_they_belong(several_client: FlaskClient) -> None:
    # Announced Monday 4 October 2021 at 10:30 (summer time); held Sunday 31 October
    # 2021 at 9:00, the first day of winter time.
    items = channel(several_client.get("/rss.xml").data).findall("item")
    (item,) = [i for i in items if i.findtext("guid", "").endswith("/automne")]
    assert item.findtext("pubDate") == "Mon, 04 Oct 2021 10:30:00 +0200"
    assert plain(item.findtext("title")) == (
        "Matinales d’essai n° 2 : Orléans, dimanche 31 octobre 2021, 9 h – 10 h 30"
    )


def test_rss_order_follows_announcements_not_events() -> None:
    schedule = parse_schedule(
        MINIMAL
        + """
        [[sessions]]
        id = "tot-annoncee"
        series = "s"
        city = "Metz"
        start = 2022-06-01T09:00:00
        end = 2022-06-01T10:00:00
        announced = 2022-01-10
        [[sessions]]
        id = "tard-annoncee"
        series = "s"
        city = "Nancy"
        start = 2022-03-01T09:00:00
        end = 2022-03-01T10:00:00
        announced = 2022-02-01
        """
    )
    items = channel(feeds.rss_bytes(schedule, schedule.sessions)).findall("item")
    # Nancy is held first but was announced last: it is the newest item.
    assert [i.findtext("link") for i in items] == [
        "https://agenda.example.org/events/tard-annoncee",
        "https://agenda.example.org/events/tot-annoncee",
    ]


def test_rss_tentative_item_marked_non_confirme() -> None:
    schedule = parse_schedule(
        MINIMAL
        + """
        [[sessions]]
        id = "peut-etre"
        series = "s"
        number = 7
        city = "Metz"
        status = "tentative"
        start = 2022-06-01T09:00:00
        end = 2022-06-01T10:30:00
        announced = 2022-05-02
        """
    )
    (item,) = channel(feeds.rss_bytes(schedule, schedule.sessions)).findall("item")
    # 1 June 2022 is a Wednesday.
    assert plain(item.findtext("title")) == (
        "Non confirmé : Série n° 7 : Metz, mercredi 1er juin 2022, 9 h – 10 h 30"
    )
    assert item.findtext("pubDate") == "Mon, 02 May 2022 00:00:00 +0200"
