"""Fuzzing the loader on mutations of the shipped file (issue 9).

Whatever the mutation, loading raises ScheduleError or gives a schedule whose
every route works; no other exception, and no hang (each input has a guard).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st

from agenda.errors import ScheduleError
from agenda.loader import load_schedule
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
