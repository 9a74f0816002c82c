"""The published version on disk: one JSON file beside the schedule, written atomically.

`data/sessions.toml` is what the editor writes; `data/sessions.published.json`
is what the service publishes: the exact text of the schedule it serves and its
revision history (agenda.history). It is text, meant to be committed and
reviewed with the schedule, so a copy of the folder serves the same bytes on
any machine. Every process serves what that file holds and never the raw
schedule; a new version is written under an OS-level lock (flock), by
whichever process gets there first, and replaces the old one in one rename.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agenda.errors import AgendaError, Problem, ScheduleError
from agenda.history import (
    Entry,
    History,
    SessionChange,
    apply,
    first_changes,
    first_history,
    revise,
)
from agenda.loader import parse_bytes, read_schedule_file
from agenda.model import Change, Revision, Schedule, Status

FORMAT = "agenda-published/1"


class PublishedError(AgendaError):
    """The published-version file cannot be read; the message names it and says why."""


class CannotWrite(AgendaError):
    """The folder of the published version is not writable (read-only volume, permissions)."""


def published_path(schedule_path: str | Path) -> Path:
    """Where the published version of a schedule lives by default: beside it."""
    path = Path(schedule_path)
    return path.with_name(path.stem + ".published.json")


def lock_path(published: Path) -> Path:
    """The lock file that serializes publishing, beside the published version."""
    return published.with_name("." + published.name + ".lock")


def digest_of(raw: bytes) -> str:
    """The SHA-256 of a schedule file's bytes: which text a version serves."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """One published version: the schedule text, its history, and the schedule they make.

    It never changes once made; `cache` holds what has been rendered from it,
    so bytes of two versions can never mix.
    """

    number: int
    published: datetime | None
    digest: str
    raw: bytes
    schedule: Schedule
    history: History
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """'version 3 (a1b2c3d4e5f6)' for logs and /healthz."""
        return f"version {self.number} ({self.digest[:12]})"


def make_version(
    raw: bytes, history: History, source: str, schedule: Schedule | None = None,
    previous: Version | None = None,
) -> Version:
    """The version serving `raw` with `history`; raises ScheduleError if the text is invalid.

    `schedule` is `raw` already parsed, when the caller has it; `previous` a version
    in memory, whose sessions that did not change the new one shares (see apply).
    """
    if schedule is None:
        schedule = parse_bytes(raw, source, previous.schedule if previous else None)
    return Version(
        number=history.version,
        published=history.published,
        digest=digest_of(raw),
        raw=raw,
        schedule=apply(schedule, history, previous.schedule if previous else None),
        history=history,
    )


def first_version(raw: bytes, source: str) -> Version:
    """The first version of a schedule file that has no history yet: times from the file alone."""
    schedule = parse_bytes(raw, source)
    return make_version(raw, first_history(schedule), source, schedule)


def next_version(
    current: Version | None,
    raw: bytes,
    source: str,
    now: datetime,
    withdraw: Collection[str] = (),
    first: Version | None = None,
) -> tuple[Version, list[SessionChange]]:
    """The version that publishing `raw` at `now` after `current` makes, and what changed.

    Raises ScheduleError when the file is invalid, looks cut short, or drops a
    published session; nothing is published then. `first` is the first version
    of `raw` when the caller has made it already: with nothing published yet it
    is the answer, and `raw` is not parsed again.
    """
    if current is None:
        if first is not None and first.raw == raw and first.schedule.source == source:
            version = first
        else:
            version = first_version(raw, source)
        if withdraw:
            raise ScheduleError([Problem(source, "", "", "nothing is published yet to withdraw")])
        return version, first_changes(version.history)
    schedule = parse_bytes(raw, source, current.schedule)
    history, changes = revise(current.history, current.schedule, schedule, now, withdraw)
    if raw != current.raw and current.raw.startswith(raw) and not withdraw:
        # A save in place truncates, then writes: every state in between is a
        # beginning of some file. One of the published file is never published.
        raise ScheduleError([Problem(
            source, "", "",
            f"the file is the first {len(raw)} of the {len(current.raw)} bytes of the published "
            "version: a save in progress or a cut copy, not published. If you removed the end "
            "on purpose, end the file with a comment line",
        )])
    return make_version(raw, history, source, schedule, current), changes


# --- the file format -------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# The file is the text of json.dumps(document, ensure_ascii=False, sort_keys=True,
# indent=1) and a newline, where document is {"format", "planned", "published",
# "schedule": {"file", "lines", "sha256"}, "sessions", "version"}. It is written a
# piece at a time (json_pieces), so the whole document is never in memory at once:
# each piece is what json.dumps makes of that part, indented to its depth. An entry
# of "sessions" or "planned" is {"fingerprint", "in_calendar", "revisions": [{"at",
# "fields": [...], "news": [...] if any, "sequence", "was": {"end", "start",
# "status"} if any of them}], "sequence", "uid", "withdrawn" if withdrawn}; its text
# is written out below (json's own indenting encoder is pure Python, and slow).
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, indent=1)
_LINES_BLOCK = 1 << 18  # bytes of the schedule decoded and split at a time


def _string(value: str | None) -> str:
    return "null" if value is None else _ENCODER.encode(value)


def _strings(values: Iterable[str], indent: str) -> str:
    """A list of strings whose items are indented `indent` (a newline and spaces)."""
    items = [_ENCODER.encode(v) for v in values]
    if not items:
        return "[]"
    return "[" + indent + ("," + indent).join(items) + indent[:-1] + "]"


def _revision_text(revision: Revision) -> str:
    """A revision's JSON at the depth of an entry's revisions (its keys five spaces in)."""
    parts = ['{\n     "at": ', _string(_time(revision.at)),
             ',\n     "fields": ', _strings(revision.fields, "\n      ")]
    if revision.news:
        parts += [',\n     "news": ', _strings((n.value for n in revision.news), "\n      ")]
    parts += [',\n     "sequence": ', json.dumps(revision.sequence)]
    status = revision.previous_status.value if revision.previous_status else None
    was = [f'"{key}": {_ENCODER.encode(value)}' for key, value in (
        ("end", _time(revision.previous_end)),
        ("start", _time(revision.previous_start)),
        ("status", status),
    ) if value is not None]
    if was:
        parts += [',\n     "was": {\n      ', ",\n      ".join(was), "\n     }"]
    parts.append("\n    }")
    return "".join(parts)


def _entry_text(entry: Entry) -> str:
    """An entry's JSON at the depth of the entries (its keys three spaces in)."""
    revisions = [_revision_text(r) for r in entry.revisions]
    parts = [
        '{\n   "fingerprint": ', _ENCODER.encode(entry.fingerprint),
        ',\n   "in_calendar": ', json.dumps(entry.in_calendar),
        ',\n   "revisions": ',
        "[\n    " + ",\n    ".join(revisions) + "\n   ]" if revisions else "[]",
        ',\n   "sequence": ', json.dumps(entry.sequence),
        ',\n   "uid": ', _ENCODER.encode(entry.uid),
    ]
    if entry.withdrawn is not None:
        parts += [',\n   "withdrawn": ', _string(_time(entry.withdrawn))]
    parts.append("\n  }")
    return "".join(parts)


def _schedule_lines(raw: bytes) -> Iterator[list[str]]:
    """raw.decode("utf-8").split("\n") a block at a time: lists of lines, in order."""
    start = 0
    while True:
        cut = raw.find(b"\n", start + _LINES_BLOCK)
        if cut < 0:
            yield raw[start:].decode("utf-8").split("\n")
            return
        yield raw[start:cut].decode("utf-8").split("\n")
        start = cut + 1


def _entries_json(entries: Mapping[str, Entry]) -> Iterator[str]:
    """A mapping of entries as json.dumps writes it one level deep, in pieces."""
    if not entries:
        yield "{}"
        return
    separator = "{\n  "
    for key in sorted(entries):
        yield f"{separator}{_ENCODER.encode(key)}: {_entry_text(entries[key])}"
        separator = ",\n  "
    yield "\n }"


def json_pieces(version: Version, schedule_name: str) -> Iterator[str]:
    """The text of the published-version file, in pieces: sorted keys, one schedule line
    per JSON line, for review."""
    history = version.history
    encode = _ENCODER.encode
    yield f'{{\n "format": {encode(FORMAT)},\n "planned": '
    yield from _entries_json(history.planned)
    yield (f',\n "published": {encode(_time(history.published))},\n "schedule": {{\n'
           f'  "file": {encode(schedule_name)},\n  "lines": [')
    separator = "\n   "
    for lines in _schedule_lines(version.raw):
        yield separator + ",\n   ".join(map(encode, lines))
        separator = ",\n   "
    yield f'\n  ],\n  "sha256": {encode(version.digest)}\n }},\n "sessions": '
    yield from _entries_json(history.sessions)
    yield f',\n "version": {encode(history.version)}\n}}\n'


def to_json(version: Version, schedule_name: str) -> bytes:
    """The published-version file's bytes (write_version writes them without making them)."""
    return "".join(json_pieces(version, schedule_name)).encode("utf-8")


def _read_time(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = _time_of(value) if type(value) is str else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time without offset: {value}")
    return moment


@functools.lru_cache(maxsize=1024)
def _time_of(text: str) -> datetime:
    """datetime.fromisoformat, one object for a time met again (most revisions of a
    publication share its time)."""
    return datetime.fromisoformat(text)


@functools.lru_cache(maxsize=256)
def _one(fields: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple for the fields revisions name alike (most name "published")."""
    return fields


def _read_revision(data: dict[str, Any]) -> Revision:
    was = data.get("was", {})
    status = was.get("status")
    at = _read_time(data["at"])
    if at is None:
        raise ValueError("a revision without a time")
    return Revision(
        at=at,
        sequence=int(data["sequence"]),
        fields=_one(tuple(str(f) for f in data["fields"])),
        news=tuple(Change(n) for n in data.get("news", ())),
        previous_start=_read_time(was.get("start")),
        previous_end=_read_time(was.get("end")),
        previous_status=Status(status) if status else None,
    )


def _read_entry(data: dict[str, Any]) -> Entry:
    return Entry(
        uid=str(data["uid"]),
        sequence=int(data["sequence"]),
        fingerprint=str(data["fingerprint"]),
        revisions=tuple(_read_revision(r) for r in data["revisions"]),
        in_calendar=bool(data["in_calendar"]),
        withdrawn=_read_time(data.get("withdrawn")),
    )


def from_json(data: bytes, where: str) -> tuple[bytes, History]:
    """The schedule bytes and history a published-version file holds; PublishedError if broken."""
    found = _from_layout(data)
    if found is not None:
        return found
    return _from_text(_text_of(data, where), where)


# A file as write_version lays it out is read a part at a time, without its whole
# text or document: each value between the keys below, in this order, is parsed on
# its own, and the lines and entries a block at a time. A block ends before a comma
# that ends a line (a newline is never inside a JSON string): after a line, or after
# an entry's closing brace. One that ends inside an array or object does not parse,
# nor does an empty one, nor a value that is not followed by the next key. So the
# values read are those json.loads would read; a file laid out otherwise, or with
# anything amiss, is read whole (_from_text), which says what is wrong as it
# always did.
_LAYOUT = (
    b'{\n "format": ', b',\n "planned": ', b',\n "published": ',
    b',\n "schedule": {\n  "file": ', b',\n  "lines": ', b',\n  "sha256": ',
    b'\n },\n "sessions": ', b',\n "version": ',
)
_LAYOUT_END = b"\n}\n"
_READ_BLOCK = 1 << 18  # bytes of lines or entries parsed at a time, at least


def _from_layout(data: bytes) -> tuple[bytes, History] | None:
    """from_json of a file laid out as write_version writes it; None for any other file."""
    if not data.startswith(_LAYOUT[0]) or not data.endswith(_LAYOUT_END):
        return None
    spans = []
    start = len(_LAYOUT[0])
    for key in _LAYOUT[1:]:
        end = data.find(key, start)
        if end < 0:
            return None
        spans.append((start, end))
        start = end + len(key)
    spans.append((start, len(data) - len(_LAYOUT_END)))
    form, planned, published, name, lines, sha256, sessions, version = spans
    try:
        if _value(data, form) != FORMAT:
            return None
        _value(data, name)
        raw = b"\n".join(
            "\n".join(_checked_lines(part)).encode("utf-8")
            for part in _parts(data, lines, "[]")
        )
        if digest_of(raw) != _value(data, sha256):
            return None
        history = History(
            version=int(_value(data, version)),
            published=_read_time(_value(data, published)),
            sessions=_layout_entries(data, sessions),
            planned=_layout_entries(data, planned),
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return raw, history


def _value(data: bytes, span: tuple[int, int]) -> Any:
    return json.loads(data[span[0]:span[1]].decode("utf-8"))


def _parts(data: bytes, span: tuple[int, int], brackets: str) -> Iterator[Any]:
    """The array or object at `span` (`brackets` "[]" or "{}") as arrays or objects of a few
    of its items each, parsed a block at a time; ValueError when it is not one."""
    start, end = span
    if data[start:start + 1] != brackets[0].encode() or data[end - 1:end] != brackets[1].encode():
        raise ValueError("not laid out as written")
    # Where an item ends: a line of the schedule, or an entry (its closing brace, indented).
    after = b",\n" if brackets == "[]" else b"\n  },\n"
    start, end = start + 1, end - 1
    whole = True
    while True:
        cut = data.find(after, start + _READ_BLOCK, end)
        if cut >= 0:
            cut += len(after) - 2  # the comma
        block = data[start:end if cut < 0 else cut].decode("utf-8")
        part = json.loads(brackets[0] + block + brackets[1])
        if not part and not (whole and cut < 0):
            raise ValueError("an empty block")
        yield part
        if cut < 0:
            return
        start, whole = cut + 1, False


def _checked_lines(lines: list[Any]) -> list[str]:
    if not all(type(line) is str for line in lines):
        raise TypeError("a line that is not a string")
    return lines


def _layout_entries(data: bytes, span: tuple[int, int]) -> dict[str, Entry]:
    entries = {}
    for part in _parts(data, span, "{}"):
        for key, value in part.items():
            entries[key] = _read_entry(value)
    return entries


def _unreadable(where: str, exc: Exception) -> PublishedError:
    return PublishedError(f"{where}: not a published version agenda can read ({exc})")


def _text_of(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _unreadable(where, exc) from None


def _from_text(text: str, where: str) -> tuple[bytes, History]:
    """from_json of the file's text. The caller hands `text` over: it is let go once
    parsed, and each part of the parsed document once read (they are large)."""
    try:
        document = json.loads(text)
        del text
        if document.get("format") != FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, not {FORMAT!r}")
        schedule = document["schedule"]
        raw = _schedule_bytes(schedule["lines"])
        schedule["lines"] = None
        if digest_of(raw) != schedule["sha256"]:
            raise ValueError("the schedule text does not match its sha256 (edited by hand?)")
        history = History(
            version=int(document["version"]),
            published=_read_time(document["published"]),
            sessions=_read_entries(document["sessions"]),
            planned=_read_entries(document.get("planned", {})),
        )
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise _unreadable(where, exc) from None
    return raw, history


def _schedule_bytes(lines: Any) -> bytes:
    """"\n".join(lines).encode("utf-8"), without making the whole text as one string.

    What that expression cannot join or encode, it is left to, for its very error.
    """
    if type(lines) is list:
        try:
            return b"\n".join(
                "\n".join(lines[start:start + 4096]).encode("utf-8")
                for start in range(0, len(lines), 4096)
            )
        except (TypeError, ValueError):
            pass
    return "\n".join(lines).encode("utf-8")


def _read_entries(found: Any) -> dict[str, Entry]:
    """{key: _read_entry(value) for key, value in found.items()}, each value let go once read."""
    entries = {}
    for key in [key for key, _ in found.items()]:  # .items(): what raised for a non-table
        entries[key] = _read_entry(found[key])
        found[key] = None
    return entries


def read_version(path: Path, source: str, known: Version | None = None) -> Version | None:
    """The version published at `path`, or None when nothing is published there yet.

    `known` is a version already in memory: when the file holds that very
    version, it is returned as it is rather than parsed again. Raises
    PublishedError when the file exists but cannot be used.
    """
    if known is not None and _holds(path, known, Path(source).name):
        return known  # what parsing would find out, at a fraction of the memory
    try:
        # The file's bytes are handed over as they are read, never kept here.
        raw, history = from_json(path.read_bytes(), str(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PublishedError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if known is not None and (known.number, known.raw) == (history.version, raw):
        return known
    try:
        return make_version(raw, history, f"{source} (as published in {path.name})",
                            previous=known)
    except ScheduleError as error:
        raise PublishedError(f"{path}: the published schedule no longer loads:\n{error}") from None


def _holds(path: Path, version: Version, schedule_name: str) -> bool:
    """True when the file at `path` is, byte for byte, what write_version writes of `version`
    for the schedule file `schedule_name`; read a piece at a time, not parsed."""
    try:
        with open(path, "rb") as handle:
            for piece in json_pieces(version, schedule_name):
                data = piece.encode("utf-8")
                if handle.read(len(data)) != data:
                    return False
            return handle.read(1) == b""
    except OSError:
        return False


def digest_of_file(path: Path) -> str | None:
    """digest_of the bytes of a regular file, read a block at a time, never whole; None when
    it is not a regular file (a FIFO is not waited on) or cannot be read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        return None
    finally:
        os.close(descriptor)


def read_schedule_bytes(path: Path) -> bytes:
    """The bytes of a schedule file; only a regular file is read (a FIFO would hang)."""
    return read_schedule_file(path, str(path))


def write_version(version: Version, path: Path, schedule_name: str) -> None:
    """Write the published-version file atomically: a reader sees the old file or the new one.

    It is written as it is made, a piece at a time (json_pieces).
    """
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix="." + path.name + ".", dir=folder)
    except OSError as exc:
        raise CannotWrite(f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            for piece in json_pieces(version, schedule_name):
                out.write(piece.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise CannotWrite(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:  # made while written: no half-written file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


@contextlib.contextmanager
def publishing_lock(published: Path) -> Iterator[None]:
    """Hold the OS-level lock that lets one process at a time publish this schedule."""
    try:
        fd = os.open(lock_path(published), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise CannotWrite(f"cannot create the lock beside {published}: {exc.strerror or exc}") \
            from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a publication did: the version now published, what changed, whether it wrote."""

    version: Version
    changes: tuple[SessionChange, ...]
    written: bool


def publish(
    schedule_path: Path,
    published: Path,
    now: datetime,
    raw: bytes | None = None,
    withdraw: Collection[str] = (),
    known: Version | None = None,
    first: Version | None = None,
    correction: bool | None = None,  # None: the 15-minute rule (issue 15, history side)
    editor: str | None = None,  # recorded in the history, never shown publicly
) -> Outcome:
    """Publish the schedule file (or `raw`, its bytes already read) under the lock.

    Whoever holds the lock first writes the new version; a process that comes
    second finds it already published and writes nothing. Raises ScheduleError
    (nothing published), PublishedError or CannotWrite. `known` is the version
    the caller serves, reused when the file still holds it; `first` is the first
    version of `raw`, reused when nothing is published yet (see next_version).
    """
    source = str(schedule_path)
    with publishing_lock(published):
        current = read_version(published, source, known)
        data = read_schedule_bytes(schedule_path) if raw is None else raw
        if current is not None and digest_of(data) == current.digest and not withdraw:
            return Outcome(current, (), False)
        version, changes = next_version(current, data, source, now, withdraw, first)
        write_version(version, published, schedule_path.name)
        return Outcome(version, tuple(changes), True)


def pending_changes(
    schedule_path: Path, published: Path, now: datetime
) -> tuple[Version | None, Version, list[SessionChange]]:
    """What publishing the file now would change, without writing: (current, next, changes)."""
    source = str(schedule_path)
    current = read_version(published, source)
    data = read_schedule_bytes(schedule_path)
    if current is not None and digest_of(data) == current.digest:
        return current, current, []
    version, changes = next_version(current, data, source, now)
    return current, version, changes
