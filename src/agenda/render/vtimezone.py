"""VTIMEZONE components computed from zoneinfo, in the form every client reads.

Why not icalendar's own generator: it writes RDATE lists, which Outlook has ignored, and
its DAYLIGHT onset for Paris reads 03:00 where RFC 5545 wants the local time before the
change (02:00). Here each run of years under one rule becomes a STANDARD or DAYLIGHT
sub-component with a yearly RRULE whose DTSTART is the onset in the old offset; a one-off
change gets a DTSTART alone.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# Offsets are sampled this often; two changes closer than this would be missed,
# which no zone in the tz database has done since the 1940s.
STEP = timedelta(hours=6)
ZERO = timedelta(0)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


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


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> tuple[Transition, ...]:
    """Every change of offset, DST flag or abbreviation between two UTC instants."""
    found = []
    cursor, state = start, _state(zone, start)
    while cursor < end:
        following = min(cursor + STEP, end)
        new_state = _state(zone, following)
        if new_state != state:
            low, high = cursor, following
            while high - low > timedelta(seconds=1):  # bisect down to the second
                middle = low + (high - low) / 2
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            at = high.replace(microsecond=0)
            # Into summer time (a DAYLIGHT sub-component): the clocks go forward in a zone
            # that observes DST. Not the sign of zoneinfo's dst(): Europe/Dublin's data makes
            # winter (GMT) the "daylight" time with a negative DST, which dateutil and other
            # readers get wrong; written the usual way round, summer (IST) is DAYLIGHT.
            summer = (state[1] != ZERO or new_state[1] != ZERO) and new_state[0] > state[0]
            found.append(Transition(at, state[0], new_state[0], new_state[2], summer))
            state = new_state
        cursor = following
    return tuple(found)


def build_vtimezone(
    zone: ZoneInfo, first: datetime, last: datetime, years: Iterable[int] | None = None
) -> Timezone:
    """A VTIMEZONE for `zone` valid from `first` to `last` and beyond while the rule holds.

    `years`, when given, are the only years with times to describe (the events'): offsets are worked
    out around each of them, not for every year from `first` to `last`, so sessions centuries apart
    cost no more than sessions a year apart."""
    wanted = set(years) if years is not None else set(range(first.year, last.year + 1))
    changes, window_start, window_end = _changes(zone, frozenset(wanted | {first.year, last.year}))
    component = Timezone()
    component.add("tzid", zone.key)
    if not changes or changes[0].at > first.astimezone(UTC):
        # Nothing changes between the window's start and the first event: one
        # component states the offset in force then.
        offset, dst, name = _state(zone, window_start)
        component.add_component(_sub(Transition(window_start, offset, offset, name, dst > ZERO)))
    for group in _groups(changes):
        head = group[0]
        sub = _sub(head)
        if len(group) > 1:
            rrule: dict[str, object] = {
                "freq": "yearly",
                "bymonth": head.onset.month,
                "byday": f"{_week_of_month(head.onset)}{WEEKDAYS[head.onset.weekday()]}",
            }
            ongoing = group[-1].at.year >= window_end.year - 1
            if not ongoing:
                # A day after the last change, not at it: some readers (dateutil) compare
                # UNTIL, which is UTC, with the onset's local clock time and east of
                # Greenwich would drop that last change. No other change falls within the day.
                rrule["until"] = group[-1].at + timedelta(days=1)
            sub.add("rrule", rrule)
        component.add_component(sub)
    return component


# Remembered (0.3 ms a miss): every .ics of the same years asks again, 20,000 at 10,000 sessions.
@lru_cache(maxsize=256)
def _changes(
    zone: ZoneInfo, wanted: frozenset[int]
) -> tuple[tuple[Transition, ...], datetime, datetime]:
    """The changes of `zone` around the `wanted` years, and the window they were looked for in."""
    windows = _windows(set(wanted))
    changes: list[Transition] = []
    for start, end in windows:
        state = _state(zone, start)
        known = (changes[-1].offset_to, changes[-1].name) if changes else None
        if known is not None and known != (state[0], state[2]):
            # The zone changed in the gap before this window: state what holds at its start.
            changes.append(Transition(start, known[0], state[0], state[2], state[1] > ZERO))
        changes.extend(transitions(zone, start, end))
    return tuple(changes), windows[0][0], windows[-1][1]


def _windows(years: set[int]) -> list[tuple[datetime, datetime]]:
    """UTC spans, in order, covering a year either side of each year (three after the last)."""
    spans: list[list[int]] = []
    for year in sorted(years):
        low, high = year - 1, year + 2
        if spans and low <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], high)
        else:
            spans.append([low, high])
    spans[-1][1] += 1  # three years past the last one: the current rule shows as ongoing
    return [(datetime(a, 1, 1, tzinfo=UTC), datetime(b, 1, 1, tzinfo=UTC)) for a, b in spans]


def _groups(changes: tuple[Transition, ...]) -> list[list[Transition]]:
    """Split changes into runs of consecutive years that follow the same rule, with no change
    of the same kind (DST or standard) under another rule between them."""
    last_runs: dict[tuple[object, ...], list[Transition]] = {}  # the latest run of each rule
    ordered: list[list[Transition]] = []
    for change in changes:
        rule = change.rule()
        run = last_runs.get(rule)
        if run and change.onset.year == run[-1].onset.year + 1 and not any(
            run[-1].at < c.at < change.at and c.is_dst == change.is_dst and c.rule() != rule
            for c in changes
        ):
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
