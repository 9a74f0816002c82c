"""Each kind of bad schedule is refused with a message naming file, session and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenda.errors import ScheduleError
from agenda.loader import load_schedule

HEAD = """
[calendar]
name = "Essai"
timezone = "Europe/Paris"
base_url = "https://agenda.example.org"
organizer = { name = "Club", email = "club@example.org" }

[[series]]
id = "tour"
title = "Tour"
"""

GOOD_SESSION = """
[[sessions]]
id = "lyon"
series = "tour"
city = "Lyon"
start = 2021-06-16T08:45:00
end = 2021-06-16T10:15:00
announced = 2021-06-01
"""


def problems_of(write_schedule, text: str) -> list[str]:
    """Load `text` as a schedule file and return its problems as strings."""
    path: Path = write_schedule(text)
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    messages = [str(p) for p in caught.value.problems]
    assert all(m.startswith(str(path)) for m in messages), messages
    return messages


def session_with(**changes: str) -> str:
    """GOOD_SESSION with some lines replaced (value None removes the key)."""
    lines = GOOD_SESSION.strip().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        key = line.split("=")[0].strip()
        if key in changes:
            value = changes.pop(key)
            if value is not None:
                out.append(f"{key} = {value}")
        else:
            out.append(line)
    out += [f"{k} = {v}" for k, v in changes.items() if v is not None]
    return HEAD + "\n" + "\n".join(out) + "\n"


def test_good_session_loads(write_schedule) -> None:
    assert load_schedule(write_schedule(session_with())).session("lyon") is not None


def test_toml_syntax_error_names_its_line(write_schedule) -> None:
    text = session_with() + 'city = "Lyon\n'
    line = text.count("\n")
    (message,) = problems_of(write_schedule, text)
    assert "TOML syntax error" in message
    assert f"line {line}" in message


def test_unknown_key_suggests_the_right_one(write_schedule) -> None:
    messages = problems_of(write_schedule, session_with(start=None, strat="2021-06-16T08:45:00"))
    expected = "session 'lyon', field 'strat': unknown key; did you mean 'start'?"
    assert [m for m in messages if m.endswith(expected)] != []


def test_unknown_key_in_calendar_is_named(write_schedule) -> None:
    text = session_with().replace('name = "Essai"', 'name = "Essai"\ntimezon = "UTC"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith("[calendar], field 'timezon': unknown key; did you mean 'timezone'?")


def test_missing_required_field_is_named(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(city=None))
    assert message.endswith("session 'lyon', field 'city': is required")


def test_session_without_id_is_named_by_position(write_schedule) -> None:
    text = session_with() + GOOD_SESSION.replace('id = "lyon"\n', "")
    (message,) = problems_of(write_schedule, text)
    assert message.endswith("session #2 (no id), field 'id': is required")


def test_end_before_start_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(end="2021-06-16T08:00:00"))
    assert message.endswith("session 'lyon', field 'end': must be after 'start'")


def test_end_equal_to_start_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(end="2021-06-16T08:45:00"))
    assert message.endswith("field 'end': must be after 'start'")


def test_start_without_end_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(end=None))
    assert "session 'lyon', field 'end': is required when" in message


def test_duplicate_id_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with() + GOOD_SESSION)
    assert message.endswith(
        "session 'lyon', field 'id': 'lyon' is used by another session; ids must be unique"
    )


@pytest.mark.parametrize("bad", ["Lyon", "lyon 2021", "lyon_2021", "-lyon", "lyon--2021", "lyoñ"])
def test_malformed_id_is_refused(write_schedule, bad: str) -> None:
    (message,) = problems_of(write_schedule, session_with(id=f'"{bad}"'))
    assert f"field 'id': '{bad}' is not a valid id" in message


def test_unknown_series_lists_known_ones(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(series='"tuor"'))
    assert message.endswith(
        "session 'lyon', field 'series': 'tuor' is not a series id; known series: 'tour'"
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.org/x", "example.org/inscription", "https://"]
)
def test_non_http_url_is_refused(write_schedule, url: str) -> None:
    (message,) = problems_of(write_schedule, session_with(registration_url=f'"{url}"'))
    assert f"field 'registration_url': '{url}' is not an http or https URL" in message


def test_unknown_timezone_is_refused(write_schedule) -> None:
    text = session_with().replace('"Europe/Paris"', '"Europe/Pariss"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "[calendar], field 'timezone': 'Europe/Pariss' is not an IANA time zone name, "
        "such as 'Europe/Paris'"
    )


def test_time_skipped_by_spring_change_is_refused(write_schedule) -> None:
    text = session_with(start="2021-03-28T02:30:00", end="2021-03-28T04:00:00")
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "session 'lyon', field 'start': 2021-03-28 02:30 does not exist in Europe/Paris "
        "(the clocks skip it); choose a time outside the change to summer time"
    )


def test_time_repeated_by_autumn_change_is_refused(write_schedule) -> None:
    text = session_with(start="2021-10-31T01:00:00", end="2021-10-31T02:30:00")
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "session 'lyon', field 'end': 2021-10-31 02:30 occurs twice in Europe/Paris "
        "(the clocks go back); choose a time outside the change to winter time"
    )


def test_offset_datetime_for_start_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(start="2021-06-16T08:45:00+02:00"))
    assert "field 'start': must be a local date-time without offset" in message


def test_unknown_status_lists_valid_ones(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(status='"canceled"'))
    assert message.endswith(
        "field 'status': 'canceled' is not a status; use one of 'confirmed', 'tentative', "
        "'cancelled'"
    )


def test_dated_session_without_announced_or_updated_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(announced=None))
    assert "field 'announced': a dated session needs 'announced' or 'updated'" in message


def test_wrong_type_is_named(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(number='"trois"'))
    assert message.endswith("field 'number': must be a whole number, not a string ('trois')")


def test_newline_in_one_line_field_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(city='"Lyon\\nDTSTART:20000101"'))
    assert message.endswith("field 'city': must be on one line")


def test_duplicate_number_in_series_is_refused(write_schedule) -> None:
    text = session_with(number="1") + GOOD_SESSION.replace('"lyon"', '"nice"') + "number = 1\n"
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "session 'nice', field 'number': 1 is already the number of session 'lyon' in series 'tour'"
    )


def test_every_problem_is_reported_at_once(write_schedule) -> None:
    text = session_with(city=None, strat="1", registration_url='"javascript:x"')
    messages = problems_of(write_schedule, text)
    fields = sorted(m.split("field '")[1].split("'")[0] for m in messages)
    assert fields == ["city", "registration_url", "strat"]


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError) as caught:
        load_schedule(tmp_path / "absent.toml")
    expected = f"{tmp_path / 'absent.toml'}: cannot read the file: No such file or directory"
    assert str(caught.value) == expected


@pytest.mark.parametrize("tag", ["french", "xx", "fr_FR"])
def test_unknown_language_is_refused(write_schedule, tag: str) -> None:
    text = session_with().replace('name = "Essai"', f'name = "Essai"\nlanguage = "{tag}"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        f"[calendar], field 'language': '{tag}' is not a language tag we can format dates in, "
        "such as 'fr'"
    )


def test_held_on_a_dated_session_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(held="true"))
    assert message.endswith(
        "session 'lyon', field 'held': is only for sessions without a date; "
        "a dated session is past once it ends"
    )


def test_base_url_with_a_path_is_refused(write_schedule) -> None:
    text = session_with().replace(
        '"https://agenda.example.org"', '"https://example.org/agenda"'
    )
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "[calendar], field 'base_url': 'https://example.org/agenda' has a path; agenda is served "
        "at the root of its host, such as 'https://agenda.example.org'"
    )


def test_updated_before_announced_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(updated="2021-05-20"))
    assert message.endswith("session 'lyon', field 'updated': must not be before 'announced'")


@pytest.mark.parametrize("written", ['" cancelled"', '""', '"Cancelled"'])
def test_status_not_written_exactly_is_refused(write_schedule, written: str) -> None:
    (message,) = problems_of(write_schedule, session_with(status=written))
    assert message.endswith(
        f"field 'status': '{written[1:-1]}' is not a status; use one of 'confirmed', "
        "'tentative', 'cancelled'"
    )
