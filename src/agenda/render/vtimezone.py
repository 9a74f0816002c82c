"""VTIMEZONE components computed from zoneinfo, in the form every client reads.

Why not icalendar's own generator: it writes RDATE lists, which Outlook has ignored, and
its DAYLIGHT onset for Paris reads 03:00 where RFC 5545 wants the local time before the
change (02:00). Here each run of years under one rule becomes a STANDARD or DAYLIGHT
sub-component with a yearly RRULE whose DTSTART is the onset in the old offset; a one-off
change gets a DTSTART alone.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# Offsets are sampled this often; two changes closer than this would be missed,
# which no zone in the tz database has done since the 1940s.
STEP = timedelta(hours=6)
ZERO = timedelta(0)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
Known = Mapping[int, tuple["Transition", ...]]  # a zone's changes by year (UTC): `transitions`
Window = tuple[ZoneInfo, frozenset[int]]  # what a VTIMEZONE is made of: `window`


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of offset: when (UTC), from what, to what."""

    at: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str
    is_dst: bool

    @property
    def onset(self) -> datetime:
        """Local wall-clock time of the change, read in the old offset (naive)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    def rule(self) -> tuple[object, ...]:
        """What makes two yearly changes the same rule: offsets, name, month, weekday, time."""
        onset = self.onset
        return (self.is_dst, self.offset_from, self.offset_to, self.name,
                onset.month, onset.weekday(), _week_of_month(onset), onset.time())


def _week_of_month(day: datetime) -> int:
    """1..4 for the nth weekday of the month, -1 for the last one (as RRULE's BYDAY says)."""
    days_in_month = gregorian.monthrange(day.year, day.month)[1]
    return -1 if day.day + 7 > days_in_month else (day.day - 1) // 7 + 1


def _state(zone: ZoneInfo, at: datetime) -> tuple[timedelta, timedelta, str]:
    local = at.astimezone(zone)
    return (local.utcoffset() or ZERO, local.dst() or ZERO, local.tzname() or "")


def transitions(zone: ZoneInfo, year: int) -> tuple[Transition, ...]:
    """Every change of offset, DST flag or abbreviation in `year` (UTC). A year is a whole number
    of steps: the changes of several years together are each year's, one after the other."""
    found = []
    cursor, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    state = _state(zone, cursor)
    while cursor < end:
        if (new_state := _state(zone, cursor + STEP)) != state:
            low, high = cursor, cursor + STEP
            while high - low > timedelta(seconds=1):  # bisect down to the second
                middle = low + (high - low) / 2
                low, high = (middle, high) if _state(zone, middle) == state else (low, middle)
            at = high.replace(microsecond=0)
            # Into summer time (a DAYLIGHT sub-component): the clocks go forward in a zone
            # that observes DST. Not the sign of zoneinfo's dst(): Europe/Dublin's data makes
            # winter (GMT) the "daylight" time with a negative DST, which dateutil and other
            # readers get wrong; written the usual way round, summer (IST) is DAYLIGHT.
            summer = (state[1] != ZERO or new_state[1] != ZERO) and new_state[0] > state[0]
            found.append(Transition(at, state[0], new_state[0], new_state[2], summer))
            state = new_state
        cursor += STEP
    return tuple(found)


def window(zone: ZoneInfo, first: datetime, last: datetime,
           years: Iterable[int] | None = None) -> Window:
    """What the VTIMEZONE of `zone` valid from `first` to `last` (and beyond while the rule holds)
    is made of: the zone and the years it describes. `years`, when given, are the only years with
    times (the events'): offsets are worked out around each, not for every year from `first` to
    `last`, so sessions centuries apart cost no more than sessions a year apart. Calendars with
    one window have one VTIMEZONE, which a builder makes once for all (`from_window`)."""
    wanted = years if years is not None else range(first.year, last.year + 1)
    return zone, frozenset(wanted) | {first.year, last.year}


def from_window(zone: ZoneInfo, wanted: frozenset[int], known: Known | None = None) -> Timezone:
    """The VTIMEZONE of a `window`. `known`: the changes a builder worked out once for all its
    calendars (ical.zone_changes); a year it lacks is looked at here."""
    changes, window_start, window_end = _changes(zone, wanted, known)
    component = Timezone()
    component.add("tzid", zone.key)
    if not changes or changes[0].at >= datetime(min(wanted), 1, 1, tzinfo=UTC):
        # Nothing changes in the year before the first event's: one component states the
        # offset in force then, before any change.
        offset, dst, name = _state(zone, window_start)
        component.add_component(_sub(Transition(window_start, offset, offset, name, dst > ZERO)))
    for group in _groups(changes):
        head = group[0]
        sub = _sub(head)
        if len(group) > 1:
            rrule = dict(freq="yearly", bymonth=head.onset.month,
                         byday=f"{_week_of_month(head.onset)}{WEEKDAYS[head.onset.weekday()]}")
            if group[-1].at.year < window_end.year - 1:  # the rule ends: not ongoing
                # A day after the last change, not at it: some readers (dateutil) compare
                # UNTIL, which is UTC, with the onset's local clock time and east of
                # Greenwich would drop that last change. No other change falls within the day.
                rrule["until"] = group[-1].at + timedelta(days=1)
            sub.add("rrule", rrule)
        component.add_component(sub)
    return component


def _changes(zone: ZoneInfo, wanted: set[int], known: Known | None
             ) -> tuple[tuple[Transition, ...], datetime, datetime]:
    """The changes of `zone` in a year either side of each `wanted` year (and two after the last:
    the current rule shows as ongoing), and the window of those years, start and end (UTC)."""
    years = {y + i for y in wanted for i in (-1, 0, 1)} | {max(wanted) + 2}
    changes: list[Transition] = []
    for year in sorted(years):
        at = datetime(year, 1, 1, tzinfo=UTC)
        state = _state(zone, at)
        held = changes[-1] if changes and year - 1 not in years else None
        if held is not None and (held.offset_to, held.name) != (state[0], state[2]):
            # The zone changed in the gap before this year: state what holds at its start.
            changes.append(Transition(at, held.offset_to, state[0], state[2], state[1] > ZERO))
        changes.extend(known[year] if known and year in known else transitions(zone, year))
    start = datetime(min(years), 1, 1, tzinfo=UTC)
    return tuple(changes), start, start.replace(year=max(years) + 1)


def _groups(changes: tuple[Transition, ...]) -> list[list[Transition]]:
    """Split changes into runs of consecutive years that follow the same rule, with no change
    of the same kind (DST or standard) under another rule between them."""
    last_runs: dict[tuple[object, ...], list[Transition]] = {}  # the latest run of each rule
    ordered: list[list[Transition]] = []
    for change in changes:
        rule = change.rule()
        if (run := last_runs.get(rule)) and change.onset.year == run[-1].onset.year + 1 and not any(
                run[-1].at < c.at < change.at and c.is_dst == change.is_dst and c.rule() != rule
                for c in changes):
            run.append(change)
        else:
            last_runs[rule] = [change]
            ordered.append(last_runs[rule])
    return ordered


def _sub(change: Transition) -> TimezoneStandard | TimezoneDaylight:
    sub = TimezoneDaylight() if change.is_dst else TimezoneStandard()
    sub.add("dtstart", change.onset)
    sub.add("tzoffsetfrom", change.offset_from)
    sub.add("tzoffsetto", change.offset_to)
    if change.name:
        sub.add("tzname", change.name)
    return sub
