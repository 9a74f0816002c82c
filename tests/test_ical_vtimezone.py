"""Our VTIMEZONE agrees with zoneinfo at every hour and every change in the feed's range."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.tz import tzical

from agenda.render.vtimezone import from_window, transitions, window

CASES = [
    ("Europe/Paris", 2021, 2021),
    ("Europe/Paris", 2019, 2024),
    ("America/New_York", 2021, 2022),
    ("America/Sao_Paulo", 2017, 2020),  # summer time abolished in 2019
    ("Pacific/Auckland", 2021, 2022),  # southern hemisphere
    ("Australia/Lord_Howe", 2021, 2021),  # 30-minute shift
    ("Europe/Dublin", 2020, 2022),  # negative DST in the tz database: winter is "daylight"
    ("Asia/Tokyo", 2021, 2021),  # no change at all
]


def vtimezone_bytes(name: str, first_year: int, last_year: int) -> bytes:
    zone = ZoneInfo(name)
    first = datetime(first_year, 1, 1, 9, tzinfo=zone)
    last = datetime(last_year, 12, 31, 9, tzinfo=zone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//test//test//EN")
    calendar.add("version", "2.0")
    calendar.add_component(from_window(*window(zone, first, last)))
    return calendar.to_ical()


def instants(zone: ZoneInfo, first_year: int, last_year: int) -> list[datetime]:
    """Every third hour of the range, plus a second before and after each change zoneinfo knows."""
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    steps = int((end - start) / timedelta(hours=3))
    found = [start + timedelta(hours=3 * h) for h in range(steps)]
    extra = []
    for before, after in zip(found, found[1:], strict=False):
        if before.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            low, high = before, after
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                if mid.astimezone(zone).utcoffset() == before.astimezone(zone).utcoffset():
                    low = mid
                else:
                    high = mid
            extra += [low, high]
    assert extra or zone.key == "Asia/Tokyo", "the range should contain changes"
    return found + extra


@pytest.mark.parametrize(("name", "first_year", "last_year"), CASES)
def test_vtimezone_offsets_match_zoneinfo_dateutil(name: str, first_year: int, last_year: int):
    zone = ZoneInfo(name)
    parsed = tzical(io.StringIO(vtimezone_bytes(name, first_year, last_year).decode())).get(name)
    wrong = [
        t for t in instants(zone, first_year, last_year)
        if t.astimezone(parsed).utcoffset() != t.astimezone(zone).utcoffset()
    ]
    assert wrong == []


@pytest.mark.parametrize(("name", "first_year", "last_year"), CASES)
def test_vtimezone_offsets_match_zoneinfo_icalendar(name: str, first_year: int, last_year: int):
    zone = ZoneInfo(name)
    calendar = icalendar.Calendar.from_ical(vtimezone_bytes(name, first_year, last_year))
    parsed = calendar.walk("VTIMEZONE")[0].to_tz(lookup_tzid=False)  # ours, not zoneinfo
    wrong = [
        t for t in instants(zone, first_year, last_year)
        if t.astimezone(parsed).utcoffset() != t.astimezone(zone).utcoffset()
    ]
    assert wrong == []


def test_paris_onsets_are_local_time_before_the_change() -> None:
    calendar = icalendar.Calendar.from_ical(vtimezone_bytes("Europe/Paris", 2021, 2021))
    (vtimezone,) = calendar.walk("VTIMEZONE")
    onsets = {
        sub.name: (sub["DTSTART"].dt.time().isoformat(), sub.decoded("TZOFFSETFROM"),
                   sub.decoded("TZOFFSETTO"))
        for sub in vtimezone.subcomponents
    }
    # RFC 5545: the onset is read in the offset in force before the change.
    assert onsets == {
        "DAYLIGHT": ("02:00:00", timedelta(hours=1), timedelta(hours=2)),
        "STANDARD": ("03:00:00", timedelta(hours=2), timedelta(hours=1)),
    }


def test_paris_uses_yearly_rules_not_rdate_lists() -> None:
    text = vtimezone_bytes("Europe/Paris", 2019, 2024).decode()
    assert "RDATE" not in text
    calendar = icalendar.Calendar.from_ical(text)
    rules = sorted(
        sub["RRULE"].to_ical().decode() for sub in calendar.walk("VTIMEZONE")[0].subcomponents
    )
    assert rules == ["FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"]


def test_rule_that_ended_carries_until() -> None:
    calendar = icalendar.Calendar.from_ical(vtimezone_bytes("America/Sao_Paulo", 2017, 2020))
    for sub in calendar.walk("VTIMEZONE")[0].subcomponents:
        if "RRULE" in sub:
            assert "UNTIL" in sub["RRULE"]


SPARSE_CASES = [
    ("Europe/Paris", (2021, 2199)),
    ("Europe/Moscow", (2005, 2020)),  # summer time ended for good in 2011, offset changed 2014
    ("America/Sao_Paulo", (2017, 2025)),  # summer time abolished in the gap
    ("Europe/Dublin", (1975, 2150)),  # negative DST in the tz database
]


@pytest.mark.parametrize(("name", "years"), SPARSE_CASES)
def test_vtimezone_for_years_far_apart_matches_zoneinfo(name: str, years: tuple[int, ...]):
    zone = ZoneInfo(name)
    first = datetime(years[0], 1, 1, 9, tzinfo=zone)
    last = datetime(years[-1], 12, 31, 9, tzinfo=zone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//test//test//EN")
    calendar.add("version", "2.0")
    calendar.add_component(from_window(*window(zone, first, last, years)))
    parsed = tzical(io.StringIO(calendar.to_ical().decode())).get(name)
    every_three_hours = [
        datetime(year, 1, 1, tzinfo=UTC) + timedelta(hours=3 * h)
        for year in years for h in range(365 * 8)
    ]
    wrong = [
        t for t in every_three_hours
        if t.astimezone(parsed).utcoffset() != t.astimezone(zone).utcoffset()
    ]
    assert wrong == []
    # A handful of sub-components, not one run per year in between.
    assert len(calendar.walk("VTIMEZONE")[0].subcomponents) <= 12


@pytest.mark.parametrize(("name", "first_year", "last_year"), CASES)
def test_vtimezone_from_changes_worked_out_for_a_build_reads_as_zoneinfo(
    name: str, first_year: int, last_year: int
):
    """A builder works out a zone's changes once for the years of all its calendars: the
    VTIMEZONE made from them is the one made alone, and icalendar reads zoneinfo's offsets."""
    zone = ZoneInfo(name)
    first = datetime(first_year, 1, 1, 9, tzinfo=zone)
    last = datetime(last_year, 12, 31, 9, tzinfo=zone)
    known = {year: transitions(zone, year) for year in range(first_year - 3, last_year + 5)}
    made = from_window(*window(zone, first, last), known)
    assert made.to_ical() == from_window(*window(zone, first, last)).to_ical()
    parsed = icalendar.Timezone.from_ical(made.to_ical()).to_tz(lookup_tzid=False)
    wrong = [
        t for t in instants(zone, first_year, last_year)
        if t.astimezone(parsed).utcoffset() != t.astimezone(zone).utcoffset()
    ]
    assert wrong == []


@pytest.mark.parametrize(("name", "years"), SPARSE_CASES)
def test_vtimezone_of_years_a_build_did_not_work_out_is_the_one_made_alone(
    name: str, years: tuple[int, ...]
):
    """A year the builder's changes miss (a feed dated by an update, not by its events) is
    looked for then: the same VTIMEZONE."""
    zone = ZoneInfo(name)
    first = datetime(years[0], 1, 1, 9, tzinfo=zone)
    last = datetime(years[-1], 12, 31, 9, tzinfo=zone)
    known = {year: transitions(zone, year) for year in range(years[0] - 1, years[0] + 3)}
    assert from_window(*window(zone, first, last, years), known).to_ical() == \
        from_window(*window(zone, first, last, years)).to_ical()
