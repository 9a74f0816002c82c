"""A series' rhythm: the planned dates of its sessions, expanded with python-dateutil.

A rhythm is an RFC 5545 recurrence rule (`FREQ=MONTHLY;BYDAY=3WE;COUNT=12`) from a first date,
at the series' usual hours. Occurrence n is session n° n: until a dated session of that number
exists, the subscription feed carries a tentative « à annoncer » event in its place. Pure.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from agenda.format import FIRST_YEAR, LAST_YEAR
from agenda.i18n import _
from agenda.model import Rhythm, Series, Session

# A rhythm plans a year or a few: a bound keeps a typo (COUNT=10000) from filling calendars.
MOST_OCCURRENCES = 500
HOURS = ("FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=SECONDLY", "BYHOUR=", "BYMINUTE=", "BYSECOND=")


def on_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` in `zone`, its offset fixed in the hour the clocks go back: times of one ZoneInfo
    compare by wall clock (PEP 495), 02:20 after the change before 02:45 before it."""
    local = moment.astimezone(zone)
    fixed = local.astimezone(timezone(local.utcoffset() or timedelta()))
    return fixed if local.replace(fold=1 - local.fold).utcoffset() != fixed.utcoffset() else local


def _rule(rhythm: Rhythm) -> rrule:
    parsed = rrulestr(rhythm.rule, dtstart=rhythm.first.replace(tzinfo=None), forceset=False)
    assert isinstance(parsed, rrule)  # rhythm_error refuses a set (a ':' or a space) first
    return parsed


def rhythm_error(rhythm: Rhythm) -> str | None:
    """Why this rhythm cannot be expanded, in words for the editor; None when it can."""
    text = rhythm.rule.upper()
    # No property name (RRULE:, EXRULE:), nor a space: dateutil reads it as a new line.
    if ":" in text or "DTSTART" in text or any(c.isspace() for c in text):
        return _("'{rule}' must be the rule alone, such as 'FREQ=MONTHLY;BYDAY=3WE;COUNT=12' "
                 "(the first date is 'first')", rule=rhythm.rule)
    if any(part in text for part in HOURS):
        return _("'{rule}' plans days: FREQ is DAILY, WEEKLY, MONTHLY or YEARLY, without BYHOUR, "
                 "BYMINUTE or BYSECOND (the hours are 'start' and 'end')", rule=rhythm.rule)
    if "COUNT=" not in text and "UNTIL=" not in text:
        return _("'{rule}' never ends; add COUNT=… or UNTIL=…", rule=rhythm.rule)
    if "COUNT=" in text and "UNTIL=" in text:  # RFC 5545 forbids it; dateutil will refuse it
        return _("'{rule}' ends twice, by COUNT and by UNTIL: keep one", rule=rhythm.rule)
    try:
        if any(p[:9] == "INTERVAL=" and int(p[9:]) < 1 for p in text.split(";")):
            return _("'{rule}': INTERVAL is 1 or more", rule=rhythm.rule)  # dateutil would loop
        dates = list(_rule(rhythm)[: MOST_OCCURRENCES + 1])
    except (ValueError, TypeError, OverflowError, IndexError):  # dateutil's reason is English
        return _("'{rule}' is not an RFC 5545 recurrence rule", rule=rhythm.rule)
    if len(dates) > MOST_OCCURRENCES:
        return _("'{rule}' plans more than {most} dates; lower COUNT or UNTIL",
                 rule=rhythm.rule, most=MOST_OCCURRENCES)
    if not dates:
        return _("'{rule}' plans no date from {first}",
                 rule=rhythm.rule, first=rhythm.first.date().isoformat())
    if not FIRST_YEAR <= dates[0].year <= dates[-1].year <= LAST_YEAR:
        return _("'{rule}' plans dates from {first} to {last}; dates go from {low} to {high}",
                 rule=rhythm.rule, first=dates[0].year, last=dates[-1].year, low=FIRST_YEAR,
                 high=LAST_YEAR)
    return None


def occurrences(rhythm: Rhythm) -> list[tuple[int, datetime, datetime]]:
    """(number, start, end) of every planned date, numbered from 1, in the rhythm's zone."""
    zone = rhythm.first.tzinfo  # the calendar's ZoneInfo (the loader's combine)
    return [
        (number, datetime.combine(day, rhythm.start, zone), datetime.combine(day, rhythm.end, zone))
        for number, day in enumerate((d.date() for d in _rule(rhythm)[:MOST_OCCURRENCES]), 1)]


def open_occurrences(series: Series, sessions: tuple[Session, ...]
                     ) -> list[tuple[int, datetime, datetime]]:
    """The planned dates of `series` that no dated or held session of that number fills, and
    none of its sessions holds the day of (« à annoncer » beside it in calendars, a session
    moved there: the date gives way, to come back when the day is free)."""
    if series.rhythm is None:
        return []
    mine = [s for s in sessions if s.series.id == series.id]
    filled = {s.number for s in mine if s.number is not None and (s.is_dated or s.held)}
    days = {s.start.astimezone(series.rhythm.first.tzinfo).date() for s in mine if s.start}
    return [o for o in occurrences(series.rhythm) if o[0] not in filled and o[1].date() not in days]
