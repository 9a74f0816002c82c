"""The JSON Schema of the schedule file agrees with the loader: both come from agenda.format.

Editors (Taplo, VS Code's Even Better TOML) validate the TOML document as JSON,
with dates and times turned into strings. Every case below goes through the loader
and, converted the way Taplo converts it, through the schema with `jsonschema`:
what the loader accepts the schema accepts, and a structural fault (unknown key,
wrong type, missing key, a value outside what the schema states) is refused by
both. Rules across fields or about meaning are the loader's alone.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, time
from typing import Any

import jsonschema
import pytest
from hypothesis import given

from agenda.errors import ScheduleError
from agenda.format import SESSION, Kind, json_schema, json_schema_text
from agenda.loader import _Builder, _Table, parse_schedule
from tests.conftest import FIXTURES, MINIMAL, ROOT, SHIPPED
from tests.test_loader_invalid import GOOD_SESSION, session_with
from tests.test_loader_limits import session_text
from tests.test_properties_loader import mutants

SCHEMA_FILE = "sessions.schema.json"  # what `python -m agenda.format` is written to
SCHEMA_PATH = ROOT / "data" / SCHEMA_FILE
VALIDATORS = [jsonschema.Draft4Validator, jsonschema.Draft7Validator]


def taplo_value(value: Any) -> Any:
    """A parsed TOML value as Taplo hands it to the schema: dates and times as strings."""
    if isinstance(value, dict):
        return {key: taplo_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [taplo_value(item) for item in value]
    if isinstance(value, datetime):
        text = f"{value.date().isoformat()}T{taplo_value(value.timetz().replace(tzinfo=None))}"
        if value.tzinfo is not None:
            offset = value.utcoffset()
            assert offset is not None
            minutes = int(offset.total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            text += "Z" if value.tzinfo is UTC or minutes == 0 else (
                f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"
            )
        return text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        # toml_datetime writes the seconds always, and a fraction only when there is one.
        text = f"{value.hour:02}:{value.minute:02}:{value.second:02}"
        if value.microsecond:
            text += "." + f"{value.microsecond * 1000:09}".rstrip("0")
        return text
    return value


def loader_accepts(text: str) -> bool:
    """True when the loader builds a schedule from `text`."""
    try:
        parse_schedule(text, "case.toml")
    except ScheduleError:
        return False
    return True


def schema_accepts(text: str, validator: type[Any] = jsonschema.Draft7Validator) -> bool:
    """True when the schema accepts the TOML document `text`, as Taplo would see it."""
    document = taplo_value(tomllib.loads(text.removeprefix("\ufeff")))
    return validator(json_schema()).is_valid(document)


def session(**changes: str) -> str:
    """The good session of test_loader_invalid with some keys changed."""
    return session_with(**changes)


def with_calendar(line: str) -> str:
    """The good session with one more line in [calendar]."""
    return session().replace('name = "Essai"', f'name = "Essai"\n{line}', 1)


VALID = {
    "shipped": SHIPPED.read_text("utf-8"),
    **{f"fixture {p.name}": p.read_text("utf-8") for p in sorted(FIXTURES.glob("*.toml"))},
    "good session": session(),
    "minimal": MINIMAL,
    "edges of the year range": session_text(
        start="2199-12-31T08:00:00", end="2199-12-31T09:00:00", announced="1970-01-01"
    ),
    "offset announcement": session(announced="2021-06-01T09:00:00+02:00"),
    "utc announcement": session(announced="2021-06-01T07:00:00Z"),
    "seconds written as zero with a fraction": session(start="2021-06-16T08:45:00.000"),
    "padded id": session(id='" lyon "'),
    "empty language is the default": with_calendar('language = ""'),
    "upper-case scheme": session(registration_url='"HTTPS://EXAMPLE.ORG/x"'),
    "escaped CRLF in a description": session(description='"Un\\r\\nDeux"'),
    "legacy fields": session(sequence="3", updated="2021-06-02", previous_start=(
        "2021-06-09T08:45:00"
    )),
    "replay": session(replay_url='"https://example.org/replay"'),
    "rhythm": MINIMAL + 'rhythm = { rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=12", '
    "first = 2021-03-17, start = 08:45:00, end = 10:15:00 }\n",
    "rhythm with fractional seconds": MINIMAL + 'rhythm = { rule = "FREQ=WEEKLY;COUNT=2", '
    "first = 2021-03-17, start = 08:45:00.5, end = 10:15:00 }\n",
    "undated held session": session(start=None, end=None, held="true"),
    "held false on a dated session": session(held="false"),
    "video not public without a link": session(video_public="false"),
    "replay of a tentative session": session(
        status='"tentative"', replay_url='"https://example.org/replay"'
    ),
    "undated session without announced": session(start=None, end=None, announced=None),
    "session naming its press contact": session(contacts='["Zoé Martin"]').replace(
        "[[series]]", '[[contacts]]\nname = "Zoé Martin"\n\n[[series]]'
    ),
}

# Refused by both: what the schema states (keys, types, required keys, patterns, bounds).
STRUCTURAL = {
    "unknown key in a session": session(start=None, strat="2021-06-16T08:45:00"),
    "unknown key in calendar": with_calendar('timezon = "UTC"'),
    "unknown top-level table": session() + "\n[extra]\na = 1\n",
    "unknown key in a speaker": session(speakers='[{ name = "A", roles = "B" }]'),
    "missing city": session(city=None),
    "session without id": session() + GOOD_SESSION.replace('id = "lyon"\n', ""),
    "missing calendar": session().replace("[calendar]", "[calendrier]"),
    "missing base_url": session().replace('base_url = "https://agenda.example.org"\n', ""),
    "missing rhythm start": MINIMAL + 'rhythm = { rule = "FREQ=WEEKLY;COUNT=2", '
    "first = 2021-03-17, end = 10:15:00 }\n",
    "rhythm first as a date-time": MINIMAL + 'rhythm = { rule = "FREQ=WEEKLY;COUNT=2", '
    "first = 2021-03-17T08:00:00, start = 08:45:00, end = 10:15:00 }\n",
    **{f"malformed id {bad!r}": session(id=f'"{bad}"')
       for bad in ["Lyon", "lyon 2021", "lyon_2021", "-lyon", "lyon--2021", "lyoñ", ""]},
    **{f"not an http URL {url!r}": session(registration_url=f'"{url}"')
       for url in ["javascript:alert(1)", "ftp://example.org/x", "example.org/inscription",
                   "https://"]},
    "empty base_url": session().replace('"https://agenda.example.org"', '""'),
    "offset start": session(start="2021-06-16T08:45:00+02:00"),
    "date for start": session(start="2021-06-16"),
    "unknown status": session(status='"canceled"'),
    "padded status": session(status='" cancelled"'),
    "empty status": session(status='""'),
    "number as a string": session(number='"trois"'),
    "number zero": session(number="0"),
    "boolean as a string": session(video_public='"yes"'),
    "newline in city": session(city='"Lyon\\nDTSTART:20000101"'),
    "several problems at once": session(city=None, strat="1", registration_url='"javascript:x"'),
    **{f"language {tag!r}": with_calendar(f'language = "{tag}"') for tag in ["french", "fr_FR"]},
    **{f"noncharacter {c}": session_text(city=f"Ly{c}on")
       for c in ["\\uFFFE", "\\uFFFF", "\\uFDD0"]},
    **{f"control character {c}": session_text(city=f"Ly{c}on")
       for c in ["\\u0000", "\\u001B", "\\u007F", "\\u0085", "\\u009F"]},
    "line separator": session_text(city="Ly\\u2028on"),
    "overlong city": session_text(city="x" * 1001),
    "empty partner": MINIMAL + 'partners = ["Bon", ""]\n',
    "partner on two lines": MINIMAL + 'partners = ["Bon\\nMauvais"]\n',
    **{f"{field} in {value[:4]}": session_text(**{field: value}) for field, value in [
        ("start", "0001-01-01T08:00:00"), ("start", "9999-12-31T08:00:00"),
        ("announced", "1969-12-31"), ("announced", "2200-01-01"),
    ]},
    "calendar updated in year one": MINIMAL.replace(
        'name = "Essai"', 'name = "Essai"\nupdated = 0001-01-01'
    ),
    "sequence above 32 bits": session_text(sequence=2**31),
    "start with seconds": session_text(end="2021-06-16T08:45:05"),
    "sessions as a table": MINIMAL + "\n[sessions]\nid = 'x'\n",
    # Rules across keys that the schema states too.
    "start without end": session(end=None),
    "end without start": session(start=None),
    "dated session without announced": session(announced=None),
    "held on a dated session": session(held="true"),
    "replay of a cancelled session": session(
        status='"cancelled"', replay_url='"https://example.org/replay"'
    ),
    "public video without a link": session(video_public="true"),
    "former start without a date": session(
        start=None, end=None, previous_start="2021-06-09T08:45:00"
    ),
    "organizer as a string": session().replace(
        'organizer = { name = "Club", email = "club@example.org" }', 'organizer = "Club"'
    ),
}

# Refused by the loader only: rules across fields, or about what a value means.
SEMANTIC = {
    "end before start": session(end="2021-06-16T08:00:00"),
    "end equal to start": session(end="2021-06-16T08:45:00"),
    "duplicate id": session() + GOOD_SESSION,
    "unknown series": session(series='"tuor"'),
    "unknown time zone": session().replace('"Europe/Paris"', '"Europe/Pariss"'),
    "time skipped in spring": session(start="2021-03-28T02:30:00", end="2021-03-28T04:00:00"),
    "time repeated in autumn": session(start="2021-10-31T01:00:00", end="2021-10-31T02:30:00"),
    "duplicate number": session(number="1") + GOOD_SESSION.replace('"lyon"', '"nice"')
    + "number = 1\n",
    "language without dates": with_calendar('language = "fr-XY"'),
    "base_url with a path": session().replace(
        '"https://agenda.example.org"', '"https://example.org/agenda"'
    ),
    "updated before announced": session(updated="2021-05-20"),
    **{f"astral noncharacter {c}": session_text(city=f"Ly{c}on")
       for c in ["\\U0001FFFF", "\\U0010FFFE"]},
    "offset date-time out of range in UTC": session_text(announced="2199-12-31T23:00:00-05:00"),
    **{f"malformed host {url!r}": session_text() + f'registration_url = "{url}"\n'
       for url in ["https://[agenda.example.org", "https://agenda.example.org:99999",
                   "https://:80"]},
    "unknown press contact": session(contacts='["Zoe Martin"]'),
    "rhythm that never ends": MINIMAL + 'rhythm = { rule = "FREQ=WEEKLY", '
    "first = 2021-03-17, start = 08:45:00, end = 10:15:00 }\n",
    "blank city": session(city='"   "'),
}


def test_committed_schema_is_what_agenda_format_generates() -> None:
    assert SCHEMA_PATH.read_bytes() == json_schema_text().encode("utf-8")


def test_shipped_file_names_the_schema_on_its_first_line() -> None:
    first = SHIPPED.read_text("utf-8").splitlines()[0]
    assert first == f"#:schema ./{SCHEMA_FILE}"
    assert (SHIPPED.parent / first.removeprefix("#:schema ")).resolve() == SCHEMA_PATH


@pytest.mark.parametrize("validator", VALIDATORS, ids=lambda v: v.__name__)
def test_schema_is_valid_in_draft_4_and_draft_7(validator: Any) -> None:
    validator.check_schema(json_schema())


def test_schema_uses_definitions_not_defs() -> None:
    text = json_schema_text()
    assert "$defs" not in text and '"format"' not in text and '"const"' not in text


def test_every_key_has_a_description() -> None:
    schema = json_schema()
    for table in [schema, *schema["definitions"].values()]:
        assert table["description"]
        for name, field in table["properties"].items():
            assert field["description"], name


def test_legacy_session_fields_say_they_are_deprecated() -> None:
    fields = json_schema()["definitions"]["session"]["properties"]
    for name in ("sequence", "updated", "previous_start"):
        assert fields[name]["description"].startswith(  # in French, as Taplo shows it
            "Obsolète : tiré de l’historique publié ; lu seulement à la première publication."
        )


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_case_is_accepted_by_both(name: str) -> None:
    text = VALID[name]
    assert loader_accepts(text)
    assert [schema_accepts(text, v) for v in VALIDATORS] == [True, True]


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_structural_fault_is_refused_by_both(name: str) -> None:
    text = STRUCTURAL[name]
    assert not loader_accepts(text)
    assert [schema_accepts(text, v) for v in VALIDATORS] == [False, False]


@pytest.mark.parametrize("name", sorted(SEMANTIC))
def test_semantic_fault_is_refused_by_the_loader_and_passes_the_schema(name: str) -> None:
    # Passing the schema is not a promise: it pins what the schema leaves to the loader.
    text = SEMANTIC[name]
    assert not loader_accepts(text)
    assert [schema_accepts(text, v) for v in VALIDATORS] == [True, True]


@given(mutants())
def test_what_the_loader_accepts_the_schema_accepts(mutant: bytes) -> None:
    try:
        text = mutant.decode("utf-8").removeprefix("\ufeff")
        tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return  # not TOML: an editor shows a syntax error, the loader refuses it
    if loader_accepts(text):
        assert schema_accepts(text)


def test_reading_an_undeclared_key_is_a_bug_that_raises() -> None:
    table = _Table(_Builder("f.toml"), {}, SESSION, "session 'x'")
    with pytest.raises(LookupError):
        table.text("ville")


def test_reading_a_key_as_another_kind_is_a_bug_that_raises() -> None:
    table = _Table(_Builder("f.toml"), {}, SESSION, "session 'x'")
    with pytest.raises(TypeError):
        table.get("city", Kind.INTEGER)


def test_a_declared_key_the_loader_does_not_read_is_a_bug_that_raises() -> None:
    table = _Table(_Builder("f.toml"), {}, SESSION, "session 'x'")
    table.text("city")
    with pytest.raises(LookupError):
        table.finish()


def test_schema_is_valid_json_with_french_text_unescaped() -> None:
    text = SCHEMA_PATH.read_text("utf-8")
    assert json.loads(text) == json_schema()
    assert "«" in text


@pytest.mark.parametrize("name", sorted(STRUCTURAL | SEMANTIC))
def test_schema_and_loader_agree_on_every_invalid_case(name: str) -> None:
    # Every case is refused by the loader; the schema refuses it too unless the rule is
    # about meaning (SEMANTIC), which a schema cannot state.
    text = (STRUCTURAL | SEMANTIC)[name]
    verdicts = {v.__name__: schema_accepts(text, v) for v in VALIDATORS}
    assert not loader_accepts(text)
    assert set(verdicts.values()) == {name in SEMANTIC}, verdicts
