"""The published version on disk: one JSON file beside the schedule, written atomically.

`data/sessions.toml` is what the editor writes; `data/sessions.published.json` is what the service
publishes: the exact text of the schedule it serves and its revision history (agenda.history), to
commit and review with the schedule, so that a copy of the folder serves the same bytes anywhere.
Every process serves that file, never the raw schedule; a new version is written under an OS-level
lock (flock) by whichever process gets there first, and replaces the old one in one rename.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import hashlib
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from agenda.errors import AgendaError, Problem, ScheduleError
from agenda.format import MAX_NAME, SLUG
from agenda.history import Entry, History, SessionChange, apply, caught_up, first_history, revise
from agenda.i18n import _, said
from agenda.loader import nonblocking, parse_bytes, read_schedule_file
from agenda.model import Change, Revision, Schedule, Status, city_slug, iso

FORMAT = "agenda-published/1"
PLANNED_KEY = re.compile(SLUG.pattern.removesuffix(r"\Z") + r"/[0-9]+\Z")  # series-id/5
# Sorted keys, one schedule line per JSON line.
LAYOUT: dict[str, Any] = {"ensure_ascii": False, "sort_keys": True, "indent": 1}


class PublishedError(AgendaError):
    """The published-version file cannot be read; the message names it and says why."""


class HistoryBehind(PublishedError):
    """The published history is missing or older than the newest version published here."""


class CannotWrite(AgendaError):
    """The folder of the published version is not writable (read-only volume, permissions)."""


def published_path(schedule_path: str | Path) -> Path:
    """Where the published version of a schedule lives by default: beside it."""
    path = Path(schedule_path)
    return path.with_name(path.stem + ".published.json")


def digest_of(raw: bytes) -> str:
    """The SHA-256 of a schedule file's bytes: which text a version serves."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """One published version: the schedule text, its history, and the schedule they make."""

    number: int
    published: datetime | None
    digest: str
    raw: bytes
    schedule: Schedule
    history: History
    file: str | None = None  # the digest of the published file it was read from or written as
    revised: bool = False  # its history was made here: its fingerprints are this release's

    @property
    def label(self) -> str:
        """'version 3 (a1b2c3d4e5f6)' for logs and /healthz."""
        return f"version {self.number} ({self.digest[:12]})"


def make_version(raw: bytes, history: History, source: str, schedule: Schedule | None = None,
                 previous: Schedule | None = None, revised: bool = False) -> Version:
    """The version serving `raw` (`schedule` if already parsed) with `history` (`revised`: made
    here), after the one of `previous` if any, whose sessions read alike it takes (`parse_bytes`,
    history.apply); ScheduleError if `raw` is invalid."""
    schedule = schedule if schedule is not None else parse_bytes(
        raw, source, previous.parsed if previous is not None else {})
    return Version(history.version, history.published, digest_of(raw), raw,
                   apply(schedule, history, previous), history, revised=revised)


def moved(version: Version, now: datetime) -> bool:
    """Whether this release (new time zone rules) shows `version` otherwise than its history."""
    return bool(revise(version.history, version.schedule, version.schedule, now)[1])


def first_version(raw: bytes, source: str) -> Version:
    """The first version of a schedule file that has no history yet: times from the file alone."""
    schedule = parse_bytes(raw, source)
    return make_version(raw, first_history(schedule), source, schedule, revised=True)


def next_version(current: Version | None, raw: bytes, source: str, now: datetime,
                 withdraw: Collection[str] = (), correction: bool | None = None,
                 editor: str | None = None) -> tuple[Version, list[SessionChange]]:
    """The version that publishing `raw` at `now` after `current` makes, and what changed.

    Raises ScheduleError when the file is invalid, looks cut short (a desk `editor`'s draft never
    is), or drops a published session; nothing is published. `correction`, `editor`: revise's."""
    if current is None and withdraw:
        raise ScheduleError([Problem(source, "", "", _("nothing is published yet to withdraw"))])
    if current is None:
        version = first_version(raw, source)
        return version, [SessionChange(key, (_("new session"),), None, entry.sequence)
                         for key, entry in version.history.sessions.items()]
    schedule = parse_bytes(raw, source, current.schedule.parsed)  # what did not change, reused
    read = current.schedule.parsed if current.revised else None  # its fingerprints: ours
    history, changes = revise(current.history, current.schedule, schedule, now, withdraw,
                              correction, editor, read)
    if raw != current.raw and current.raw.startswith(raw) and not (withdraw or editor):
        # A save in place truncates then writes: a beginning of the published file is not published.
        raise ScheduleError([Problem(source, "", "", _(
            "the file is the first {size} of the {published} bytes of the published version: a "
            "save in progress or a cut copy, not published. If you removed the end on purpose, "
            "end the file with a comment line", size=len(raw), published=len(current.raw)))])
    return make_version(raw, history, source, schedule, current.schedule, True), changes


def _present(**items: Any) -> dict[str, Any]:
    """`items` but those that are None: the file leaves out what is not known."""
    return {key: value for key, value in items.items() if value is not None}


def _revision_json(revision: Revision) -> dict[str, Any]:
    was = _present(end=iso(revision.previous_end), start=iso(revision.previous_start),
                   status=revision.previous_status.value if revision.previous_status else None)
    return _present(
        at=iso(revision.at), fields=list(revision.fields), sequence=revision.sequence,
        by=revision.by,  # the editor who published it: never shown publicly
        correction=True if revision.correction else None,
        news=[n.value for n in revision.news] or None, was=was or None)


def _entry_json(entry: Entry) -> dict[str, Any]:
    return _present(
        due=iso(entry.due), fingerprint=entry.fingerprint, in_calendar=entry.in_calendar,
        revisions=[_revision_json(r) for r in entry.revisions],
        sequence=entry.sequence, uid=entry.uid, withdrawn=iso(entry.withdrawn))


def _document(version: Version, schedule_name: str) -> dict[str, Any]:
    history = version.history
    return {
        "format": FORMAT,
        "planned": {key: _entry_json(e) for key, e in history.planned.items()},
        "published": iso(history.published),
        "schedule": {"file": schedule_name, "lines": version.raw.decode("utf-8").split("\n"),
                     "sha256": version.digest},
        "sessions": {key: _entry_json(e) for key, e in history.sessions.items()},
        "version": history.version,
    } | _present(shared=iso(history.shared), listed={
        k: iso(v) for k, v in history.listed.items()} or None, gone=_present(
        cities=list(history.gone_cities) or None, series=dict(history.gone_series) or None) or None)


def _read_time(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise PublishedError(_("time without offset: {value}", value=value))
    return moment


def _read_revision(data: dict[str, Any]) -> Revision:
    was = data.get("was", {})
    at = _read_time(data["at"])
    if at is None:
        raise PublishedError(_("a revision without a time"))
    return Revision(
        at=at, sequence=int(data["sequence"]), fields=tuple(str(f) for f in data["fields"]),
        news=tuple(Change(n) for n in data.get("news", ())),
        previous_start=_read_time(was.get("start")), previous_end=_read_time(was.get("end")),
        previous_status=Status(was["status"]) if was.get("status") else None,
        correction=data.get("correction") is True,
        by=str(data["by"]) if data.get("by") is not None else None)


def _read_entry(data: dict[str, Any]) -> Entry:
    return Entry(
        uid=str(data["uid"]), sequence=int(data["sequence"]), fingerprint=str(data["fingerprint"]),
        revisions=tuple(map(_read_revision, data["revisions"])), due=_read_time(data.get("due")),
        in_calendar=bool(data["in_calendar"]), withdrawn=_read_time(data.get("withdrawn")))


def from_json(data: bytes, where: str) -> tuple[bytes, History]:
    """The schedule bytes and history a published-version file holds; PublishedError if broken."""
    try:
        document = json.loads(data.decode("utf-8"))
        if document.get("format") != FORMAT:
            raise PublishedError(_("format {found!r}, not {expected!r} (written by another "
                                   "release?)", found=document.get("format"), expected=FORMAT))
        schedule = document["schedule"]
        raw = "\n".join(schedule["lines"]).encode("utf-8")
        gone = document.get("gone", {})
        if digest_of(raw) != schedule["sha256"]:
            raise PublishedError(_("the schedule text does not match its sha256 (edited by hand?)"))
        history = History(
            version=int(document["version"]),
            published=_read_time(document["published"]),
            sessions={k: _read_entry(v) for k, v in document["sessions"].items()},
            planned={k: _read_entry(v) for k, v in document.get("planned", {}).items()},
            shared=_read_time(document.get("shared")),
            listed={str(k): _read_time(v) for k, v in document.get("listed", {}).items()},
            gone_cities=tuple(map(str, gone.get("cities", ()))),
            gone_series={str(k): str(v) for k, v in gone.get("series", {}).items()})
        # Ids and cities name files and URLs: not an id (hand-edited), or too long, is refused.
        names = (*history.sessions, *history.gone_series, *map(city_slug, history.gone_cities))
        strange = [k for k in names if not SLUG.match(k) or len(k) > MAX_NAME]
        if strange or (strange := [k for k in history.planned if not PLANNED_KEY.match(k)]):
            raise PublishedError(_("{key} is not an id", key=repr(strange[0])))
    except (PublishedError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = str(exc) if isinstance(exc, PublishedError) else _("not JSON as agenda writes it")
        raise PublishedError(_("{path}: not a published version agenda can read ({reason}); put "
                               "back its last good copy (git, a backup), or run `agenda publish "
                               "--new-history` to go on from the schedule file",
                               path=where, reason=why)) from None
    return raw, history


def read_version(path: Path, source: str, known: Version | None = None,
                 new_text: bytes | None = None) -> Version | None:
    """The version published at `path`, or None when nothing is published there yet.

    `known`, a version already in memory, is returned as it is when the file holds that very
    version. Raises PublishedError when the file exists but cannot be used. When its text breaks a
    rule of this release, `new_text` (to be published) stands in for it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PublishedError(_("{path}: cannot read ({reason})", path=path, reason=exc)) from None
    file = digest_of(data)  # the very file of `known`: not decoded again (0.2 s at 10,000 sessions)
    if known is not None and known.file == file:
        return known
    raw, history = from_json(data, str(path))
    if known is not None and (known.number, known.raw) == (history.version, raw):
        return known
    label = _("{source} (as published in {name})", source=source, name=path.name)
    before = known.schedule if known is not None else None  # the version served here
    try:  # published after it (by another process?): made as following it
        return dataclasses.replace(make_version(raw, history, label, previous=before), file=file)
    except ScheduleError as error:
        if new_text is not None:  # stricter rules since it was published: the history goes on
            return make_version(raw, history, source, parse_bytes(new_text, source))
        raise PublishedError(_(
            "{path}: the published text no longer loads with this release of agenda:\n"
            "{problems}\nCorrect the schedule file and publish it (agenda publish): its history "
            "goes on", path=path, problems=error)) from None


def digest_of_file(path: Path) -> str | None:
    """digest_of the bytes of a regular file, read a block at a time, never whole; None when
    it is not a regular file (a FIFO is not waited on) or cannot be read. open() closes what it
    opened when it fails; os.fdopen() of a folder's descriptor did not, at each look."""
    try:
        with open(path, "rb", opener=nonblocking) as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                return None
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        return None


def write_version(version: Version, path: Path, schedule_name: str, mode: int = 0o600) -> str:
    """Write the published-version file atomically, with `mode` (the schedule's: it holds its
    private links): a reader sees the old file or the new one. Written as it is encoded: the
    text whole would cost 40 MB more at 10,000 sessions. The digest of the file written."""

    def dump(out: BinaryIO) -> None:
        text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
        json.dump(_document(version, schedule_name), text, **LAYOUT)
        text.write("\n")
        text.detach()  # flushes, and leaves `out` open for write_atomically

    return write_atomically(path, dump, mode)


def write_atomically(path: Path, write: Callable[[BinaryIO], object], mode: int = 0o644) -> str:
    """Write to a temporary file beside `path` (a link: the file it names), then rename it in;
    the digest of what was written (read back before it takes the name: no one else's)."""
    path = Path(os.path.realpath(path))  # a link into a checkout is kept, its file replaced
    try:
        handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path), dir=path.parent)
    except OSError as exc:
        raise CannotWrite(_("cannot write in {folder}: {reason}", folder=path.parent,
                            reason=exc)) from None
    try:
        # Write-only: a text layer over a readable file resets its decoder at every write.
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        with open(temporary, "rb") as back:
            written = hashlib.file_digest(back, "sha256").hexdigest()
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as exc:  # even interrupted: no half-written file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise CannotWrite(_("cannot write {path}: {reason}", path=path, reason=exc)) from None
        raise
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return written


def _temporary_prefix(path: Path) -> str:
    return "." + path.name.lstrip(".") + "."  # hidden: '.sessions.published.json.XXXXXXXX'


# A history older than the mark or the newest site folder (a backup or `git checkout` put back),
# missing or unreadable is never built on: SEQUENCE would go back and calendars ignore a lower
# one. `acknowledged` is false while the history is one a first start made from the schedule
# file alone, until `agenda publish --new-history`.
@dataclass(frozen=True, slots=True)
class Mark:
    """The newest version published here: its number, schedule digest and time."""

    version: int
    digest: str
    published: datetime | None
    acknowledged: bool


def mark_path(published: Path) -> Path:
    """The mark file beside the published version: '.sessions.published.mark'."""
    return published.with_name("." + published.stem + ".mark")


def read_mark(published: Path, built: Mark | None = None) -> Mark | None:
    """The mark beside `published`, or `built` (a site folder's) when newer; PublishedError."""
    path = mark_path(published)
    try:
        data = json.loads(path.read_bytes())
        mark = Mark(int(data["version"]), str(data["sha256"]), _read_time(data["published"]),
                    data["acknowledged"] is True)
    except FileNotFoundError:
        mark = None
    except (PublishedError, OSError, ValueError, KeyError, TypeError) as exc:
        why = said(exc) if isinstance(exc, PublishedError | OSError) else _(
            "not JSON as agenda writes it")  # JSON's and Python's reasons are English
        raise PublishedError(_(
            "{path}: unreadable mark ({reason}). Check {history}, then run "
            "`agenda publish --new-history` to write it anew",
            path=path, reason=why, history=published.name)) from None
    return built if built and (mark is None or built.version > mark.version) else mark


def write_mark(published: Path, version: Version, acknowledged: bool) -> None:
    """Record `version` as the newest published here (under the publishing lock)."""
    data = {"acknowledged": acknowledged, "published": iso(version.published),
            "sha256": version.digest, "version": version.number}
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    write_atomically(mark_path(published), lambda out: out.write(text.encode("utf-8")))


def refuse_older(published: Path, found: Version | None, mark: Mark | None) -> None:
    """Raise HistoryBehind when `found` (None: no file) is older than the mark, or another
    history of the same version (a site folder's mark, whose digest is "", names none); nothing is
    published on it until an operator decides."""
    if mark is None:
        return
    ways_out = _(
        "nothing is published: put the newest file back in its place, or run "
        "`agenda publish --new-history` to go on from what is on disk (subscribers ignore "
        "changes whose SEQUENCE is lower)")
    if found is None:
        raise HistoryBehind(_(
            "{path}: the published history is missing, while version {version} was published "
            "here on {time}; {ways_out}",
            path=published, version=mark.version, time=iso(mark.published), ways_out=ways_out))
    if found.number < mark.version or (found.number == mark.version
                                       and not found.digest.startswith(mark.digest)):
        raise HistoryBehind(_(
            "{path}: the history (version {found}) is older than version {version} published "
            "here on {time} (restored from a backup or git?); {ways_out}",
            path=published, found=found.number, version=mark.version,
            time=iso(mark.published), ways_out=ways_out))


def as_owner(schedule: Path) -> None:
    """As root, refuse to write in a data folder another user (the service) owns: CannotWrite."""
    folder = schedule.resolve().parent
    if os.geteuid() == 0 and folder.is_dir() and folder.stat().st_uid != 0:
        raise CannotWrite(_("{folder} belongs to another user (uid {owner}): run this command as "
                            "that user (sudo drops AGENDA_DATA), for instance sudo -u '#{owner}' "
                            "env AGENDA_DATA={path} agenda …", folder=schedule.parent,
                            owner=folder.stat().st_uid, path=folder / schedule.name))


@contextlib.contextmanager
def publishing_lock(published: Path, wait: bool = True) -> Iterator[None]:
    """Hold the OS-level lock that lets one process at a time publish this schedule (else,
    when held and not `wait`, BlockingIOError)."""
    lock = published.with_name("." + published.name + ".lock")  # beside it, hidden
    try:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            with contextlib.suppress(OSError):  # readable by all whatever the umask: a lock
                os.fchmod(fd, 0o644)  # root made (`sudo agenda publish`) is the service's too
        except PermissionError:  # made by another user: flock needs no write access
            if not lock.exists():  # no: a folder this user cannot write in
                raise
            fd = os.open(lock, os.O_RDONLY)  # (but on NFS)
    except OSError as exc:
        raise CannotWrite(_("cannot create the lock beside {path}: {reason}", path=published,
                            reason=exc)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
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
    schedule_path: Path, published: Path, now: datetime, raw: bytes | None = None,
    withdraw: Collection[str] = (), known: Version | None = None, built: Mark | None = None,
    correction: bool | None = None, editor: str | None = None, new_history: bool = False,
    held: bool = False, again: bool = False,
) -> Outcome:
    """Publish the schedule file (or `raw`, its bytes read) under the lock (`held`: by the
    caller): the first process to hold it writes the new version, one coming second writes
    nothing. Raises ScheduleError (nothing published), PublishedError (HistoryBehind: older
    than the mark or `built`, read_mark's) or CannotWrite. `known`, the version the caller
    serves, is reused when the file still holds it; `correction`, `editor`: history.revise's;
    `new_history` builds on any history on disk (or none) and acknowledges it; `again`: `raw`
    is `known`'s text, not published again if another version was published meanwhile."""
    source = str(schedule_path)
    with contextlib.nullcontext() if held else publishing_lock(published):
        # What a publisher killed while writing left: mkstemp's names, the prefix, 8 of [a-z0-9_].
        for path in (Path(os.path.realpath(p)) for p in (published, mark_path(published))):
            for found in path.parent.glob(glob.escape(_temporary_prefix(path)) + "[a-z0-9_]" * 8):
                with contextlib.suppress(OSError):
                    found.unlink()
        data = read_schedule_file(schedule_path, str(schedule_path)) if raw is None else raw
        unreadable = (PublishedError,) if new_history else ()  # with --new-history, ignored
        mark = current = None
        with contextlib.suppress(*unreadable):
            mark = read_mark(published, built)
        with contextlib.suppress(*unreadable):
            current = read_version(published, source, known, new_text=data)
        behind = None
        try:
            refuse_older(published, current, mark)
        except HistoryBehind:
            if not new_history:
                raise
            behind = mark  # going on above what subscribers may have seen
        if behind is not None and current is not None:
            current = make_version(current.raw, caught_up(current.history, behind.version, now),
                                   source)
        if again and current is not known:
            return Outcome(current or known, (), False)  # published meanwhile: it stays
        newer = current is not None and (mark is None or current.number > mark.version)
        acknowledged = new_history or newer or bool(mark and mark.acknowledged)  # newer: put back
        if current is not None and digest_of(data) == current.digest and not (
                withdraw or behind or moved(current, now)):
            if new_history or mark is None or mark.version != current.number:
                write_mark(published, current, acknowledged)
            return Outcome(current, (), False)
        version, changes = next_version(current, data, source, now, withdraw, correction, editor)
        if behind is not None and current is None:
            version = make_version(version.raw,
                                   caught_up(version.history, behind.version + 1, now), source)
        mode = 0o600  # or the schedule's own: the file holds its private links
        with contextlib.suppress(OSError):
            mode = schedule_path.stat().st_mode & 0o666
        version = dataclasses.replace(version, file=write_version(
            version, published, schedule_path.name, mode))
        write_mark(published, version, acknowledged)
        return Outcome(version, tuple(changes), True)


def pending_changes(schedule_path: Path, published: Path, now: datetime, built: Mark | None = None
                    ) -> tuple[Version | None, Version, list[SessionChange]]:
    """What publishing the file now would change, without writing: (current, next, changes)."""
    source = str(schedule_path)
    mark = read_mark(published, built)
    current = read_version(published, source)
    refuse_older(published, current, mark)
    data = read_schedule_file(schedule_path, str(schedule_path))
    if current is not None and digest_of(data) == current.digest and not moved(current, now):
        return current, current, []
    version, changes = next_version(current, data, source, now)
    return current, version, changes
