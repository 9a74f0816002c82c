"""The calendar feed read back by independent parsers gives the right instants.

Each check also renames the zone (TZID=Test/Zone0, 1…) so that a parser cannot fall
back on its own tz database: the instants must come from our VTIMEZONE.
"""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime

import icalendar
import pytest
import recurring_ical_events
import vobject
from dateutil.tz import tzical

from agenda.model import Schedule
from agenda.render.ical import feed_bytes, session_bytes

NAMES = itertools.count()


def renamed_zone(data: bytes, zone: str = "Europe/Paris") -> bytes:
    """The same calendar with its TZID renamed to one no tz database knows, a new one each time:
    icalendar and vobject keep the first VTIMEZONE of a name for the whole process, and would
    read every later file by it."""
    name = f"Test/Zone{next(NAMES)}".encode()
    return data.replace(f"TZID:{zone}".encode(), b"TZID:" + name).replace(
        f"TZID={zone}".encode(), b"TZID=" + name
    )


def utc_times_vobject(data: bytes) -> dict[str, tuple[datetime, datetime]]:
    """UID -> (start, end) in UTC, as vobject reads them."""
    calendar = vobject.readOne(data.decode("utf-8"))
    return {
        ev.uid.value: (ev.dtstart.value.astimezone(UTC), ev.dtend.value.astimezone(UTC))
        for ev in calendar.vevent_list
    }


def utc_times_dateutil(data: bytes) -> dict[str, tuple[datetime, datetime]]:
    """UID -> (start, end) in UTC, with the VTIMEZONE read by dateutil's tzical."""
    zones = tzical(io.StringIO(data.decode("utf-8")))
    calendar = icalendar.Calendar.from_ical(data)
    times = {}
    for event in calendar.walk("VEVENT"):
        ends = []
        for name in ("DTSTART", "DTEND"):
            prop = event[name]
            naive = prop.dt.replace(tzinfo=None)
            ends.append(naive.replace(tzinfo=zones.get(prop.params["TZID"])).astimezone(UTC))
        times[str(event["UID"])] = (ends[0], ends[1])
    return times


def utc_times_icalendar(data: bytes) -> dict[str, tuple[datetime, datetime]]:
    """UID -> (start, end) in UTC, as icalendar reads them."""
    calendar = icalendar.Calendar.from_ical(data)
    return {
        str(ev["UID"]): (ev.decoded("DTSTART").astimezone(UTC), ev.decoded("DTEND").astimezone(UTC))
        for ev in calendar.walk("VEVENT")
    }


def utc_times_recurring(data: bytes) -> dict[str, tuple[datetime, datetime]]:
    """UID -> (start, end) in UTC, as recurring-ical-events expands the calendar."""
    calendar = icalendar.Calendar.from_ical(data)
    found = recurring_ical_events.of(calendar).between(datetime(2000, 1, 1), datetime(2100, 1, 1))
    return {
        str(ev["UID"]): (ev["DTSTART"].dt.astimezone(UTC), ev["DTEND"].dt.astimezone(UTC))
        for ev in found
    }


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


READERS = {
    "vobject": lambda data: utc_times_vobject(renamed_zone(data)),
    "dateutil": lambda data: utc_times_dateutil(renamed_zone(data)),
    "icalendar": lambda data: utc_times_icalendar(renamed_zone(data)),
    "recurring-ical-events": lambda data: utc_times_recurring(renamed_zone(data)),
}


@pytest.mark.parametrize("reader", READERS)
def test_shipped_feed_has_clermont_ferrand_0645_0815_utc(shipped: Schedule, reader: str) -> None:
    times = READERS[reader](feed_bytes(shipped, shipped.sessions))
    assert times == {
        "clermont-ferrand@agenda.ceps-oing.org": (utc(2021, 5, 19, 6, 45), utc(2021, 5, 19, 8, 15))
    }


@pytest.mark.parametrize("reader", READERS)
def test_fixture_0900_paris_on_dst_days_is_utc(several: Schedule, reader: str) -> None:
    times = READERS[reader](feed_bytes(several, several.sessions))
    # 28 March 2021 is the first day of summer time (UTC+2), 31 October the first of winter (UTC+1).
    assert times["printemps@agenda.example.org"][0] == utc(2021, 3, 28, 7, 0)
    assert times["automne@agenda.example.org"][0] == utc(2021, 10, 31, 8, 0)


@pytest.mark.parametrize("reader", READERS)
def test_fixture_every_event_matches_the_schedule(several: Schedule, reader: str) -> None:
    times = READERS[reader](feed_bytes(several, several.sessions))
    expected = {
        f"{s.id}@agenda.example.org": (s.start.astimezone(UTC), s.end.astimezone(UTC))
        for s in several.dated_sessions
        if s.start and s.end
    }
    assert times == expected


@pytest.mark.parametrize("reader", READERS)
def test_single_download_reads_the_same_instant(shipped: Schedule, reader: str) -> None:
    session = shipped.session("clermont-ferrand")
    assert session is not None
    times = READERS[reader](session_bytes(shipped, session))
    assert list(times.values()) == [(utc(2021, 5, 19, 6, 45), utc(2021, 5, 19, 8, 15))]


def test_shipped_feed_has_no_undated_session(shipped: Schedule) -> None:
    calendar = icalendar.Calendar.from_ical(feed_bytes(shipped, shipped.sessions))
    assert [str(e["UID"]).split("@")[0] for e in calendar.walk("VEVENT")] == ["clermont-ferrand"]
