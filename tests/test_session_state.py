"""What each reader is told of a session's state, parsed back with others' parsers.

Subscribers (icalendar, vobject, recurring-ical-events), journalists (feedparser), the CEPS
site (json) and visitors (lxml): a cancelled session, a planned date gone by, a confirmed
session without a date, a feed's identity when base_url moves.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import icalendar
import jsonschema
import lxml.html
import pytest
import recurring_ical_events
import vobject
from dateutil.rrule import rrulestr

from agenda import site
from agenda.errors import ScheduleError
from agenda.loader import parse_schedule
from agenda.model import Schedule
from agenda.published import first_version, next_version
from agenda.render import feeds, html, ical, json_api
from tests.conftest import LYON_OCTOBER, MINIMAL, ROOT

NOW = datetime(2026, 10, 5, tzinfo=UTC)
VIDEO = "https://video.example.org/lyon"
WITH_VIDEO = MINIMAL + LYON_OCTOBER + f'video_url = "{VIDEO}"\nvideo_public = true\n'


def strings(value: object) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_a_cancelled_session_offers_its_video_link_nowhere() -> None:
    """Cancelled, a session with a public video link kept it in its calendar event (LOCATION,
    DESCRIPTION, CONFERENCE), its JSON and its page (facts, JSON-LD's location) while its
    registration link went: nobody will be in that room."""
    first = first_version(WITH_VIDEO.encode(), "s.toml")
    cancelled = WITH_VIDEO + 'status = "cancelled"\n'
    version, _ = next_version(first, cancelled.encode(), "s.toml", NOW)
    schedule = version.schedule
    lyon = schedule.session("lyon")
    feed = ical.feed_bytes(schedule, schedule.sessions)
    (event,) = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    said = [str(v) for name, v in event.property_items() if name != "BEGIN"]
    assert [v for v in said if "video.example.org" in v] == []
    card = vobject.readOne(ical.session_bytes(schedule, lyon).decode()).vevent
    assert [c.name for c in card.getChildren() if "video.example.org" in str(c.value)] == []
    for document in (json.loads(json_api.events_bytes(schedule, NOW)),
                     json.loads(json_api.session_bytes(schedule, lyon, NOW))):
        assert [s for s in strings(document) if "video.example.org" in s] == []
    page = lxml.html.fromstring(html.session_page(schedule, lyon, NOW))
    assert "video.example.org" not in page.text_content()
    assert [a for a in page.xpath("//@href|//@content") if "video.example.org" in a] == []
    # Before, all of them had it: the link is there while the session is on.
    was = first.schedule
    assert json.loads(json_api.session_bytes(was, was.session("lyon"), NOW))["video_url"] == VIDEO


def test_the_atom_feed_keeps_its_id_when_base_url_changes_scheme_or_port() -> None:
    """Entry ids stayed when base_url went from http to https or changed port, but the feed's own
    id followed base_url: a reader saw a new feed, and its entries as those of another."""
    ids = set()
    for base in ("http://agenda.example.org:8080", "https://agenda.example.org"):
        text = MINIMAL.replace("https://agenda.example.org", base) + LYON_OCTOBER
        schedule = first_version(text.encode(), "s.toml").schedule
        parsed = feedparser.parse(feeds.atom_bytes(schedule, schedule.sessions, until=NOW))
        assert not parsed.bozo
        (entry,) = parsed.entries
        ids.add((parsed.feed.id, entry.id))
    assert ids == {("https://agenda.example.org/atom.xml",
                    "https://agenda.example.org/events/lyon")}


def test_a_planned_date_gone_by_leaves_the_calendar_feeds(tmp_path: Path) -> None:
    """A planned date (« à annoncer ») that passed without a session stayed in every calendar
    feed as a TENTATIVE event, for ever, while the pages and /events.json had dropped it: a
    subscriber's calendar kept a placeholder for a session that never was."""
    rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=3"
    text = MINIMAL + f'rhythm = {{ rule = "{rule}", first = 2021-03-17, start = 08:45:00, ' \
        'end = 10:15:00 }\n'
    planned = [d.date() for d in rrulestr(rule, dtstart=datetime(2021, 3, 17))]
    version = first_version(text.encode(), "s.toml")
    march, april = datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 4, 1, tzinfo=UTC)
    before = site.build(version, march, tmp_path / "march", workers=1)
    after = site.build(version, april, tmp_path / "april", before, workers=1)
    for path in ("/calendar.ics", "/series/s/calendar.ics"):
        shown = []
        for built in (before, after):
            body = (built.folder / built.entries[path].file).read_bytes()
            events = recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(
                date(2021, 1, 1), date(2022, 1, 1))
            shown.append(sorted(e.decoded("DTSTART").date() for e in events))
        assert shown == [planned, planned[1:]], path
        # Its Last-Modified moves on with it: a client asking If-Modified-Since gets the change.
        assert parsedate_to_datetime(after.entries[path].modified) >= \
            datetime(2021, 3, 17, 9, 15, tzinfo=UTC)  # 10 h 15 in Paris
    document = json.loads((after.folder / "events.json").read_bytes())
    assert [datetime.fromisoformat(p["start"]).date() for p in document["planned"]] == planned[1:]



def test_a_session_confirmed_without_a_date_never_reads_as_a_confirmed_date() -> None:
    """A tentative session without a date, then confirmed, still without one: its badge, card,
    JSON label read « Confirmé » beside « date à venir », its feed entry « Confirmé : …, date à
    venir » and its change log « date confirmée »: a date confirmed that nobody knows."""
    text = MINIMAL + '[[sessions]]\nid = "brest"\nseries = "s"\ncity = "Brest"\n' \
        'announced = 2026-10-01\n'
    first = first_version(text.replace("announced", 'status = "tentative"\nannounced').encode(),
                          "s.toml")
    version, _ = next_version(first, text.encode(), "s.toml", NOW)
    schedule = version.schedule
    brest = schedule.session("brest")
    page = lxml.html.fromstring(html.session_page(schedule, brest, NOW))
    agenda = lxml.html.fromstring(html.agenda_page(schedule, NOW))
    parsed = feedparser.parse(feeds.atom_bytes(schedule, schedule.sessions, until=NOW))
    said = [page.xpath("string(//main)"), agenda.xpath("string(//main)"),
            *page.xpath("//meta/@content"), *strings(json.loads(
                json_api.session_bytes(schedule, brest, NOW))),
            *strings(json.loads(json_api.events_bytes(schedule, NOW)))]
    said += [t for e in parsed.entries for t in (e.title, e.summary, e.content[0].value)]
    assert len(parsed.entries) == 2  # its announcement, and the news that it takes place
    assert [t for t in said if re.search(r"\bConfirmé\b|date confirmée", t)] == []
    assert [t for t in said if "date à venir" in t]  # what it does say


def test_no_calendar_event_promises_a_link_its_description_does_not() -> None:
    """A cancelled session, or one the file says took place, had no « lien communiqué aux
    inscrits » in its DESCRIPTION, but its LOCATION still promised it to registered people."""
    text = MINIMAL + LYON_OCTOBER + 'registration_url = "https://inscription.example.org"\n'
    for extra in ('status = "cancelled"\n', 'replay_url = "https://video.example.org/r"\n', ""):
        schedule = first_version((text + extra).encode(), "s.toml").schedule
        (event,) = icalendar.Calendar.from_ical(
            ical.feed_bytes(schedule, schedule.sessions)).walk("VEVENT")
        promised = ["aux inscrits" in str(event[name]) for name in ("DESCRIPTION", "LOCATION")]
        assert promised == [not extra] * 2, extra


def test_the_card_of_a_session_without_a_date_says_so_once() -> None:
    """Its card read « Brest. Date à venir. Date à venir. » (og:image:alt), and showed it twice."""
    schedule = first_version((MINIMAL + '[[sessions]]\nid = "brest"\nseries = "s"\n'
                              'city = "Brest"\n').encode(), "s.toml").schedule
    page = lxml.html.fromstring(html.session_page(schedule, schedule.session("brest"), NOW))
    (alt,) = page.xpath("//meta[@property='og:image:alt']/@content")
    assert alt.lower().count("date à venir") == 1, alt


def test_an_agenda_card_of_a_session_without_a_date_says_so_once() -> None:
    """Confirmed without a date, its card on the agenda read « Date à venir » (its badge), then
    « date à venir » (its date line): one thing said twice, as its share card had."""
    schedule = first_version((MINIMAL + '[[sessions]]\nid = "brest"\nseries = "s"\n'
                              'city = "Brest"\nannounced = 2026-10-01\n').encode(),
                             "s.toml").schedule
    agenda = lxml.html.fromstring(html.agenda_page(schedule, NOW))
    (card,) = agenda.xpath("//article[@aria-labelledby='seance-brest']")
    assert card.text_content().lower().count("date à venir") == 1, card.text_content()


def test_a_tentative_session_moved_is_still_to_be_confirmed_in_the_feeds_body() -> None:
    """Moved while tentative, its page said « reportée » and « restent à confirmer », its feed
    entry's body « reportée » alone: the body dropped what the title (« Non confirmé : ») said."""
    text = MINIMAL + LYON_OCTOBER + 'status = "tentative"\n'
    first = first_version(text.encode(), "s.toml")
    version, _ = next_version(first, text.replace("2026-10-21T", "2026-10-28T").encode(),
                              "s.toml", NOW)
    schedule = version.schedule
    page = lxml.html.fromstring(html.session_page(schedule, schedule.session("lyon"), NOW))
    notices = " ".join(page.xpath("//p[contains(@class, 'notice')]//text()"))
    parsed = feedparser.parse(feeds.rss_bytes(schedule, schedule.sessions, until=NOW))
    assert "reportée" in notices and "à confirmer" in notices
    for entry in parsed.entries:
        body = lxml.html.fromstring(entry.content[0].value).text_content()
        assert "reportée" in body and "non confirmée" in body.lower(), entry.title


def test_a_session_cannot_be_both_cancelled_and_held() -> None:
    """`held = true` with `status = "cancelled"` was accepted (a replay with it was not): its
    page's description read « Séance annulée. … : séance tenue, date non communiquée. »"""
    text = MINIMAL + '[[sessions]]\nid = "brest"\nseries = "s"\ncity = "Brest"\nheld = true\n' \
        'status = "cancelled"\n'
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(text, "s.toml")
    assert [p.field for p in refused.value.problems] == ["held"]
    schema = json.loads((ROOT / "data" / "sessions.schema.json").read_bytes())
    document = tomllib.loads(text)
    assert not jsonschema.Draft7Validator(schema).is_valid(document)
    assert jsonschema.Draft7Validator(schema).is_valid(document | {"sessions": [
        {k: v for k, v in document["sessions"][0].items() if k != "status"}]})


SCHEMA = json.loads((ROOT / "src" / "agenda" / "schemas" / "events.json").read_bytes())
AFTER = datetime(2026, 11, 5, tzinfo=UTC)  # LYON_OCTOBER's session is over


def told(schedule: Schedule, session_id: str, now: datetime) -> dict[str, list[str]]:
    """What each output tells readers of a session's state at `now`, read back with lxml,
    json (checked with the schema), icalendar and feedparser: titles, state words, notices."""
    session = schedule.session(session_id)
    page = lxml.html.fromstring(html.session_page(schedule, session, now))
    agenda = lxml.html.fromstring(html.agenda_page(schedule, now))
    document = json.loads(json_api.session_bytes(schedule, session, now))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    said = {"page": [page.xpath("string(//title)"), *page.xpath("//p[contains(@class, 'badge')"
                     " or contains(@class, 'notice')]//text()"), *page.xpath("//meta/@content")],
            "agenda": [" ".join(c.text_content().split()) for c in agenda.xpath(
                f"//article[@aria-labelledby='seance-{session_id}']")],
            "json": [document["headline"], document["status_label"]],
            "feeds": [], "ics": []}
    for feed in (feeds.rss_bytes(schedule, schedule.sessions, until=now),
                 feeds.atom_bytes(schedule, schedule.sessions, until=now)):
        for entry in feedparser.parse(feed).entries:
            said["feeds"] += [entry.title, entry.summary,
                              lxml.html.fromstring(entry.content[0].value).text_content()]
    if session.is_dated:
        (event,) = icalendar.Calendar.from_ical(ical.session_bytes(schedule, session)
                                                ).walk("VEVENT")
        said["ics"] = [str(event["SUMMARY"]), str(event["DESCRIPTION"])]
        said["STATUS"] = [str(event["STATUS"])]
    return {k: [v.replace("\xa0", " ") for v in texts] for k, texts in said.items()}


def test_a_tentative_session_over_is_not_still_to_be_confirmed() -> None:
    """Tentative, its date gone by: every output still said « À confirmer » (badge, titles, the
    JSON's label and headline, the calendar's SUMMARY), the feeds « Date à confirmer » and the
    page's description « à confirmer »: a date in the past still to be confirmed. It reads « Non
    confirmé », before its date and after (a copy added to a calendar never updates), the same
    word in every output; whether it took place, nobody said."""
    schedule = first_version((MINIMAL + LYON_OCTOBER + 'status = "tentative"\n').encode(),
                             "s.toml").schedule
    said = told(schedule, "lyon", AFTER)
    everything = [t for texts in said.values() for t in texts]
    assert [t for t in everything if "à confirmer" in t.lower()] == []
    document = json.loads(json_api.session_bytes(schedule, schedule.session("lyon"), AFTER))
    word = document["status_label"]
    assert said["ics"][0] == document["headline"] == f"{word} : Série : Lyon"
    assert word.lower() == "non confirmé"
    assert [t for t in everything if "a eu lieu" in t or "Tenue" in t] == []
    for where in ("page", "agenda", "feeds"):
        assert any(word in t for t in said[where]), where


@pytest.mark.parametrize("known", ['replay_url = "https://video.example.org/r"\n',
                                   "held = true\n"])
def test_a_tentative_session_known_to_be_held_is_held_everywhere(known: str) -> None:
    """Tentative, with a replay (or `held`): its badge and the JSON said « À confirmer », every
    title « À confirmer : », its description « séance tenue, date non communiquée, à confirmer »
    beside « Revoir la séance », its calendar event STATUS:TENTATIVE: the file says it took
    place, which settles it."""
    text = MINIMAL + LYON_OCTOBER + 'status = "tentative"\n' + known
    if known.startswith("held"):  # `held` is for a session without a date
        text = re.sub(r"(start|end) = .*\n", "", text)
    schedule = first_version(text.encode(), "s.toml").schedule
    for now in (NOW, AFTER):
        said = told(schedule, "lyon", now)
        document = json.loads(json_api.session_bytes(schedule, schedule.session("lyon"), now))
        assert document["status_label"] == "Tenue"
        assert said.pop("STATUS", ["CONFIRMED"]) == ["CONFIRMED"]
        assert [t for texts in said.values() for t in texts if "confirm" in t.lower()] == []
        assert said["ics"][:1] in ([], [document["headline"]])


def test_a_session_moved_then_cancelled_reads_cancelled_everywhere() -> None:
    """Moved, then cancelled: the JSON said `rescheduled: true` and its former start, which
    every other output had stopped saying (page, feeds, calendar, JSON-LD): cancellation wins
    wherever the state is told, and its change log still lists the move."""
    first = first_version((MINIMAL + LYON_OCTOBER).encode(), "s.toml")
    moved = (MINIMAL + LYON_OCTOBER).replace("2026-10-21T", "2026-10-28T")
    version, _ = next_version(first, moved.encode(), "s.toml", NOW)
    version, _ = next_version(version, (moved + 'status = "cancelled"\n').encode(), "s.toml",
                              datetime(2026, 10, 7, tzinfo=UTC))
    schedule = version.schedule
    lyon = schedule.session("lyon")
    later = datetime(2026, 10, 8, tzinfo=UTC)
    for document in (json.loads(json_api.session_bytes(schedule, lyon, later)),
                     *json.loads(json_api.events_bytes(schedule, later))["sessions"]):
        assert (document["rescheduled"], document["previous_start"]) == (False, None)
        assert [c["news"] for c in document["changes"]] == [[], ["rescheduled"], ["cancelled"]]
        assert document["changes"][1]["previous_start"] == "2026-10-21T08:45:00+02:00"
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(json_api.events_bytes(
        schedule, later)))
    said = told(schedule, "lyon", later)
    state = [t for where in ("page", "agenda", "json", "ics") for t in said[where]]
    state += [t for t in said["feeds"] if not t.startswith("Nouvelle date")]  # the move's entry
    assert [t for t in state if re.search("report|avancé|initialement|était prévue", t.lower())
            ] == []
    page = lxml.html.fromstring(html.session_page(schedule, lyon, later))
    assert "nouvelle date" in page.xpath("string(//ol[@class='history'])")


def test_a_session_cancelled_and_over_is_not_told_as_to_come() -> None:
    """Cancelled, its date gone by: its news entries still said « Cette matinale n’aura pas
    lieu », what the page (« Cette séance est annulée. ») and the calendar (« Séance annulée. »)
    say in words true at any time."""
    schedule = first_version((MINIMAL + LYON_OCTOBER + 'status = "cancelled"\n').encode(),
                             "s.toml").schedule
    said = told(schedule, "lyon", AFTER)
    assert [t for texts in said.values() for t in texts if "aura pas lieu" in t] == []
    assert all("Séance annulée." in body for body in said["feeds"][2::3]), said["feeds"]
