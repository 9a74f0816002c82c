"""Reading a schedule in pieces gives exactly what reading it whole gives.

The loader reads the [[sessions]] tables of a file a piece at a time (see
agenda.loader._parse_pieces) and falls back to reading the whole text when a
piece cannot vouch for the same result. Whatever the text, the schedule or the
problems reported must be those of the whole reading.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenda import loader
from agenda.errors import ScheduleError
from tests.conftest import MINIMAL, SEVERAL, SHIPPED
from tests.test_properties_loader import mutants


def session(n: int, extra: str = "", speakers: bool = True) -> str:
    day = date(2021, 1, 4) + timedelta(days=3 * n)
    people = f'speakers = [{{ name = "Maire {n}", role = "Maire" }}]\n' if speakers else ""
    return f"""
[[sessions]]
id = "ville-{n}"
series = "s"
number = {n}
city = "Ville {n} d’été"
start = {day}T08:45:00
end = {day}T10:15:00
{people}announced = 2021-01-01
{extra}"""


def whole(document: str | bytes) -> Any:
    """The schedule, or the problems, of the document read whole."""
    try:
        if isinstance(document, bytes):
            return loader._parse_whole(loader._decoded(document, "f.toml"), "f.toml")
        return loader._parse_whole(document, "f.toml")
    except ScheduleError as error:
        return error.problems


def read(document: str | bytes) -> Any:
    """The schedule, or the problems, of the document as the loader reads it."""
    try:
        if isinstance(document, bytes):
            return loader.parse_bytes(document, "f.toml")
        return loader.parse_schedule(document, "f.toml")
    except ScheduleError as error:
        return error.problems


def in_pieces(document: str | bytes) -> bool:
    """True when the document is read in pieces, not whole."""
    try:
        loader._parse_pieces(document, "f.toml")
    except loader._ReadWhole:
        return False
    except ScheduleError:
        pass
    return True


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "PIECE", 1)  # a piece per session


GOOD = MINIMAL + "".join(session(n) for n in range(1, 6))
# Each of these reads the same either way; `True` when it is read in pieces.
CASES = {
    "sessions": (GOOD, True),
    "crlf": (GOOD.replace("\n", "\r\n"), True),
    "byte order mark": ("\ufeff" + GOOD, True),
    "starts with a session, no calendar": (session(1).lstrip() + session(2), True),
    "a sub-table and an array of tables in a session": (
        MINIMAL + session(1, '[sessions.moderator]\nname = "Anne"\n[[sessions.speakers]]\n'
                             'name = "Paul"\n', speakers=False) + session(2), True),
    "header with a comment": (
        MINIMAL + session(1) + session(2).replace("]]", "]]  # une", 1) + session(3), True),
    "header with spaces": (
        MINIMAL + session(1) + session(2).replace("[[sessions]]", "[[ sessions ]]") + session(3),
        True),
    "headers with a comment or spaces first": (
        MINIMAL + session(1).replace("]]", "]] # une", 1) + session(2), False),
    "calendar after the sessions": (
        "".join(session(n) for n in range(1, 3)) + MINIMAL, False),
    "series after the sessions": (
        MINIMAL.split("[[series]]")[0] + session(1) + "\n[[series]]\nid = \"s\"\ntitle = \"S\"\n"
        + session(2), False),
    "a header inside a multi-line string": (
        MINIMAL + session(1, 'description = """\nUne\n[[sessions]]\nligne"""\n') + session(2),
        False),
    "a header inside a multi-line literal string": (
        MINIMAL + session(1, "description = '''\nUne\n[[sessions]]\nligne'''\n") + session(2),
        False),
    "a static sessions array first": ("sessions = []\n" + MINIMAL + session(1), False),
    "a sessions key in a series": (MINIMAL + "sessions = []\n" + session(1), True),
    "a table of sessions first": (MINIMAL + "[sessions.x]\n" + session(1), False),
    "a duplicate id in another piece": (GOOD + session(3), True),
    "a problem in the last piece": (GOOD + session(7, 'colour = "bleu"\n'), True),
    "a TOML error in the last piece": (GOOD + session(7, "city = 'deux fois'\n"), False),
    "a TOML error in the first piece": ("[calendar\n" + GOOD, False),
    "a key without value in a middle piece": (
        MINIMAL + session(1) + session(2, "description =\n") + session(3), False),
    "no sessions": (MINIMAL, True),
    "an empty file": ("", True),
    "a header at the very end": (GOOD + "\n[[sessions]]", True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_document_reads_as_it_reads_whole(name: str) -> None:
    document, pieces = CASES[name]
    assert in_pieces(document) is pieces
    assert read(document) == whole(document)
    raw = document.encode("utf-8")
    assert in_pieces(raw) is pieces
    assert read(raw) == whole(raw)


def test_a_byte_that_is_not_utf8_in_a_late_piece_is_reported_at_its_place() -> None:
    raw = (GOOD + session(7)).encode("utf-8") + b'title = "\xff"\n' + session(8).encode("utf-8")
    assert not in_pieces(raw)
    assert read(raw) == whole(raw)
    (problem,) = read(raw)
    place = raw.index(b"\xff")
    assert f"(octet {place})" in str(problem)


def test_syntax_errors_name_the_line_of_the_whole_file() -> None:
    document = GOOD + session(7, "city = 'deux fois'\n")
    (problem,) = read(document)
    line = document[:document.index("city = 'deux fois'")].count("\n") + 1
    assert f"line {line}" in str(problem)


@pytest.mark.parametrize("path", [SHIPPED, SEVERAL], ids=["shipped", "several"])
def test_shipped_files_read_in_pieces(path: Path) -> None:
    raw = path.read_bytes()
    assert in_pieces(raw)
    assert read(raw) == whole(raw)


def test_a_long_schedule_reads_in_pieces_of_many_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (MINIMAL + "".join(session(n) for n in range(1, 301))).encode("utf-8")
    for size, count in ((1, 300), (1000, None), (1 << 16, None), (len(raw), 1)):
        monkeypatch.setattr(loader, "PIECE", size)
        starts = list(loader._piece_starts(raw, size))
        assert count is None or len(starts) == count
        assert all(b - a >= size for a, b in zip(starts, starts[1:], strict=False))
        assert in_pieces(raw)
        assert read(raw) == whole(raw)
    schedule = read(raw)
    assert len(schedule.sessions) == 300


@settings(max_examples=150, deadline=None)
@given(mutants())
def test_mutated_shipped_file_reads_as_it_reads_whole(mutant: bytes) -> None:
    assert read(mutant) == whole(mutant)


@st.composite
def spliced(draw: st.DrawFn) -> str:
    """A schedule of a few sessions with headers, strings and tables spliced in at line starts."""
    lines = GOOD.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from([
            "[[sessions]]\n", "[[sessions]]\r\n", "[[sessions]]", "[calendar]\n",
            'description = """\n', '"""\n', "'''\n", "speakers = [\n", "]\n", "[sessions.x]\n",
            "sessions = []\n", "[[series]]\n", 'id = "t"\n', "\ufeff", "# [[sessions]]\n",
            'moderator = { name = "A" }\n', "[sessions.moderator]\n", 'name = "B"\n',
        ])))
    return "".join(lines)


@settings(max_examples=300, deadline=None)
@given(spliced())
def test_spliced_schedules_read_as_they_read_whole(document: str) -> None:
    assert read(document) == whole(document)
    assert read(document.encode("utf-8")) == whole(document.encode("utf-8"))
