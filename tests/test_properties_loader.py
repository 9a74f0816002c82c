"""Fuzzing the loader on mutations of the shipped file (issue 9).

Whatever the mutation, loading raises ScheduleError or gives a schedule whose
every route works; no other exception, and no hang (each input has a guard).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from agenda import loader
from agenda.errors import ScheduleError
from agenda.loader import load_schedule, parse_bytes
from agenda.model import Schedule
from tests.conftest import SHIPPED
from tests.test_properties_schedule import SPECIAL, hang_guard, refused_or_served

ORIGINAL = SHIPPED.read_bytes()
# Pieces that have broken parsers or outputs before, as bytes to splice in.
SNIPPETS = [s.encode("utf-8") for s in SPECIAL] + [
    b"\xef\xbb\xbf", b"\xff", b"\xc3", b"[", b"]", b"[[", b"{", b"}", b"=", b'"""', b"'''",
    b"0001-01-01", b"9999-12-31T23:59:59", b"2021-03-28T02:30:00", b"2147483648",
    b"-1", b"1e999", b"nan", b"inf", b"true", b"[" * 400, b"https://[agenda.example.org",
    b"\nsequence = 99999999999\n", b"\n[[sessions]]\n", b"\n[calendar]\n", b"\\u0000",
    b"\\uFFFE", b"\\U0010FFFF", b"T", b"Z", b"+14:00", b":60", b"\r", b"\x00",
]


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    """The shipped file with a few splices, deletions, duplications or flipped bytes."""
    data = bytearray(ORIGINAL)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "duplicate", "flip", "random"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(SNIPPETS))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 80))]
        elif kind == "duplicate":
            size = draw(st.integers(1, 300))
            data[at:at] = data[at:at + size]
        elif kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:at] = draw(st.binary(max_size=8))
    return bytes(data)


@given(mutants())
def test_mutated_shipped_file_raises_only_schedule_error(mutant: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder, hang_guard():
        path = Path(folder) / "sessions.toml"
        path.write_bytes(mutant)
        try:
            load_schedule(path)
        except ScheduleError as error:
            assert error.problems, "a refusal says why"
            event("refused")
            return
    event("loaded")
    # Accepted: then every route must work, as `agenda check` promised.
    assert refused_or_served(mutant.decode("utf-8"))


def _read(raw: bytes, known: Any = None) -> Any:
    """The schedule of `raw` (read reusing the sessions of `known`, as read), or its problems."""
    try:
        return parse_bytes(raw, "sessions.toml", known.parsed) if known else \
            parse_bytes(raw, "sessions.toml")
    except ScheduleError as error:
        return [str(p) for p in error.problems]


@given(mutants())
def test_reading_an_edit_reusing_the_previous_sessions_reads_it_as_anew(mutant: bytes) -> None:
    """A publication reads the new text a session's text at a time, reusing the sessions of the
    version before (what did not change): whatever the edit, the very schedule, or the very
    problems, of the whole file read at once."""
    with hang_guard():
        pieces, reusing = _read(mutant), _read(mutant, _read(ORIGINAL))
        with pytest.MonkeyPatch.context() as patch:  # no [[sessions]] line found: read whole
            patch.setattr(loader, "SESSION_LINE", re.compile(r"(?!)"))
            whole = _read(mutant)
    assert reusing == pieces == whole
    if isinstance(whole, Schedule):  # to the last field (== leaves a few out)
        assert repr(reusing.sessions) == repr(pieces.sessions) == repr(whole.sessions)


@pytest.mark.parametrize("edit", [
    (b'timezone = "Europe/Paris"', b'timezone = "America/Martinique"'),
    (b'name = "Eva Pilat"', b'name = "Eva Pilate"'),
    (b'id = "tour-des-villes"', b'id = "tour-des-villes-2"'),
    (b'language = "fr"', b'language = "fr-CA"'),
])
def test_a_session_is_read_again_when_what_it_is_read_with_changed(edit: tuple[bytes, bytes]
                                                                    ) -> None:
    """The calendar's zone, a contact, a series: each session table is the same text, but its
    session is another (its start, its contacts, its series), or the file is refused."""
    assert ORIGINAL.count(edit[0]) == 1
    edited = ORIGINAL.replace(*edit)
    assert _read(edited, _read(ORIGINAL)) == _read(edited)
    first, again = _read(ORIGINAL), _read(edited, _read(ORIGINAL))
    if isinstance(again, Schedule):
        assert not any(a is b for a, b in zip(first.sessions, again.sessions, strict=True))


AFTER = ORIGINAL.decode()
FIRST = AFTER.index("[[sessions]]")
SESSION = AFTER[FIRST:AFTER.index("[[sessions]]", FIRST + 1)]  # the first session's text
AGAIN = SESSION.replace('id = "', 'id = "encore-').replace("number = ", "number = 1")


@pytest.mark.parametrize("text", [
    AFTER + '\n[[contacts]]\nname = "Dernier contact"\nemail = "dernier@example.org"\n',
    AFTER + AGAIN + 'description = """\nAvant :\n[[sessions]]\nid = "x"\n"""\n',
    AFTER + AGAIN.replace("[[sessions]]", "[[ sessions ]]"),
    AFTER + "[[sessions]] # une séance\n" + AGAIN[13:],
    AFTER.replace("\n[[sessions]]", '\n[calendar.extra]\nx = 1\n[[sessions]]', 1),
])
def test_every_layout_of_sessions_reads_as_the_whole_file_does(text: str) -> None:
    """A session's text read alone is its table alone, or the file is read whole: another table
    after it, a [[sessions]] line inside a string, the header spelled otherwise."""
    raw = text.encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "SESSION_LINE", re.compile(r"(?!)"))
        whole = _read(raw)
    assert _read(raw) == whole and _read(raw, _read(ORIGINAL)) == whole
    if isinstance(whole, Schedule):
        assert repr(_read(raw, _read(ORIGINAL))) == repr(whole) == repr(_read(raw))
