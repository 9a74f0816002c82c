"""CLIENTS.md's rules, checked on every calendar and news file we serve.

Each data set (the shipped file, the fixtures: moved, cancelled, tentative, planned dates of a
rhythm, a public and a private video link, a withdrawn session) is built as `agenda build`
exports it; every .ics and feed of the folder, the filtered feeds asked with ?series= and ?city=,
and the personal .ics of `agenda link` are read back by independent parsers."""

from __future__ import annotations

import io
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import lxml.etree
import lxml.html
import pytest
import vobject
from click.testing import CliRunner
from dateutil.tz import tzical

from agenda import create_app
from agenda.cli import main
from agenda.loader import load_schedule
from tests.conftest import FIXTURES, SEVERAL, SHIPPED
from tests.test_ical_vtimezone import instants

NOW = "2026-12-05T12:00:00+01:00"
SECRET = "Vq3xL9pZ2mK7tR4wY8bN6cD1fG5hJ0sA"
PRIVATE = "https://meet.example.org/private-room-SECRET"  # several_sessions.toml's « automne »
SUBSCRIPTION_ONLY = ("NAME", "X-WR-CALNAME", "X-WR-TIMEZONE", "REFRESH-INTERVAL",
                     "X-PUBLISHED-TTL")


def withdrawn(folder: Path, runner: CliRunner) -> Path:
    """The several-sessions fixture, published, then again without « provisoire », withdrawn,
    and with « automne » three days later."""
    raw = SEVERAL.read_text("utf-8")
    path = folder / "sessions.toml"
    path.write_text(raw, "utf-8")
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    start, end = raw.index('[[sessions]]\nid = "provisoire"'), raw.index('[[sessions]]\nid = "sans')
    moved = raw[:start] + raw[end:]  # and « automne » moved, as the history then tells it
    path.write_text(moved.replace("2021-10-31T", "2021-11-03T"), "utf-8")
    assert runner.invoke(main, ["publish", "--withdraw", "provisoire", str(path)]).exit_code == 0
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """'<data set>:<url>' -> bytes, for every .ics, RSS, Atom and HTML file we serve."""
    runner, found = CliRunner(), {}
    sources = {"shipped": SHIPPED, "several": SEVERAL, "readers": FIXTURES / "readers.toml",
               "rhythm": FIXTURES / "desk_preview.toml", "withdrawn": None}
    for name, source in sources.items():
        folder = tmp_path_factory.mktemp(name)
        if source is None:
            path = withdrawn(folder, runner)
        else:
            path = Path(shutil.copy(source, folder / "sessions.toml"))
            history = source.with_name(source.stem + ".published.json")
            if history.exists():
                shutil.copy(history, folder / "sessions.published.json")
        built = runner.invoke(main, ["build", "--publish", "--now", NOW, "--data", str(path),
                                     str(folder / "site")])
        assert built.exit_code == 0, built.output
        for file in (folder / "site").rglob("*"):
            if file.suffix in (".ics", ".xml", ".html") and "_" not in file.parts[-2][:1]:
                found[f"{name}:/{file.relative_to(folder / 'site')}"] = file.read_bytes()
        schedule = load_schedule(path)
        config = {"AGENDA_DATA": str(path), "AGENDA_SECRET": SECRET, "AGENDA_NOW": NOW}
        client = create_app(config).test_client()
        urls = [f"/{kind}?series={s.id}" for s in schedule.series
                for kind in ("calendar.ics", "rss.xml", "atom.xml")]
        urls += [f"/calendar.ics?city={city}" for city in schedule.cities()]
        for session in schedule.dated_sessions:
            linked = runner.invoke(main, ["link", session.id, "--email", "a@example.org",
                                          "--data", str(path)], env={"AGENDA_SECRET": SECRET})
            assert linked.exit_code == 0, linked.output
            page = linked.output.splitlines()[-1].split(schedule.calendar.host, 1)[1]
            urls.append(page.replace("?", ".ics?", 1))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            found[f"{name}:{url}"] = response.data
    return found


def calendars(served: dict[str, bytes]) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in served.items() if ".ics" in k]


def is_download(key: str) -> bool:
    return ":/events/" in key


def test_every_kind_of_file_is_checked(served: dict[str, bytes]) -> None:
    keys = list(served)
    for kind in (r"shipped:/calendar\.ics$", r"several:/events/reportee\.ics$",
                 r"several:/events/annulee\.ics$", r"rhythm:/calendar\.ics$",
                 r"withdrawn:/cities/nantes/calendar\.ics$", r"\?series=", r"\?city=",
                 r"/private/.*\.ics\?email=", r"/series/.*/atom\.xml$", r"/cities/.*/rss\.xml$"):
        assert any(re.search(kind, k) for k in keys), kind
    moved = icalendar.Calendar.from_ical(served["withdrawn:/events/automne.ics"])
    assert "(initialement prévue le dimanche 31" in str(moved.walk("VEVENT")[0]["DESCRIPTION"])


def test_every_tzid_has_its_vtimezone_in_yearly_rules(served: dict[str, bytes]) -> None:
    """Outlook: a TZID without its VTIMEZONE is an hour off; RDATE lists are ignored."""
    for key, data in calendars(served):
        calendar = icalendar.Calendar.from_ical(data)
        zones = {str(z["TZID"]) for z in calendar.walk("VTIMEZONE")}
        assert set(re.findall(r"TZID=([^:;]+)", data.decode())) <= zones, key
        assert zones, key  # RFC 5545: a component, even in a feed without events
        for sub in (*calendar.walk("STANDARD"), *calendar.walk("DAYLIGHT")):
            assert "RDATE" not in sub, key


def test_every_time_reads_from_our_vtimezone_as_zoneinfo_says(served: dict[str, bytes]) -> None:
    """A reader that knows no Europe/Paris (ical.js) reads the VTIMEZONE we send."""
    for number, (key, data) in enumerate(calendars(served)):
        # A name of its own: vobject keeps the first VTIMEZONE of a name for the whole process.
        zone = f"Test/Clients{number}".encode()
        renamed = data.replace(b"TZID:Europe/Paris", b"TZID:" + zone).replace(
            b"TZID=Europe/Paris", b"TZID=" + zone)
        ours = icalendar.Calendar.from_ical(data).walk("VEVENT")
        theirs = vobject.readOne(renamed.decode()).contents.get("vevent", [])
        assert len(theirs) == len(ours), key
        for mine, other in zip(ours, theirs, strict=True):
            for name in ("DTSTART", "DTEND"):
                expected = mine.decoded(name)
                assert getattr(expected.tzinfo, "key", None) == "Europe/Paris", key
                read = other.contents[name.lower()][0].value
                assert read.astimezone(UTC) == expected.astimezone(UTC), (key, name)


def test_every_vtimezone_gives_zoneinfo_offsets_at_every_change_of_its_years(
    served: dict[str, bytes],
) -> None:
    """RFC 5545's onsets (02:00 for Paris in March, 03:00 in October), read by dateutil, in
    every year that holds an event."""
    for key, data in calendars(served):
        times = [e.decoded(n) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")
                 for n in ("DTSTART", "DTEND")]
        zone = ZoneInfo("Europe/Paris")
        ours = tzical(io.StringIO(data.decode())).get("Europe/Paris")
        wrong = [t for year in {t.year for t in times} for t in instants(zone, year, year)
                 if t.astimezone(ours).utcoffset() != t.astimezone(zone).utcoffset()]
        assert wrong == [], key


def test_every_event_has_uid_dtstamp_sequence_and_organizer(served: dict[str, bytes]) -> None:
    """Updates need UID, SEQUENCE and DTSTAMP; libical wants an ORGANIZER with METHOD:PUBLISH."""
    for key, data in calendars(served):
        calendar = icalendar.Calendar.from_ical(data)
        assert str(calendar["METHOD"]) == "PUBLISH", key
        for event in calendar.walk("VEVENT"):
            assert str(event["ORGANIZER"]).startswith(("mailto:", "https://")), key
            assert event.decoded("DTSTAMP").utcoffset() is not None, key
            assert b"DTSTAMP:" in data and b"DTSTAMP;" not in data, key  # in UTC: a Z
            assert int(event["SEQUENCE"]) >= 0 and str(event["UID"]), key


def test_only_subscriptions_are_named_and_say_how_often_to_refresh(
    served: dict[str, bytes],
) -> None:
    """Outlook files a named download into a calendar of its own; Apple reads the TTL."""
    for key, data in calendars(served):
        calendar = icalendar.Calendar.from_ical(data)
        if is_download(key):
            assert [p for p in SUBSCRIPTION_ONLY if p in calendar] == [], key
            assert len(calendar.walk("VEVENT")) == 1, key
        else:
            assert all(p in calendar for p in SUBSCRIPTION_ONLY), key
            assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n" in data, key
            assert b"\r\nX-PUBLISHED-TTL:PT6H\r\n" in data, key
        assert len(data) < 1_000_000, key  # Google refuses bigger feeds


def test_lines_fold_at_75_octets_and_end_with_crlf(served: dict[str, bytes]) -> None:
    for key, data in calendars(served):
        assert data.endswith(b"END:VCALENDAR\r\n"), key
        for line in data[:-2].split(b"\r\n"):
            assert len(line) <= 75 and b"\n" not in line and b"\r" not in line, (key, line)
            line.decode("utf-8")  # never cut inside a character


def test_a_cancelled_event_says_so_in_its_summary(served: dict[str, bytes]) -> None:
    """Google drops STATUS:CANCELLED events: the SUMMARY tells every other client."""
    cancelled = 0
    for key, data in calendars(served):
        for event in icalendar.Calendar.from_ical(data).walk("VEVENT"):
            if str(event["STATUS"]) == "CANCELLED":
                cancelled += 1
                assert str(event["SUMMARY"]).startswith("Annulé"), key
    assert cancelled


def test_a_tentative_event_says_so_in_its_summary(served: dict[str, bytes]) -> None:
    """As a cancelled one: whatever a client makes of STATUS:TENTATIVE, and in a downloaded copy
    that nothing updates, a date to be confirmed (or planned, « à annoncer ») is no firm date."""
    tentative = 0
    for key, data in calendars(served):
        for event in icalendar.Calendar.from_ical(data).walk("VEVENT"):
            if str(event["STATUS"]) == "TENTATIVE":
                tentative += 1
                summary = str(event["SUMMARY"])
                assert summary.startswith("Non confirmé") or summary.endswith("à annoncer"), key
    assert tentative


def test_a_video_link_is_in_conference_description_and_location(served: dict[str, bytes]) -> None:
    """Thunderbird, Outlook, Apple ignore CONFERENCE; Google and Outlook ignore URL. A private
    link leaves only in the personal files."""
    conferences = 0
    for key, data in calendars(served):
        assert (PRIVATE.encode() in data.replace(b"\r\n ", b"")) == (
            "/events/automne/private/" in key and key.startswith(("several", "withdrawn"))), key
        for event in icalendar.Calendar.from_ical(data).walk("VEVENT"):
            if "CONFERENCE" in event:
                conferences += 1
                link = str(event["CONFERENCE"])
                assert link in str(event["DESCRIPTION"]) and link in str(event["LOCATION"]), key
                assert event["CONFERENCE"].params["FEATURE"] == "VIDEO", key
    assert conferences


def test_every_news_feed_reads_with_author_ids_and_dates_of_its_own(
    served: dict[str, bytes],
) -> None:
    """RFC 4287 wants an author; no date ahead of the moment the feed is built for."""
    built = datetime.fromisoformat(NOW)
    for key, data in served.items():
        if ".xml" not in key:
            continue
        feed = feedparser.parse(data)
        assert not feed.bozo, key
        if "atom.xml" in key:
            atom = {"a": "http://www.w3.org/2005/Atom"}
            assert lxml.etree.fromstring(data).findall("a:author/a:name", atom), key
        for entry in feed.entries:
            assert entry.id.startswith("https://"), key
            published = entry.get("published_parsed") or entry.updated_parsed
            assert datetime(*published[:6], tzinfo=UTC) <= built, key


def test_add_to_calendar_links_stay_short(served: dict[str, bytes]) -> None:
    """Browsers and Google fail on very long URLs: the page says the rest."""
    found = 0
    for key, data in served.items():
        if key.endswith(".html"):
            for href in lxml.html.fromstring(data).xpath("//a/@href"):
                if href.startswith(("https://calendar.google.com/", "https://outlook.")):
                    found += 1
                    assert len(href) < 2_000, key
    assert found


def test_an_entry_has_one_id_and_date_in_every_feed_it_is_in(served: dict[str, bytes]) -> None:
    """Feed readers know an entry by its guid / id: the whole feed and a series' or a city's,
    RSS and Atom, give it the same one, with the same title and date."""
    seen: dict[tuple[str, str], tuple[str, tuple[int, ...]]] = {}
    for key, data in served.items():
        if ".xml" in key:
            for entry in feedparser.parse(data).entries:
                said = (entry.title, tuple(entry.get("published_parsed") or entry.updated_parsed))
                assert seen.setdefault((key.split(":")[0], entry.id), said) == said, key
    assert len(seen) > 10


def test_rss_and_atom_of_a_list_hold_the_same_entries(served: dict[str, bytes]) -> None:
    pairs = 0
    for key, data in served.items():
        if key.endswith("rss.xml") and (atom := served.get(key[:-7] + "atom.xml")):
            pairs += 1
            ids = [[e.id for e in feedparser.parse(d).entries] for d in (data, atom)]
            assert ids[0] == ids[1], key
    assert pairs


def test_every_address_in_a_news_entry_is_absolute(served: dict[str, bytes]) -> None:
    """An e-mail made from an entry (RSS-to-email) has no base URL: every link and picture in its
    body, its own link and its share card are absolute (read without feedparser's resolving)."""
    found = 0
    for key, data in served.items():
        if ".xml" not in key:
            continue
        for entry in feedparser.parse(data, resolve_relative_uris=False).entries:
            body = lxml.html.fragment_fromstring(entry.content[0].value if "content" in entry
                                                 else entry.summary, create_parent="div")
            urls = [*body.xpath(".//@href | .//@src"), entry.link,
                    *(m["url"] for m in entry.media_content)]
            found += len(urls)
            for url in urls:
                parts = urlsplit(url)
                assert parts.scheme == "mailto" or (parts.scheme, bool(parts.netloc)) == (
                    "https", True), (key, url)
    assert found > 100
