"""Generated rhythms, contacts, replays and moderators: refused in French, or served intact.

The inputs that came after the first generated schedules (tests/test_properties_schedule.py):
a series' rhythm built from RFC 5545 parts (BYSETPOS, BYWEEKNO, huge COUNT, far UNTIL, rules
planning no date), at hours around the clock changes of zones other than Paris; many press
contacts with odd texts; moderators, replays, held sessions. Each file is refused with a
ScheduleError whose every problem names its place and field, or calendars, feeds and JSON
read back by independent parsers (icalendar, vobject, recurring-ical-events, feedparser,
jsonschema) carry every text as written.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path

import icalendar
import recurring_ical_events
import vobject
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from agenda import create_app
from agenda.errors import ScheduleError
from agenda.loader import load_schedule
from tests.routes import check_every_route
from tests.test_properties_schedule import NASTY, SAFE, ZONES, hang_guard, rarely, toml_string

# With a hundred texts a file, one nasty text in 25 (as in test_properties_schedule) would
# refuse every file: here one in 400, so that most reach the parsers.
TEXT = rarely(NASTY, SAFE, odds=400)
NAME = TEXT.filter(str.strip)

# Not DAILY with parts: dateutil takes seconds to find that a daily rule plans no date
# (see the report); it stays as a whole rule.
FREQS = ["WEEKLY", "MONTHLY", "YEARLY", "WEEKLY", "MONTHLY", "HOURLY", "MINUTELY"]
PARTS = ["BYDAY=3WE", "BYDAY=-1FR", "BYDAY=5FR", "BYDAY=+1000MO", "BYDAY=MO,TU", "BYSETPOS=-1",
         "BYSETPOS=1", "BYSETPOS=400", "BYWEEKNO=1", "BYWEEKNO=53", "BYWEEKNO=-1", "BYMONTH=3",
         "BYMONTH=10,11", "BYMONTH=13", "BYMONTHDAY=31", "BYMONTHDAY=-1", "BYYEARDAY=366",
         "INTERVAL=0", "INTERVAL=300", "BYHOUR=8", "WKST=SU", "BYEASTER=0", ""]
ENDS = ["COUNT=1", "COUNT=12", "COUNT=500", "COUNT=501", "COUNT=0", f"COUNT={10**30}",
        "UNTIL=20300101", "UNTIL=21991231", "UNTIL=99991231", "UNTIL=20300101T000000Z",
        "UNTIL=19000101", "COUNT=3;UNTIL=20300101", ""]
# Hours that some zone's clocks skip or pass twice, and ordinary ones.
HOURS = [("08:45:00", "10:15:00"), ("02:30:00", "03:30:00"), ("00:00:00", "01:30:00"),
         ("01:30:00", "02:30:00"), ("23:00:00", "23:59:00"), ("10:00:00", "09:00:00")]
BAD_EMAILS = ["zoé@exemple.fr", "a@b", "@", "x@[::1]", "presse@xn--bcher-kva.example", "x y"]
EMAILS = rarely(st.sampled_from(BAD_EMAILS), st.just("presse@example.org"), odds=5)
BAD_URLS = ["https://exemple.fr/é?a=1&b=<2>", "javascript:alert(1)", "https://[::1]:8443/r",
            "http://a b/"]
URLS = rarely(st.sampled_from(BAD_URLS), st.just("https://video.example.org/r"), odds=4)


@st.composite
def rules(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(["FREQ=DAILY;COUNT=2", "FREQ=DAILY;UNTIL=20300101"]))
    parts = [f"FREQ={draw(st.sampled_from(FREQS))}",
             *draw(st.lists(st.sampled_from(PARTS), max_size=2)),
             draw(rarely(st.sampled_from(ENDS), st.sampled_from(ENDS[:3] + ENDS[6:8]), odds=3))]
    return ";".join(p for p in parts if p)


@st.composite
def schedules(draw: st.DrawFn) -> str:
    """A schedule of one series with a rhythm, contacts and a few sessions of every kind."""
    zone = draw(st.sampled_from(ZONES))
    first = draw(st.dates(date(1969, 12, 1), date(2199, 12, 31)))
    start, end = draw(rarely(st.sampled_from(HOURS), st.just(HOURS[0]), odds=3))
    names = draw(st.lists(NAME, max_size=40, unique_by=str.strip))
    contacts = "".join(
        f"[[contacts]]\nname = {toml_string(name)}\n"
        f"organization = {toml_string(draw(TEXT))}\nphone = {toml_string(draw(TEXT))}\n"
        + (f"email = {toml_string(draw(EMAILS))}\n" if draw(st.booleans()) else "")
        for name in names
    )
    head = "\n".join([
        "[calendar]", f"name = {toml_string(draw(NAME))}", f'timezone = "{zone}"',
        'base_url = "https://agenda.example.org"', 'organizer = { name = "CEPS" }', "",
        contacts, "[[series]]", 'id = "s"', f"title = {toml_string(draw(NAME))}",
        f"club = {toml_string(draw(TEXT))}", f"description = {toml_string(draw(TEXT))}",
        f'rhythm = {{ rule = {toml_string(draw(rarely(TEXT, rules(), odds=9)))}, '
        f"first = {first.isoformat()}, start = {start}, end = {end} }}", "",
    ])
    sessions = []
    for number in range(1, draw(st.integers(1, 4)) + 1):
        lines = ["[[sessions]]", f'id = "n{number}"', 'series = "s"', f"number = {number}",
                 f"city = {toml_string(draw(NAME))}", f"title = {toml_string(draw(TEXT))}"]
        kind = draw(st.sampled_from(["dated", "held", "undated"]))
        if kind == "dated":
            day = draw(st.datetimes(datetime(2020, 1, 1), datetime(2031, 1, 1))).date()
            lines += [f"start = {day.isoformat()}T{start}", f"end = {day.isoformat()}T{end}",
                      f'status = "{draw(st.sampled_from(["confirmed", "cancelled"]))}"',
                      "announced = 2019-12-01"]
        elif kind == "held":
            lines.append("held = true")
        if kind == "held" and draw(st.booleans()):
            lines.append(f"replay_url = {toml_string(draw(URLS))}")
        if draw(st.booleans()):
            lines.append(f"moderator = {{ name = {toml_string(draw(NAME))}, "
                         f"role = {toml_string(draw(TEXT))} }}")
        speakers = draw(st.lists(NAME, max_size=30))
        lines.append("speakers = [" + ", ".join(f"{{ name = {toml_string(s)} }}"
                                                for s in speakers) + "]")
        mine = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
        if draw(st.integers(0, 9)) == 0:
            mine.append(draw(NAME))  # a contact the file does not declare
        lines.append("contacts = [" + ", ".join(toml_string(n) for n in mine) + "]")
        sessions.append("\n".join(lines) + "\n")
    return head + "\n".join(sessions)


def check_parsers(client: object, schedule: object) -> None:
    """The calendar, read by vobject and expanded by recurring-ical-events; the JSON valid
    against the served schema with every contact's text as written."""
    feed = client.get("/calendar.ics").data  # type: ignore[attr-defined]
    parsed = icalendar.Calendar.from_ical(feed)
    events = recurring_ical_events.of(parsed).between(date(1969, 1, 1), date(2201, 1, 1))
    assert len(events) == len(parsed.walk("VEVENT"))
    assert len(vobject.readOne(feed.decode()).contents.get("vevent", [])) == len(events)
    schema = json.loads(client.get("/schemas/events.json").data)  # type: ignore[attr-defined]
    document = json.loads(client.get("/events.json").data)  # type: ignore[attr-defined]
    check = Draft202012Validator(schema, format_checker=FormatChecker())
    assert [e.message for e in check.iter_errors(document)] == []
    declared = {c.name: c for c in schedule.contacts}  # type: ignore[attr-defined]
    for entry in document["sessions"]:
        for contact in entry["contacts"]:
            written = declared[contact["name"]]
            assert (contact["organization"], contact["phone"]) == (written.organization,
                                                                    written.phone)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_generated_rhythm_and_contacts_are_refused_in_words_or_read_back_intact(
    text: str,
) -> None:
    with tempfile.TemporaryDirectory() as folder, hang_guard():
        path = Path(folder) / "sessions.toml"
        path.write_text(text, encoding="utf-8")
        try:
            schedule = load_schedule(path)
        except ScheduleError as refused:
            assert refused.problems
            for problem in refused.problems:
                assert problem.where and problem.field and problem.message, problem
                assert "Traceback" not in problem.message
            event("refused")
            return
        event("served")
        app = create_app({"AGENDA_DATA": str(path), "TESTING": False,
                          "AGENDA_NOW": "2026-05-17T12:00:00+02:00"})
        client = app.test_client()
        check_every_route(client, schedule)
        check_parsers(client, schedule)
