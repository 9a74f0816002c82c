"""Text survives the trip through two independent parsers; lines fold safely; nothing injects."""

from __future__ import annotations

from pathlib import Path

import icalendar
import vobject

from agenda import create_app
from agenda.loader import parse_schedule
from agenda.model import Schedule
from agenda.render.ical import feed_bytes, session_bytes
from tests.conftest import LYON_OCTOBER, MINIMAL


def test_hard_text_round_trips_through_two_parsers(several: Schedule) -> None:
    session = several.session("texte-difficile")
    assert session is not None
    data = session_bytes(several, session)
    (event,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    via_vobject = vobject.readOne(data.decode("utf-8")).vevent

    # Both parsers agree to the character...
    assert str(event["DESCRIPTION"]) == via_vobject.description.value
    assert str(event["SUMMARY"]) == via_vobject.summary.value
    assert str(event["LOCATION"]) == via_vobject.location.value
    # ...and give back the schedule's own text: accents, ’, « », ; , newlines, 🎉.
    assert session.city in via_vobject.summary.value
    lines = via_vobject.description.value.split("\n")
    assert session.title in lines
    for line in session.description.splitlines():
        assert line in lines
    assert any(session.speakers[0].role in line for line in lines)


def test_lines_fold_at_75_octets_without_splitting_characters(several: Schedule) -> None:
    data = feed_bytes(several, several.sessions)
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # a split multi-byte character would raise here


def test_injected_properties_stay_inside_the_description(several: Schedule) -> None:
    session = several.session("texte-difficile")
    assert session is not None
    data = session_bytes(several, session)
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    # The description holds "DTSTART:19700101T000000Z" and "END:VEVENT" on lines of their own.
    assert event.decoded("DTSTART").year == 2021
    assert len(calendar.walk("VEVENT")) == 1
    assert "END:VEVENT\n" in str(event["DESCRIPTION"])
    assert b"\r\nDTSTART:1970" not in data and b"\r\nEND:VEVENT\r\nEND:VEVENT" not in data


def test_every_line_ends_with_crlf(several: Schedule) -> None:
    data = feed_bytes(several, several.sessions)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_calendar_texts_ending_like_a_component_line_leave_every_feed_whole(
    tmp_path: Path,
) -> None:
    # Feeds are assembled from serialized events: a description or name ending a line
    # with "END:VCALENDAR" or "BEGIN:VEVENT" must not be taken for that line.
    path = tmp_path / "sessions.toml"
    description = "Fin de la présentation\nEND:VCALENDAR"
    rhythm = ('rhythm = { rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=3", first = 2026-10-21, '
              "start = 08:45:00, end = 10:15:00 }")
    text = MINIMAL.replace('name = "Essai"', 'name = "Essai BEGIN:VEVENT"')
    text = text.replace("[[series]]", f'description = """{description}"""\n\n[[series]]')
    path.write_text(text + rhythm + "\n" + LYON_OCTOBER, encoding="utf-8")
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": "2026-10-02T12:00:00+02:00"}
                        ).test_client()
    # Lyon, without a number, and the two planned dates besides the one of its day.
    for url, events in (("/calendar.ics", 3), ("/series/s/calendar.ics", 3),
                        ("/cities/lyon/calendar.ics", 1)):
        data = client.get(url).data
        calendar = icalendar.Calendar.from_ical(data)
        assert len(calendar.walk("VEVENT")) == events, url
        assert str(calendar["DESCRIPTION"]) == description
        assert str(calendar["X-WR-CALNAME"]).startswith("Essai BEGIN:VEVENT")
        assert len(vobject.readOne(data.decode("utf-8")).contents["vevent"]) == events


def test_a_backslash_before_an_n_stays_a_backslash_in_every_text() -> None:
    # icalendar's escaper reads a written backslash and N as a line break: a city « \N », a
    # path « C:\Nouveau » in a description, a series or calendar name came out cut in two.
    odd = "C:\\Nouveau \\N \\n \\\\N ; , fin"
    text = MINIMAL.replace('name = "Essai"', f'name = "Essai {odd}"\ndescription = "{odd}"') \
        .replace('title = "Série"', f'title = "Série {odd}"') \
        + LYON_OCTOBER.replace('city = "Lyon"', f'city = "Lyon {odd}"') \
        + f'title = "{odd}"\ndescription = "{odd}"\n'
    text = text.replace("\\", "\\\\")  # TOML basic strings: each backslash written twice
    schedule = parse_schedule(text)
    assert odd in schedule.sessions[0].city
    session = schedule.sessions[0]
    for data in (session_bytes(schedule, session), feed_bytes(schedule, schedule.sessions)):
        (event,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
        via_vobject = vobject.readOne(data.decode("utf-8")).vevent
        for summary in (str(event["SUMMARY"]), via_vobject.summary.value):
            assert session.city in summary
        for described in (str(event["DESCRIPTION"]), via_vobject.description.value):
            assert odd in described.split("\n")
        assert f"Série {odd}" in [str(c) for c in event["CATEGORIES"].cats]
        assert f"Série {odd}" in via_vobject.categories.value
    calendar = icalendar.Calendar.from_ical(feed_bytes(schedule, schedule.sessions))
    assert str(calendar["DESCRIPTION"]) == odd  # (icalendar reads NAME and X-WR-* unescaped)
