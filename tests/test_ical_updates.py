"""Clients replace an event they hold only when its SEQUENCE grows and its DTSTAMP moves
(CLIENTS.md, "Identity and updates"): any edit that changes what a VEVENT says, of a session or
of a planned date, must bump both, in the subscription feed and in the single downloads."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest

from agenda.published import Version, first_version, next_version
from agenda.render import ical
from tests.conftest import FIXTURES

RHYTHM = "desk_preview.toml"  # sessions and the planned dates of a rhythm
MOVED = "several_sessions.toml"  # a session moved, cancelled, tentative
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
STAMPS = ("DTSTAMP", "LAST-MODIFIED", "SEQUENCE")


def events(version: Version) -> dict[tuple[str, str], icalendar.Event]:
    """(file, UID) -> VEVENT, over the feed and every session's download."""
    schedule = version.schedule
    files = {"calendar.ics": ical.feed_bytes(schedule, schedule.sessions)}
    files |= {f"{s.id}.ics": ical.session_bytes(schedule, s) for s in schedule.dated_sessions}
    return {(name, str(e["UID"])): e for name, data in files.items()
            for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def said(event: icalendar.Event) -> list[str]:
    """What a VEVENT says, parameters included, its stamps left out."""
    return [line for line in event.content_lines() if line.split(":")[0].split(";")[0]
            not in STAMPS]


@pytest.mark.parametrize(("fixture", "old", "new"), [
    (RHYTHM, 'organizer = { name = "CEPS"', 'organizer = { name = "CEPS Club"'),
    (RHYTHM, 'email = "helene.pichon@ceps-oing.org", url', 'email = "club@ceps-oing.org", url'),
    (RHYTHM, 'title = "Tour des Villes"', 'title = "Tour des Régions"'),
    (RHYTHM, 'title = "Tour des Villes"', 'title = "Tour des Villes"\nclub = "Club des villes"'),
    (RHYTHM, 'base_url = "https://agenda.ceps-oing.org"', 'base_url = "https://agenda.ceps.org"'),
    (MOVED, 'title = "Autres rencontres"', 'title = "Rencontres"'),
    (MOVED, 'timezone = "Europe/Paris"', 'timezone = "Europe/Brussels"'),  # the same offsets
    (RHYTHM, 'timezone = "Europe/Paris"', 'timezone = "Europe/Brussels"'),
])
def test_every_event_that_says_something_new_is_sequenced_and_stamped_again(
    fixture: str, old: str, new: str
) -> None:
    text = (FIXTURES / fixture).read_text("utf-8")
    assert old in text
    first = first_version(text.encode(), "s.toml")
    second, _ = next_version(first, text.replace(old, new, 1).encode(), "s.toml", NOW)
    before, after = events(first), events(second)
    changed = [key for key in before.keys() & after.keys()
               if said(before[key]) != said(after[key])]

    assert changed  # the edit shows in calendars
    for key in changed:
        assert int(after[key]["SEQUENCE"]) > int(before[key]["SEQUENCE"]), key
        assert after[key].decoded("DTSTAMP") > before[key].decoded("DTSTAMP"), key
        assert after[key].decoded("LAST-MODIFIED") > before[key].decoded("LAST-MODIFIED"), key


def test_editors_read_that_planned_dates_changed_not_that_they_moved() -> None:
    """A new organizer re-sequences the planned dates without moving them."""
    text = (FIXTURES / RHYTHM).read_text("utf-8")
    first = first_version(text.encode(), "s.toml")
    edited = text.replace('organizer = { name = "CEPS"', 'organizer = { name = "CEPS Club"')
    _, changes = next_version(first, edited.encode(), "s.toml", NOW)
    planned = [c.details for c in changes if c.id.startswith("date prévue ")]
    assert planned == [("date prévue modifiée",)] * 3
