"""Holds the current schedule and what has been rendered from it.

The schedule file is read once and re-read only when it changes on disk. A bad
edit never takes the service down or loses what is published: the last good
schedule stays in service and the problems go to the log. Rendered bytes are
kept per schedule version, so a request costs a dictionary look-up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from agenda.errors import ScheduleError
from agenda.loader import load_schedule
from agenda.model import Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rendered:
    """Bytes ready to serve and their strong validator."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Rendered:
        """Wrap bytes, deriving the ETag from the bytes alone."""
        return cls(body, hashlib.sha256(body).hexdigest()[:32])


class ScheduleStore:
    """The schedule in service, reloaded when its file changes, with a render cache."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        # The schedule and the cache built from it change together, as one tuple.
        self._state: tuple[Schedule, dict[Hashable, Rendered]] = (
            load_schedule(self.path),  # a bad file at start-up is fatal
            {},
        )

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    @property
    def schedule(self) -> Schedule:
        """The current schedule, reloading it first if the file changed and is valid."""
        return self._current()[0]

    def _current(self) -> tuple[Schedule, dict[Hashable, Rendered]]:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp)
        return self._state

    def _reload(self, stamp: tuple[int, int] | None) -> None:
        self._stamp = stamp
        try:
            fresh = load_schedule(self.path)
        except ScheduleError as exc:
            log.error(
                "schedule file changed but is invalid; still serving the previous version:\n%s",
                exc,
            )
            return
        self._state = (fresh, {})
        log.info("schedule reloaded from %s", self.path)

    def render(
        self, key: Hashable | Callable[[Schedule], Hashable], build: Callable[[Schedule], bytes]
    ) -> Rendered:
        """Bytes for `key` from the current schedule, built at most once per schedule version.

        `key` may be a function of the schedule, for keys that depend on its
        content: it then sees the very schedule the bytes are built from.
        """
        schedule, cache = self._current()
        if callable(key):
            key = key(schedule)
        found = cache.get(key)
        if found is None:
            found = Rendered.of(build(schedule))
            cache[key] = found
        return found
