"""TOML syntax errors in French: the line, the field on it, and what to write instead.

Also: an end written as a time alone is on the start's day, and the messages come
from the French catalogue (English msgids), complete for every message in the code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir

from agenda import i18n
from agenda.errors import ScheduleError
from agenda.loader import load_schedule
from tests.conftest import ROOT
from tests.test_loader_invalid import session_with
from tests.test_schema_file import schema_accepts

DATE_FORM = "écrivez la date ainsi : 2026-12-16T08:45:00"


def problem_of(write_schedule, text: str) -> tuple[Path, str]:
    path = write_schedule(text)
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    (problem,) = caught.value.problems
    return path, str(problem)


def line_of(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("start", "19/05/2021", DATE_FORM),
        ("start", "2026-12-16 08:45", DATE_FORM),
        ("start", "2026-12-16T08:45", DATE_FORM),
        ("city", '"Lyon', 'il manque le guillemet fermant (") à la fin du texte'),
        ("city", 'Lyon"', 'il manque le guillemet ouvrant (") au début du texte'),
        ("start", "2026-02-30T08:45:00", "cette date n'existe pas : 2026-02-30"),
        ("city", "Lyon", 'un texte s\'écrit entre guillemets droits, ainsi : "Lyon"'),
        ("end", "10:15", "écrivez l'heure ainsi : 10:15:00"),
    ],
)
def test_syntax_error_names_line_field_and_form(
    write_schedule, key: str, value: str, message: str
) -> None:
    text = session_with(**{key: value})
    path, found = problem_of(write_schedule, text)
    line = line_of(text, f"{key} = {value}")
    assert found == f"{path}, séance « lyon », ligne {line}, champ {key} : {message}"


def test_unclosed_triple_quote_names_the_line_it_opens(write_schedule) -> None:
    text = session_with(description='"""Une matinale') + 'title = "Ville"\n'
    path, found = problem_of(write_schedule, text)
    line = line_of(text, 'description = """Une matinale')
    assert found == (
        f'{path}, séance « lyon », ligne {line}, champ description : le texte commencé par """ '
        'n\'est jamais fermé : terminez-le par """'
    )


def test_syntax_error_outside_the_sessions_names_the_line_alone(write_schedule) -> None:
    text = session_with().replace('name = "Essai"', 'name = Essai"')
    path, found = problem_of(write_schedule, text)
    line = line_of(text, 'name = Essai"')
    assert found == (
        f'{path}, ligne {line}, champ name : il manque le guillemet ouvrant (") au début du texte'
    )


def test_end_written_as_a_time_is_on_the_start_day(write_schedule) -> None:
    schedule = load_schedule(write_schedule(session_with(end="10:15:00")))
    lyon = schedule.session("lyon")
    assert lyon is not None
    assert lyon.end == datetime(2021, 6, 16, 10, 15, tzinfo=ZoneInfo("Europe/Paris"))
    assert schema_accepts(session_with(end="10:15:00"))  # editors' schema agrees


def test_end_time_before_start_is_refused(write_schedule) -> None:
    path, found = problem_of(write_schedule, session_with(end="07:00:00"))
    assert found == f"{path}, séance « lyon », champ end : doit venir après « start »"


# The code, and the desk's templates (whose `_` is agenda.i18n's, with the same {names}).
MAPPING = [("**.py", "python"), ("**/templates/desk/**.html", "jinja2.ext:babel_extract")]


def test_every_message_in_the_code_has_a_french_text() -> None:
    french = i18n.catalogue("fr")
    found = {
        (path, message if isinstance(message, str) else message[0])
        for path, _, message, *_ in extract_from_dir(ROOT / "src" / "agenda", MAPPING,
                                                      keywords={"_": None})
    }
    assert {path for path, _ in found if path.endswith(".html")}, "no message in the templates"
    found = {message for _, message in found}
    assert found, "no message found: is _() still the keyword?"
    assert sorted(found - set(french)) == []
    for msgid, text in french.items():
        assert text != msgid
        assert set(re.findall(r"\{(\w+)", text)) == set(re.findall(r"\{(\w+)", msgid)), msgid


def test_english_follows_from_the_msgids(write_schedule) -> None:
    path = write_schedule(session_with(start="19/05/2021"))
    env = dict(os.environ, AGENDA_MESSAGES="en")
    result = subprocess.run(
        [sys.executable, "-c", "from agenda.cli import main; main()", "check", str(path)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    line = line_of(path.read_text(), "start = 19/05/2021")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}, session 'lyon', line {line}, field start: write the date like this: "
        "2026-12-16T08:45:00"
    )
