"""The version and site folder in service in this process, kept in step with the files.

A request takes one Version (`current()`) and the folder built from it (`site()`). A watcher (a
thread in each gunicorn worker from its start; each request in tests) follows the published version
(`sessions.published.json`) that another process wrote, and publishes the schedule file under the
lock once it has stopped changing for `settle` seconds. An invalid edit, a partial save or a dropped
session never changes what is served: it is `pending` (for /healthz), with its problems and the time
the file was saved. What needs an operator (a history older than the mark, a first start without
history, a clock off, a failed build) is in `alarms`, which /healthz lists. Each problem is logged
once, when it appears or changes.

Each version is built into a folder (agenda.site) once, under the publishing lock, by the first
process that needs it; the others serve it once complete, then read the version (for the few
dynamic routes). A folder holds until the next moment a document changes by itself (a session ends,
an announcement comes due): the clock is read here, to know which folder to serve.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from agenda import site as builder
from agenda.errors import ESCAPED, AgendaError, ScheduleError
from agenda.i18n import _, said
from agenda.loader import read_schedule_file
from agenda.published import (
    CannotWrite,
    HistoryBehind,
    Mark,
    Outcome,
    PublishedError,
    Version,
    as_owner,
    digest_of,
    digest_of_file,
    first_version,
    mark_path,
    publish,
    published_path,
    publishing_lock,
    read_mark,
    read_version,
    refuse_older,
)

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # a save in progress rarely pauses this long between writes
POLL_SECONDS = 0.5
RETRY_SECONDS = 5.0  # a publication that could not be written is tried again this often
BUILD_RETRY_SECONDS = 30.0  # and a site folder that could not be built (a build is longer)
# A clock this far past the last publication and every date is stepped ahead (a typo, a battery).
AHEAD = timedelta(days=366)
UTC_NOW = partial(datetime.now, UTC)  # the clock that dates publications


@dataclass(frozen=True, slots=True)
class Pending:
    """An edit on disk that is not served: why, and since when (the file's modification time)."""

    state: str  # "waiting", "invalid", "unwritable", "missing"
    problems: tuple[str, ...]
    since: datetime


def _stamp(path: Path) -> tuple[int, int, int] | None:
    with contextlib.suppress(OSError):
        info = os.stat(path)
        return (info.st_mtime_ns, info.st_size, info.st_ino)
    return None


class VersionStore:
    """The published version this process serves, and the site folder built from it."""

    def __init__(self, path: str | Path, published: str | Path | None = None,
                 settle: float = SETTLE_SECONDS, watch: bool = True,
                 clock: Callable[[], datetime] = UTC_NOW, autopublish: bool = True,
                 site_root: str | Path | None = None,
                 moment: Callable[[], datetime] | None = None) -> None:
        """Load the latest published version (publishing the file if none) and serve its site
        folder, built if need be. Raises ScheduleError with nothing valid to serve (no published
        version, an invalid file), SiteError when no folder can be built nor found (an unwritable
        data folder). `clock` dates publications; `moment` (default `clock`) picks the folder."""
        self.path = Path(path)
        as_owner(self.path)  # as root, files the service could neither replace nor remove
        self.published_path = Path(published) if published else published_path(self.path)
        self.settle, self.watch, self.clock = settle, watch, clock
        self.autopublish = autopublish  # False: a saved edit waits for the desk's « Publier »
        self.pending: Pending | None = None
        self._poll_lock = threading.Lock()
        self._watcher_pid: int | None = None
        self._voice: int | None = None  # a watcher's descriptor of its site folders
        # Followed at the first poll, which reads what _start found again (cheaply).
        self._published_stamp: tuple[object, object] | None = None
        self._checked_stamp: tuple[int, int, int] | None = None
        self._candidate: tuple[tuple[int, int, int], float] | None = None
        self._retry_at: float | None = None  # when to try a failed publication again
        # What needs an operator, by kind ("history", "new-history", "clock-behind", "clock-ahead",
        # "site", "release"): the message of the catalogue, for /healthz.
        self.alarms: dict[str, str] = {}
        self.site_root = Path(site_root) if site_root else site_root_for(self.path)
        self.moment = moment or clock
        self._site: builder.Site | None = None
        self._failed: tuple[str, float] | None = None  # a folder whose build failed, until when
        self._prepared: builder.Site | None = None  # the folder served, once its spare is made
        self._version = self._start()
        self.poll()

    def _start(self) -> Version:
        # A history unreadable or older than the mark is never replaced by one from the file
        # alone: PublishedError stops the start. The mark is read first (written after it).
        mark = read_mark(self.published_path, built_mark(self.site_root))
        found = read_version(self.published_path, str(self.path))
        refuse_older(self.published_path, found, mark)
        if found is not None:
            return found  # poll(), next, moves the mark up to it, published again if need be
        # Nothing published yet: the first version comes from the file alone (its times too), so
        # any process derives the same one; written if we can, served either way (or ScheduleError).
        raw = read_schedule_file(self.path, str(self.path))
        version = None
        try:
            version = publish(self.path, self.published_path, self.clock(), raw=raw).version
        except CannotWrite as error:  # dated as an edit is, by the file's time
            self._set_pending("unwritable", [str(error)], self._since(_stamp(self.path)))
        except PublishedError as error:
            log.warning("first publication refused: %s", error)
        self._checked_stamp = _stamp(self.path)
        return version or first_version(raw, str(self.path))  # not written: served all the same

    def served(self) -> Version:
        """The version served now, without looking at the files."""
        return self._version

    def current(self) -> Version:
        """The version to answer this request from."""
        if not self.watch:
            self.poll()
        elif self._watcher_pid != os.getpid():
            # First request of this process (a gunicorn worker forked from a master that
            # loaded the app long ago, whose watcher thread it lacks): catch up, then watch.
            self._watcher_pid = os.getpid()
            self._poll_lock = threading.Lock()  # a lock copied by fork may look held
            with contextlib.suppress(OSError):  # what the watcher that speaks locks (_speaks)
                self._voice = os.open(self.site_root, os.O_RDONLY)
            said = self._poll_logged(None)
            threading.Thread(target=self._watch_loop, args=(said,), name="agenda-watch",
                             daemon=True).start()
        return self._version

    def _poll_logged(self, said: str | None) -> str | None:
        """poll(), outliving any surprise: logged once (`said`, the last one), then repeated."""
        try:
            self.poll()
        except Exception as error:
            if repr(error) != said and self._speaks():  # not a traceback from each worker
                log.exception("watching the schedule failed")
            return repr(error)
        return None

    def _watch_loop(self, said: str | None) -> None:
        while True:
            time.sleep(min(POLL_SECONDS, max(self.settle / 2, 0.05)))
            said = self._poll_logged(said)

    def site(self) -> builder.Site:
        """The built folder of the version served."""
        self.current()
        assert self._site is not None
        return self._site

    def poll(self) -> None:
        """Catch up with the published file, publish a settled edit of the schedule, and
        serve the folder of the version served at this moment."""
        if not self._poll_lock.acquire(blocking=False):
            return  # another thread of this process is at it
        try:
            self._follow_published()
            self._consider_file()
            self._check_clock()
            site = self._site
            self._follow_site()
            if self._site is site is not None and site is not self._prepared:  # idle
                with contextlib.suppress(OSError, CannotWrite), publishing_lock(
                        self.site_root / "site", wait=False):  # else busy: at the next poll
                    self._prepared = site  # once per folder, whatever comes of it (disk full?)
                    if os.readlink(self.site_root / CURRENT) == site.folder.name:
                        builder.prepare(site)  # the next build's start, made in the meantime
        finally:
            self._poll_lock.release()

    def _stamps(self) -> tuple[object, object]:
        return _stamp(self.published_path), _stamp(mark_path(self.published_path))

    def repair_site(self, site: builder.Site) -> builder.Site:
        """The folder to serve once a file of `site` was found missing or cut: it, built anew."""
        with self._poll_lock:
            if self._site is site:
                self._follow_site(damaged=site)
            return self.site()

    def _follow_site(self, damaged: builder.Site | None = None) -> None:
        site, now, version = self._site, self.moment(), self._version
        if site is not None and (site.version, site.digest) == (version.number, version.digest) \
                and site.holds(now) and damaged is None:
            if (self.site_root / CURRENT / builder.MANIFEST).exists() and self._failed is None:
                self._alarm("release", None if _ours(self.site_root) else _(
                    "{folder} was built by another release of agenda, which serves this data "
                    "folder too: each removes the other's folders; give one its own AGENDA_SITE, "
                    "then restart agenda", folder=os.path.realpath(self.site_root / CURRENT)))
                return
            # Else a build failed (tried again below, in time), or `current` or its folder was
            # removed by hand (taken for a cache?): nginx answers 404 meanwhile.
            damaged = None if (site.folder / builder.MANIFEST).exists() else site
        target = builder.folder_name(version, now)
        if self._failed and self._failed[0] == target and time.monotonic() < self._failed[1]:
            return  # that build failed: tried again later, not at every request of every worker
        try:
            self._site = ensure_site(self.site_root, version, now, site, damaged,
                                     served=lambda found: setattr(self, "_site", found))
        except Exception as error:  # whatever the cause (a full disk; a bug, traced), still serving
            self._failed = (target, time.monotonic() + BUILD_RETRY_SECONDS)
            # At start (a new release names every folder anew): the one nginx serves meanwhile.
            self._site = site or _current(self.site_root)
            problem = _("cannot build the site of {label} in {folder}: {error}",
                        label=version.label, folder=self.site_root, error=said(error))
            if self._site is None:  # at start, with nothing to serve
                raise builder.SiteError(problem) from error
            self._alarm("site", _("{problem}; still serving the previous folder", problem=problem),
                        None if isinstance(error, OSError | AgendaError) else error)
            return
        self._failed = None
        self._alarm("site", None)

    def _follow_published(self) -> None:
        stamp, before = self._stamps(), self._published_stamp
        if stamp == before:
            return
        self._published_stamp = stamp
        # Health follows the published file too: what it says of the edit is looked at again.
        self._checked_stamp, self._retry_at = None, None
        current = self._version
        try:
            mark = read_mark(self.published_path, built_mark(self.site_root))
            if mark is not None and mark.version > current.number and self._site is not None:
                # Published by another process, which builds its folder: served as soon as
                # it is complete, before the version is read (dynamic routes catch up then).
                self._site = find_site(self.site_root, mark, self.moment(), self._site)
            found = read_version(self.published_path, str(self.path), current)
            refuse_older(self.published_path, found, mark)
            if found is not None or before and before[0]:  # the one served counts as a mark too
                refuse_older(self.published_path, found,
                             Mark(current.number, current.digest, current.published, True))
        except PublishedError as error:
            self._alarm("history", _("{error}; still serving {label}", error=error,
                                     label=current.label))
            return
        self._alarm("history", None)
        self._alarm("new-history", None if mark is None or mark.acknowledged else _(
            "{path}: first start without a published history; the version served comes from "
            "the file alone (SEQUENCE 0, times from the file). If this service has published "
            "before, put its {name} back; otherwise run `agenda publish --new-history` to "
            "confirm this new history", path=self.published_path, name=self.published_path.name))
        if found is None:
            return
        # The version it started with, or a history put back (newer than the mark): the mark
        # moved up to it, published again if this release's time zone rules moved a session
        # (published.moved). Not one another process of this release published under them.
        try:
            if found is current or mark is None or found.number > mark.version:
                outcome = publish(self.path, self.published_path, self.clock(), raw=found.raw,
                                  known=found, again=True)
                found = outcome.version
                if outcome.written:
                    log.info("published %s", describe(outcome))
        except (CannotWrite, PublishedError) as error:  # again at the next edit, which clears it
            self._alarm("again", _("{error}; {label} is not published again under this release's "
                                   "time zone rules", error=error, label=found.label))
        if (found.number, found.digest) != (current.number, current.digest):
            self._swap(found)

    def _alarm(self, kind: str, message: str | None, cause: Exception | None = None) -> None:
        """Set or clear a problem for the operator, logged once (`cause`: with its traceback)."""
        if message == self.alarms.get(kind):
            return
        if message is None:
            self.alarms.pop(kind, None)
        else:
            self.alarms[kind] = message
        if self._speaks():  # on one line
            log.log(logging.ERROR if message else logging.INFO, "%s", (
                message or f"resolved: {kind}").translate(ESCAPED), exc_info=cause)

    def _speaks(self) -> bool:
        """Whether this process logs what it sees amiss: of a service's watchers (its gunicorn
        workers), the first to lock its site folders, for its life, not each; any other process."""
        with contextlib.suppress(BlockingIOError):  # held by another: until it ends
            if self._voice is not None:  # a watcher's (no folder to lock, removed?: each says it)
                fcntl.flock(self._voice, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        return False

    def _check_clock(self) -> None:
        """Report a clock behind the last publication (times are then held past it)."""
        published, now = self._version.published, self.clock()
        self._alarm("clock-behind", _(
            "the clock ({now}) is before the last publication ({published}): revisions are "
            "dated just after it until the clock catches up; check the clock (NTP)",
            now=now.isoformat(), published=published.isoformat(),
        ) if self._version.number > 1 and published is not None and published > now else None)

    def _check_ahead(self, now: datetime) -> None:
        """Report a publication (not a first) far past the last one and every date it holds."""
        version = self._version
        times = [t for t in (version.published, *(s.end for s in version.schedule.sessions)) if t]
        ahead = version.number > 1 and bool(times) and now > max(times) + AHEAD
        self._alarm("clock-ahead", _(
            "the clock ({now}) is more than a year past the last publication and every date of "
            "the schedule: check the clock (NTP); this publication is dated by it",
            now=now.isoformat()) if ahead else None)

    def _since(self, stamp: tuple[int, int, int] | None) -> datetime:
        return datetime.fromtimestamp(stamp[0] / 1e9, UTC) if stamp else self.clock()

    def _set_pending(self, state: str, problems: list[str], since: datetime) -> None:
        before = (self.pending.state, self.pending.problems) if self.pending else None
        if state != "waiting" and before != (state, tuple(problems)) and self._speaks():
            for problem in problems:  # each on its line, with its level
                log.error("%s is not published: %s", self.path, problem)
        self.pending = Pending(state, tuple(problems), since)

    def _consider_file(self) -> None:
        stamp = _stamp(self.path)
        # Looked at already, unless an edit came meanwhile: the file put back is not waited for.
        if (stamp is not None and stamp == self._checked_stamp and (
                self._candidate is None or self._candidate[0] == stamp)) or (
                self._retry_at is not None and time.monotonic() < self._retry_at):
            return
        if stamp is None:
            gone = self.pending.since if self.pending and self.pending.state == "missing" else None
            self._set_pending("missing", [_("{path}: cannot read the file", path=self.path)],
                              gone or self.clock())
            self._checked_stamp = None
            return
        since = self._since(stamp)
        try:
            # The text served (as after a restart) is known without holding the file's bytes.
            raw = None if digest_of_file(self.path) == self._version.digest \
                else read_schedule_file(self.path, str(self.path))
        except ScheduleError as error:
            self._set_pending("invalid", [str(p) for p in error.problems], since)
            self._checked_stamp, self._candidate = stamp, None
            return
        if raw is None or digest_of(raw) == self._version.digest:
            self.pending = None
            self._checked_stamp, self._candidate = stamp, None
            return
        # A save may be in progress: publish only once the file has kept its size, inode and
        # modification time for `settle` seconds of our clock (the file's may be another's).
        if self._candidate is None or self._candidate[0] != stamp:
            self._candidate = (stamp, time.monotonic())
        if not self.autopublish:
            self._checked_stamp = stamp  # looked at again once it changes or is published
            self._set_pending("waiting", [_("{path}: changed, waits for the desk",
                                            path=self.path)], since)
            return
        if time.monotonic() - self._candidate[1] < self.settle or _stamp(self.path) != stamp:
            message = _("{path}: changed, waiting for the save to end", path=self.path)
            self._set_pending("waiting", [message], since)
            return
        self._checked_stamp = stamp
        now = self.clock()
        try:
            outcome = publish(self.path, self.published_path, now, raw=raw, known=self._version,
                              built=built_mark(self.site_root))
        except ScheduleError as error:
            self._set_pending("invalid", [str(p) for p in error.problems], since)
            return
        except (CannotWrite, PublishedError) as error:
            # Tried again later, the file untouched: a disk full or read-only for a while.
            self._checked_stamp, self._retry_at = None, time.monotonic() + RETRY_SECONDS
            if isinstance(error, HistoryBehind):
                self._alarm("history", _("{error}; still serving {label}", error=error,
                                         label=self._version.label))
            state = "unwritable" if isinstance(error, CannotWrite) else "invalid"
            self._set_pending(state, [_("{error}; the edit is not published", error=error)], since)
            return
        self._published_stamp = self._stamps()
        self.pending, self._retry_at = None, None
        self._alarm("again", None)
        if outcome.written:
            self._check_ahead(now)
            log.info("published %s", describe(outcome))
        self._swap(outcome.version)

    def _swap(self, version: Version) -> None:
        if version.number < self._version.number:
            return  # never go back to an older state
        self._version = version
        log.info("serving %s", version.label)


def site_root_for(schedule: Path) -> Path:
    """Where the site folders of a schedule live by default: beside it (sessions.site/)."""
    return schedule.with_name(schedule.stem + ".site")


CURRENT = "current"  # the link to the folder in service, for nginx and CDNs
# What builds name (folder_of; dotted, with a pid, while built): all they remove of AGENDA_SITE.
BUILT = re.compile(r"\.?v(\d+)-[0-9a-f]+-(-?\d+)-[0-9a-f]+(\.(?:\w+\.)?(\d+)\.tmp(\.old)?)?\Z")


def ensure_site(root: Path, version: Version, now: datetime, previous: builder.Site | None = None,
                damaged: builder.Site | None = None, serve: bool = True,
                served: Callable[[builder.Site], object] = lambda found: None) -> builder.Site:
    """The folder of `version` at `now` under `root`: found, or built under the lock (whoever
    comes first builds). A `damaged` folder is built anew unless another process did. `serve`
    false (a pinned export) leaves `current` alone; `served` gets the folder before pruning."""
    target = root / builder.folder_name(version, now)
    with contextlib.suppress(builder.SiteError):
        found = builder.read_site(target, previous)
        if (damaged is None or found.ino != damaged.ino) and (
                not serve or (root / CURRENT).exists() and _ours(root, target.name)):
            return found
    root.mkdir(exist_ok=True)
    with publishing_lock(root / "site"):
        try:
            found = builder.read_site(target, previous)
            if damaged is not None and found.ino == damaged.ino:
                raise builder.SiteError(f"{target}: damaged")
        except builder.SiteError:  # or incomplete: never served, built anew
            prune(root, {previous.folder.name if previous else ""}, dead_only=True)
            if previous is None or previous is damaged:
                previous = _current(root) if damaged is None else None
            began = time.monotonic()
            found = builder.build(version, now, target, previous)
            log.info("built %s (%s) in %.1f s%s", target.name, version.label,
                     time.monotonic() - began, "" if damaged is None else " (a file was gone)")
        if serve:
            _switch(root, target.name)
        served(found)
        # Under the lock: no folder is renamed in but not current yet. The one before stays.
        aside = prune(root, {target.name, previous.folder.name if previous else ""})
    for folder in aside:  # removed once the others may build or serve (180,000 files)
        shutil.rmtree(folder, ignore_errors=True)
    return found


def find_site(root: Path, mark: Mark, now: datetime, served: builder.Site) -> builder.Site:
    """The complete folder of `mark`'s version holding `now`, at once or after a build; if
    none, `served`, the folder served (entries equal to its own are its own)."""
    for wait in (False, True):
        if wait:  # a data folder that cannot be written has no build under way
            with contextlib.suppress(CannotWrite), publishing_lock(root / "site"):
                pass
        for folder in root.glob(builder.folder_of(mark.version, mark.digest, "*")):
            with contextlib.suppress(builder.SiteError):
                if (found := builder.read_site(folder, served)).holds(now):
                    return found
    return served


def _ours(root: Path, name: str = "") -> bool:
    """Whether `current` names a folder of this release no earlier (version, period) than `name`."""
    served = Path(os.path.realpath(root / CURRENT)).name
    order = [(int(m[1]), int(m[2])) if (m := BUILT.match(n)) else (0, 0) for n in (served, name)]
    return served.endswith(builder.RELEASE[:8]) and order[0] >= order[1]


def _current(root: Path) -> builder.Site | None:
    with contextlib.suppress(OSError, builder.SiteError):
        return builder.read_site(root / os.readlink(root / CURRENT))
    return None


def _switch(root: Path, name: str) -> None:
    """Point `current` at `name` in one rename: nginx sees the old folder or the new one."""
    with contextlib.suppress(OSError):
        if os.readlink(root / CURRENT) == name:
            return
    link = root / f".{CURRENT}.{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(name, link)
    if (root / CURRENT / builder.MANIFEST).is_file() and not (root / CURRENT).is_symlink():
        # A copy of the data folder made a folder of the link (not a folder of someone else's).
        shutil.rmtree(root / CURRENT, ignore_errors=True)
    os.replace(link, root / CURRENT)


def built_mark(root: Path) -> Mark | None:
    """The newest version past the first (the file's alone, built even where nothing is written)
    that a folder in `root` (not dotted) was built from, as a mark: any digest, its mtime."""
    found = [(int(m[1]), p) for p in root.glob("v*") if (m := BUILT.match(p.name)) and m[1] != "1"]
    with contextlib.suppress(ValueError, OSError):  # none, or removed meanwhile
        number, folder = max(found)
        return Mark(number, "", datetime.fromtimestamp(folder.stat().st_mtime, UTC), True)
    return None


def prune(root: Path, keep: set[str], dead_only: bool = False) -> list[Path]:
    """Remove what dead builds left; but with `dead_only`, rename aside (as builds of this process,
    for the caller to remove) the folders but `keep` and the one `current` names (a newer one?)."""
    aside = []
    with contextlib.suppress(OSError):
        keep = keep | {os.readlink(root / CURRENT)}
    for folder in root.iterdir():
        if not folder.is_dir() or folder.is_symlink() or folder.name in keep or not (
                found := BUILT.match(folder.name)) or (dead_only and folder.name[0] != "."):
            continue
        if not folder.name.startswith("."):
            with contextlib.suppress(OSError):
                os.rename(folder, gone := root / f".{folder.name}.{os.getpid()}.tmp.old")
                aside.append(gone)
        elif not (found[4] and builder.alive(int(found[4]), folder)):  # else under way
            shutil.rmtree(folder, ignore_errors=True)
    return aside


def pending_sentence(state: str) -> str:
    """What a Pending state means, in the words of /healthz's readers (from the catalogue)."""
    return {
        "waiting": _("the schedule file changed; it is published once the save has ended"),
        "invalid": _("the schedule file is not published, still serving the version above"),
        "unwritable": _("cannot write the published version; the edit is not published"),
        "missing": _("the schedule file cannot be read; still serving the version above")}[state]


def describe(outcome: Outcome) -> str:
    """One line for the log: the version, the sessions changed, what the feeds announce."""
    history = outcome.version.history
    news = sorted({f"{key} {n.value}" for key, entry in history.sessions.items()
                   for revision in entry.revisions[-1:] if revision.at == history.published
                   for n in revision.news})
    changed = "; ".join(str(c) for c in outcome.changes) or "no session changed"
    return f"{outcome.version.label}: {changed}; the feeds announce: {', '.join(news) or 'nothing'}"
