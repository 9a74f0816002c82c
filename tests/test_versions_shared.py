"""Two versions in memory share what did not change between them, and only that.

While an edit is published, the version served and the new one are both in
memory; the new one reuses the sessions and texts of the old that are equal to
its own, so an edit costs memory for what it changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agenda.history import apply
from agenda.loader import parse_bytes
from agenda.published import first_version, next_version, read_version, write_version
from tests.test_history_revisions import BASE

NOW = datetime(2021, 6, 10, 9, 30, tzinfo=UTC)


def test_an_edit_shares_the_sessions_it_did_not_change() -> None:
    first = first_version(BASE.encode(), "sessions.toml")
    edited = BASE.replace('city = "Nantes"', 'city = "Saint-Nazaire"')
    second, _ = next_version(first, edited.encode(), "sessions.toml", NOW)
    assert second.schedule.session("lyon") is first.schedule.session("lyon")
    nantes = second.schedule.session("nantes")
    assert nantes is not None and nantes.city == "Saint-Nazaire"
    assert nantes.sequence == first.schedule.session("nantes").sequence + 1
    # What is shared is what would have been made anyway.
    alone = apply(parse_bytes(edited.encode(), "sessions.toml"), second.history)
    assert second.schedule == alone
    assert [s.revisions for s in second.schedule.sessions] == [
        s.revisions for s in alone.sessions
    ]


def test_nothing_is_shared_across_a_change_of_calendar() -> None:
    # Same instants in another zone would compare equal: the calendar guards it.
    first = first_version(BASE.encode(), "sessions.toml")
    edited = BASE.replace('name = "Essai"', 'name = "Essai"\ntimezone = "Europe/Brussels"')
    second, _ = next_version(first, edited.encode(), "sessions.toml", NOW)
    lyon = second.schedule.session("lyon")
    assert lyon is not first.schedule.session("lyon")
    assert lyon is not None and lyon.start is not None
    assert str(lyon.start.tzinfo) == "Europe/Brussels"


def test_texts_equal_to_those_of_the_schedule_served_are_its_own() -> None:
    first = first_version(BASE.encode(), "sessions.toml")
    edited = BASE.replace('city = "Nantes"', 'city = "Saint-Nazaire"')
    alike = parse_bytes(edited.encode(), "sessions.toml", like=first.schedule)
    assert alike == parse_bytes(edited.encode(), "sessions.toml")
    old, new = first.schedule.session("lyon"), alike.session("lyon")
    assert new.description is old.description and new.speakers[0].name is old.speakers[0].name


def test_a_time_met_again_is_one_object(tmp_path: Path) -> None:
    # Sessions published together share their revision's time once read back and
    # moved to the calendar's zone; a revision already in the zone is the history's own.
    text = BASE.replace("announced = 2021-07-01", "announced = 2021-06-01")
    first = first_version(text.encode(), "sessions.toml")
    history = first.history.sessions["lyon"]
    assert first.schedule.session("lyon").revisions[0] is history.revisions[0]
    write_version(first, tmp_path / "published.json", "sessions.toml")
    version = read_version(tmp_path / "published.json", "sessions.toml")
    assert version is not None and version.schedule.sessions == first.schedule.sessions
    lyon, nantes = (version.schedule.session(i) for i in ("lyon", "nantes"))
    assert lyon.revisions[0].at is nantes.revisions[0].at


def test_a_time_written_with_another_offset_is_the_same_instant_in_the_calendars_zone() -> None:
    # An offset is an instant (issue 16): read in the calendar's zone, as pages show it.
    text = BASE.replace("announced = 2021-06-01", "announced = 2021-06-01T10:00:00+02:00")
    first = first_version(text.encode(), "sessions.toml")
    edited = text.replace("2021-06-01T10:00:00+02:00", "2021-06-01T08:00:00Z")
    second, _ = next_version(first, edited.encode(), "sessions.toml", NOW)
    before, after = first.schedule.session("lyon"), second.schedule.session("lyon")
    assert after is before
    assert after.announced.isoformat() == "2021-06-01T10:00:00+02:00"
    assert second.schedule.session("nantes") is first.schedule.session("nantes")
