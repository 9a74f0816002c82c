"""The add-to-calendar links of a session's page and the subscribe links of the agenda, read as
Google and Outlook read them (CLIENTS.md): text that lands as written, short enough to open.

Google reads a query as a form does (« + » is a space); Outlook.com's deeplink and addfromweb
decode only « %XX » (RFC 3986) and show a « + » as a plus sign (spatie/calendar-links #109,
AnandChowdhary/calendar-link #219), so every value must read the same both ways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from agenda.loader import load_schedule
from agenda.render import html
from tests.conftest import MINIMAL

BEFORE = datetime(2021, 1, 1, tzinfo=UTC)
HOSTS = ("calendar.google.com", "outlook.live.com", "outlook.office.com")
THEME = "Vivre & bouger #2 : 1 + 1 = « 3 » ? Les « \"petites\" » villes, l’été 🚲 à 100 %"
VIDEO = "https://meet.example.org/salle?a=1&b=2+3"
SESSION = """
[[sessions]]
id = "a"
series = "s"
number = {number}
city = "{city}"
title = '{title}'
start = 2021-05-19T08:45:00
end = 2021-05-19T10:15:00
announced = 2021-05-01
video_url = "{video}"
video_public = true
status = "{status}"
"""
VENUE = "Visioconférence"
LIMIT = 2_000  # characters: some browsers and servers cut or refuse a longer link (CLIENTS.md)


def read_both_ways(href: str) -> dict[str, str]:
    """The link's query read by RFC 3986 percent-decoding (Outlook), checked to give what form
    decoding (Google, urllib.parse.parse_qsl) gives."""
    query = urlsplit(href).query
    strict = {name: unquote(value) for name, _, value in
              (pair.partition("=") for pair in query.split("&"))}
    assert strict == dict(parse_qsl(query, keep_blank_values=True)), href
    return strict


def add_links(path: Path) -> dict[str, dict[str, str]]:
    """Host -> the decoded query of the session page's add-to-calendar link to that host."""
    page = lxml.html.fromstring(html.session_page(load_schedule(path), load_schedule(path)
                                                  .session("a"), BEFORE))
    hrefs = page.xpath("//*[@id='ajouter']/..//a/@href")
    found = {host: read_both_ways(h) for h in hrefs for host in HOSTS if f"//{host}/" in h}
    assert sorted(found) == sorted(HOSTS)
    assert all(len(h) <= LIMIT for h in hrefs)
    return found


@pytest.fixture
def schedule_with(write_schedule: Callable[..., Path]) -> Callable[..., Path]:
    """A schedule file of one session « a » with the texts given."""
    def write(city: str = "Saint-Étienne & Roanne", title: str = THEME, video: str = VIDEO,
              series: str = "Série + « essai »", number: int = 3, status: str = "confirmed",
              name: str = "Essai & Cie + « amis »") -> Path:
        head = MINIMAL.replace('"Série"', f'"{series}"').replace('"Essai"', f'"{name}"')
        return write_schedule(head + SESSION.format(city=city, title=title, video=video,
                                                    number=number, status=status))
    return write


def test_add_links_carry_the_texts_as_written(schedule_with: Callable[..., Path]) -> None:
    for host, query in add_links(schedule_with()).items():
        title = query["text" if host == "calendar.google.com" else "subject"]
        details = query["details" if host == "calendar.google.com" else "body"]
        assert "Série + « essai »" in title and "Saint-Étienne & Roanne" in title, host
        assert details.splitlines() == [THEME, "https://agenda.example.org/events/a"], host
        assert VIDEO in query["location"], host


def test_subscribe_links_carry_the_calendar_name_as_written(
        schedule_with: Callable[..., Path]) -> None:
    schedule = load_schedule(schedule_with())
    page = lxml.html.fromstring(html.agenda_page(schedule, BEFORE))
    outlook = next(h for h in page.xpath("//*[@id='abonnement']//a/@href")
                   if "addfromweb" in h)
    assert read_both_ways(outlook) == {"url": "https://agenda.example.org/calendar.ics",
                                       "name": "Essai & Cie + « amis »"}


def test_add_links_of_a_tentative_session_say_it_is_to_be_confirmed(
        schedule_with: Callable[..., Path]) -> None:
    """A one-off copy in a calendar is never updated: it must not pass for a firm date."""
    for host, query in add_links(schedule_with(status="tentative")).items():
        title = query["text" if host == "calendar.google.com" else "subject"]
        assert title.startswith("Non confirmé"), host


LONG_THEME = "La ville de demain, « durable » & solidaire ? 🚲 " * 20


@pytest.mark.parametrize("texts", [
    {"title": LONG_THEME},  # the theme gives way: the title and video link stay whole
    {"title": LONG_THEME, "series": "Ü" * 1_000, "video": VIDEO + "&x=" + "y" * 900},
])
def test_add_links_stay_short_and_keep_the_page_link(
        schedule_with: Callable[..., Path], texts: dict[str, str]) -> None:
    """Over 2,000 characters some browsers and servers cut or refuse a link: its theme is cut,
    then its video link dropped, then its title cut; the details always lead to the page."""
    for host, query in add_links(schedule_with(**texts)).items():
        title = query["text" if host == "calendar.google.com" else "subject"]
        details = query["details" if host == "calendar.google.com" else "body"]
        *theme, page = details.splitlines()
        assert page == "https://agenda.example.org/events/a", host
        assert all(t.endswith("…") and LONG_THEME.startswith(t[:-1]) for t in theme), host
        if "series" in texts:
            assert title[:2] == "ÜÜ" and title.endswith("…") and query["location"] == VENUE, host
        else:
            assert theme and title == "Série + « essai » n° 3 : Saint-Étienne & Roanne", host
            assert query["location"] == f"Visioconférence : {VIDEO}", host



@pytest.mark.parametrize(("zone", "start", "end"), [
    ("Europe/Paris", "2021-03-28T01:30:00", "2021-03-28T03:30:00"),  # across the spring change
    ("Europe/Paris", "2021-10-30T23:00:00", "2021-10-31T04:00:00"),  # past midnight, autumn
    ("America/New_York", "2021-11-06T23:30:00", "2021-11-07T02:30:00"),
    ("Australia/Lord_Howe", "2021-04-03T23:00:00", "2021-04-04T03:00:00"),  # half-hour change
])
def test_add_links_give_the_instants_zoneinfo_gives(
        write_schedule: Callable[..., Path], zone: str, start: str, end: str) -> None:
    """One hour off is a missed session: Google's dates and Outlook's startdt/enddt in UTC."""
    head = MINIMAL.replace('organizer', f'timezone = "{zone}"\norganizer')
    session = SESSION.format(city="Lyon", title="", video=VIDEO, number=1, status="confirmed")
    path = write_schedule(head + session.replace("2021-05-19T08:45:00", start)
                          .replace("2021-05-19T10:15:00", end))
    utc = [datetime.fromisoformat(t).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
           for t in (start, end)]
    for host, query in add_links(path).items():
        if host == "calendar.google.com":
            assert query["dates"] == "/".join(f"{t:%Y%m%dT%H%M%SZ}" for t in utc)
        else:
            assert [query["startdt"], query["enddt"]] == [f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in utc]
