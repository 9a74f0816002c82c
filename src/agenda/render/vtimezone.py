"""VTIMEZONE components computed from zoneinfo, in the form every client reads.

Why not icalendar's own generator: it writes RDATE lists, which Outlook has
ignored, and its DAYLIGHT onset for Paris reads 03:00 where RFC 5545 wants the
local time before the change (02:00). Here each run of years that follows one
rule becomes a STANDARD or DAYLIGHT sub-component with a yearly RRULE whose
DTSTART is the onset in the old offset; a one-off change gets a DTSTART alone.
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# Offsets are sampled this often; two changes closer than this would be missed,
# which no zone in the tz database has done since the 1940s.
STEP = timedelta(hours=6)
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
    if day.day + 7 > days_in_month:
        return -1
    return (day.day - 1) // 7 + 1


def _state(zone: ZoneInfo, at: datetime) -> tuple[timedelta, timedelta, str]:
    local = at.astimezone(zone)
    return (local.utcoffset() or timedelta(0), local.dst() or timedelta(0), local.tzname() or "")


@lru_cache(maxsize=64)
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
            found.append(Transition(at, state[0], new_state[0], new_state[2], bool(new_state[1])))
            state = new_state
        cursor = following
    return tuple(found)


def build_vtimezone(zone: ZoneInfo, first: datetime, last: datetime) -> Timezone:
    """A VTIMEZONE for `zone` valid for every time from `first` to `last` and, where the
    current rule is known to continue, beyond."""
    window_start = datetime(first.year - 1, 1, 1, tzinfo=UTC)
    window_end = datetime(last.year + 3, 1, 1, tzinfo=UTC)
    changes = transitions(zone, window_start, window_end)

    component = Timezone()
    component.add("tzid", zone.key)

    first_utc = first.astimezone(UTC)
    if not changes or changes[0].at > first_utc:
        # Nothing changes between the window's start and the first event: one
        # component states the offset in force then.
        offset, dst, name = _state(zone, window_start)
        component.add_component(
            _sub(bool(dst), (window_start + offset).replace(tzinfo=None), offset, offset, name)
        )

    for group in _groups(changes):
        head = group[0]
        sub = _sub(head.is_dst, head.onset, head.offset_from, head.offset_to, head.name)
        if len(group) > 1:
            rrule: dict[str, object] = {
                "freq": "yearly",
                "bymonth": head.onset.month,
                "byday": f"{_week_of_month(head.onset)}{WEEKDAYS[head.onset.weekday()]}",
            }
            ongoing = group[-1].at.year >= window_end.year - 1
            if not ongoing:
                rrule["until"] = group[-1].at
            sub.add("rrule", rrule)
        component.add_component(sub)
    return component


def _groups(changes: tuple[Transition, ...]) -> list[list[Transition]]:
    """Split changes into runs of consecutive years that follow the same rule."""
    runs: dict[tuple[object, ...], list[list[Transition]]] = {}
    ordered: list[list[Transition]] = []
    for change in changes:
        rule = change.rule()
        runs_of_rule = runs.setdefault(rule, [])
        last_run = runs_of_rule[-1] if runs_of_rule else None
        if last_run and change.onset.year == last_run[-1].onset.year + 1 and _uninterrupted(
            changes, last_run[-1], change
        ):
            last_run.append(change)
        else:
            run = [change]
            runs_of_rule.append(run)
            ordered.append(run)
    return ordered


def _uninterrupted(changes: tuple[Transition, ...], before: Transition, after: Transition) -> bool:
    """True when no change of the same kind (DST or standard) under another rule lies between."""
    return not any(
        before.at < c.at < after.at and c.is_dst == before.is_dst and c.rule() != before.rule()
        for c in changes
    )


def _sub(
    is_dst: bool, onset: datetime, offset_from: timedelta, offset_to: timedelta, name: str
) -> TimezoneStandard | TimezoneDaylight:
    sub = TimezoneDaylight() if is_dst else TimezoneStandard()
    sub.add("dtstart", onset)
    sub.add("tzoffsetfrom", offset_from)
    sub.add("tzoffsetto", offset_to)
    if name:
        sub.add("tzname", name)
    return sub
