"""The version in service in this process, kept in step with the published file.

A request takes one Version (`current()`) and builds its answer from it alone.
A watcher (a thread per process, or each request in tests) looks at two files:
- the published version (`sessions.published.json`): when another process
  published, this one loads what it wrote;
- the schedule file: once it has stopped changing for `settle` seconds and
  differs from what is served, this process publishes it under the lock.
An invalid edit, a partial save or a dropped session never changes what is
served; it is reported as `pending` (for /healthz) with the problems and the
time the file was saved.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agenda.errors import ScheduleError
from agenda.model import Schedule
from agenda.published import (
    CannotWrite,
    PublishedError,
    Version,
    digest_of,
    digest_of_file,
    first_version,
    publish,
    published_path,
    read_schedule_bytes,
    read_version,
)

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # a save in progress rarely pauses this long between writes
POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Pending:
    """An edit on disk that is not served: why, and since when (the file's modification time)."""

    state: str  # "waiting", "invalid", "unwritable", "missing"
    problems: tuple[str, ...]
    since: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


class VersionStore:
    """The published version this process serves, with its render cache."""

    def __init__(
        self,
        path: str | Path,
        published: str | Path | None = None,
        settle: float = SETTLE_SECONDS,
        watch: bool = True,
        clock: Callable[[], datetime] = _utc_now,
        autopublish: bool = True,
    ) -> None:
        """Load the latest published version, publishing the file first if it has none.

        Raises ScheduleError when there is nothing valid to serve at all: no
        published version and an invalid schedule file.
        """
        self.path = Path(path)
        self.published_path = Path(published) if published else published_path(self.path)
        self.settle = settle
        self.watch = watch
        self.clock = clock
        self.autopublish = autopublish  # False: a saved edit waits for the desk's « Publier »
        self.pending: Pending | None = None
        self._poll_lock = threading.Lock()
        self._watcher_pid: int | None = None
        self._published_stamp = _stamp(self.published_path)
        self._checked_stamp: tuple[int, int, int] | None = None
        self._candidate: tuple[tuple[int, int, int], float] | None = None
        # Called with (old, new) before a new version is served: the web layer
        # builds every body of `new` there, while `old` keeps serving.
        self.prepare: Callable[[Version | None, Version], None] | None = None
        self._version = self._start()
        self.poll()

    # --- start-up -----------------------------------------------------------------

    def _start(self) -> Version:
        try:
            found = read_version(self.published_path, str(self.path))
        except PublishedError as error:
            log.error("%s; publishing the schedule file anew", error)
            found = None
        if found is not None:
            return found
        # Nothing published yet: the first version comes from the file alone
        # (its times from the file, not the clock), so any process derives the
        # same one. Write it if we can; serve it either way. It is parsed once:
        # publishing reuses it when the file still has nothing published.
        raw = read_schedule_bytes(self.path)
        version = first_version(raw, str(self.path))
        try:
            outcome = publish(self.path, self.published_path, self.clock(), raw=raw, first=version)
            version = outcome.version
        except CannotWrite as error:
            log.warning("%s; serving the first version from memory", error)
            self._set_pending("unwritable", [str(error)], self._file_time())
        except (ScheduleError, PublishedError) as error:
            log.warning("first publication refused: %s", error)
        self._published_stamp = _stamp(self.published_path)
        self._checked_stamp = _stamp(self.path)
        return version

    # --- serving ------------------------------------------------------------------

    def served(self) -> Version:
        """The version served now, without looking at the files."""
        return self._version

    def current(self) -> Version:
        """The version to answer this request from."""
        if not self.watch:
            self.poll()
        elif self._watcher_pid != os.getpid():
            # First request of this process (a gunicorn worker forked from a
            # master that loaded the app long ago): catch up before answering.
            self._watcher_pid = os.getpid()
            self._poll_lock = threading.Lock()  # a lock copied by fork may look held
            self.poll()
            self._start_watcher()
        return self._version

    @property
    def schedule(self) -> Schedule:
        """The schedule of the current version."""
        return self.current().schedule

    # --- watching -----------------------------------------------------------------

    def _start_watcher(self) -> None:
        # After a fork (gunicorn workers) the parent's thread is gone: start one per process.
        thread = threading.Thread(target=self._watch_loop, name="agenda-watch", daemon=True)
        thread.start()

    def _watch_loop(self) -> None:
        while True:
            time.sleep(min(POLL_SECONDS, max(self.settle / 2, 0.05)))
            try:
                self.poll()
            except Exception:  # the watcher must outlive any surprise; it is logged
                log.exception("watching the schedule failed")

    def poll(self) -> None:
        """Catch up with the published file, and publish a settled edit of the schedule."""
        if not self._poll_lock.acquire(blocking=False):
            return  # another thread of this process is at it
        try:
            self._follow_published()
            self._consider_file()
        finally:
            self._poll_lock.release()

    def _follow_published(self) -> None:
        stamp = _stamp(self.published_path)
        if stamp == self._published_stamp or stamp is None:
            return
        try:
            found = read_version(self.published_path, str(self.path), self._version)
        except PublishedError as error:
            log.error("%s; still serving %s", error, self._version.label)
            return
        self._published_stamp = stamp
        current = self._version
        if found is not None and (found.number, found.digest) != (current.number, current.digest):
            self._swap(found)

    def _file_time(self) -> datetime:
        try:
            return datetime.fromtimestamp(os.stat(self.path).st_mtime, UTC)
        except OSError:
            return self.clock()

    def _set_pending(self, state: str, problems: list[str], since: datetime) -> None:
        self.pending = Pending(state, tuple(problems), since)

    def _consider_file(self) -> None:
        stamp = _stamp(self.path)
        if stamp is not None and stamp == self._checked_stamp:
            return
        if stamp is None:
            self._set_pending("missing", [f"{self.path}: cannot read the file"], self.clock())
            self._checked_stamp = None
            return
        since = datetime.fromtimestamp(stamp[0] / 1e9, UTC)
        if digest_of_file(self.path) == self._version.digest:
            # The text served (as after a restart): known without holding the file's bytes.
            self.pending = None
            self._checked_stamp = stamp
            return
        try:
            raw = read_schedule_bytes(self.path)
        except ScheduleError as error:
            self._set_pending("invalid", [str(p) for p in error.problems], since)
            self._checked_stamp = stamp
            return
        if digest_of(raw) == self._version.digest:
            self.pending = None
            self._checked_stamp = stamp
            return
        # A save may be in progress: publish only once the file has kept the same
        # size, inode and modification time for `settle` seconds of our own clock
        # (not the file's, which may come from another machine).
        if self._candidate is None or self._candidate[0] != stamp:
            self._candidate = (stamp, time.monotonic())
        settled = time.monotonic() - self._candidate[1] >= self.settle
        if not self.autopublish:
            self._set_pending("waiting", [f"{self.path}: changed, waits for the desk"], since)
            return
        if not settled or _stamp(self.path) != stamp:
            self._set_pending("waiting", [f"{self.path}: changed, waiting for the save to end"],
                              since)
            return
        self._checked_stamp = stamp
        try:
            outcome = publish(
                self.path, self.published_path, self.clock(), raw=raw, known=self._version
            )
        except ScheduleError as error:
            problems = [str(p) for p in error.problems]
            self._set_pending("invalid", problems, since)
            log.error("%s is not published; still serving %s:\n%s",
                      self.path, self._version.label, "\n".join(problems))
            return
        except CannotWrite as error:
            self._set_pending("unwritable", [f"{error}; the edit is not published"], since)
            log.error("%s; still serving %s", error, self._version.label)
            return
        except PublishedError as error:
            self._set_pending("invalid", [str(error)], since)
            log.error("%s", error)
            return
        self._published_stamp = _stamp(self.published_path)
        self.pending = None
        if outcome.written:
            log.info("published %s: %s", outcome.version.label,
                     "; ".join(str(c) for c in outcome.changes) or "no session changed")
        self._swap(outcome.version)

    def _swap(self, version: Version) -> None:
        if version.number < self._version.number:
            return  # never go back to an older state
        if self.prepare is not None:
            self.prepare(self._version, version)
        self._version = version
        log.info("serving %s", version.label)

