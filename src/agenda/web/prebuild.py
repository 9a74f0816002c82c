"""Every body of a version built before the version is served.

A new version is prepared while the previous one keeps serving: every URL of
the site is requested once through the app itself, pinned to the new version,
so that the bytes are exactly what a request would have built. Bodies go to
the body store (agenda.bodies), not to memory; one already there (made of the
same sessions by an earlier version, another worker or before a restart) is
not built again. Social cards are left to their first request (drawing one
takes a fifth of a second), then kept like the rest.

After a whole build the store forgets what the version does not use; after
an edit, what neither this version nor the one before uses.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import time

from flask import Flask

from agenda.export import city_paths, global_paths, series_paths, session_paths, site_paths
from agenda.model import Schedule, Session
from agenda.published import Version
from agenda.web import internal
from agenda.web.feeds import dated_by_the_schedule
from agenda.web.respond import LAZY, PIN, PREBUILDING, schedule_digest

log = logging.getLogger(__name__)


def paths_to_build(version: Version, old: Version | None = None) -> list[str]:
    """The URLs whose bodies `version` builds before it is served, cards included.

    After `old`, only those that may differ: the documents of the whole
    schedule and of each series, and those of the sessions and cities that changed.
    The others are in the store already, under the same names.
    """
    schedule = version.schedule
    if old is None or not _same_context(old.schedule, schedule):
        paths = site_paths(schedule)
    else:
        before = {s.id: s for s in old.schedule.sessions}
        changed = [s for s in schedule.sessions if before.get(s.id) != s]
        now_ids = {s.id for s in schedule.sessions}
        # A session that moved city or left touches the documents it was in too.
        touched = [*changed, *(before[s.id] for s in changed if s.id in before),
                   *(before[i] for i in before.keys() - now_ids)]
        cities = {s.city for s in touched} | _cities_dated_by_the_schedule(schedule)
        paths = global_paths()
        # A series' feeds are named within their version, like the whole schedule's.
        for series in schedule.series:
            paths += series_paths(series.id)
        for city in sorted(cities & schedule.cities()):
            paths += city_paths(city)
        for session in changed:
            paths += session_paths(session)
        paths = list(dict.fromkeys(paths))
    return paths


def _same_context(old: Schedule, new: Schedule) -> bool:
    """True when what every document shows besides its sessions is the same."""
    return (old.calendar, old.series, old.contacts, old.planned) == (
        new.calendar, new.series, new.contacts, new.planned
    )


def _cities_dated_by_the_schedule(schedule: Schedule) -> set[str]:
    """Cities whose news feeds every version builds again (web/feeds.py says which)."""
    by_city: dict[str, list[Session]] = {}
    for session in schedule.sessions:
        by_city.setdefault(session.city, []).append(session)
    return {city for city, sessions in by_city.items() if dated_by_the_schedule(sessions)}


def prebuild(app: Flask, old: Version | None, new: Version) -> None:
    """Build every body of `new` that the store lacks, then sweep the store."""
    began = time.perf_counter()
    previous = old if old is not None and old is not new else None
    base_url = new.schedule.calendar.base_url
    paths = paths_to_build(new, previous)
    whole = previous is None or len(paths) == len(site_paths(new.schedule))
    if paths:
        # Workers that build one version at once start at different places: each
        # then finds much of what the others built, rather than building it too.
        turn = (os.getpid() * 7919) % len(paths)
        paths = paths[turn:] + paths[:turn]
    built = app.extensions["agenda.built"].count
    names: list[str] = []
    store = app.extensions["agenda.bodies"]
    with store.batch():
        for path in paths:
            _get(app, new, path, base_url, names)
    if not whole and previous is not None:
        # What the previous version made of the sessions this one replaced: the
        # same URLs, named (not built) as the previous version answered them.
        replaced: list[str] = []
        for path in paths_to_build(previous, new):
            _get(app, previous, path, base_url, replaced, lazy=True)
        store.forget(set(replaced) - set(names))
    kept = [schedule_digest(v) for v in (new, previous) if v is not None]
    store.sweep(kept, live=names if whole else None)
    if previous is not None:
        app.extensions["agenda.hot"].drop(previous.cache)
    _give_back_memory()
    log.info("built %s: %d URLs, %d bodies new, in %.2f s", new.label, len(paths),
             app.extensions["agenda.built"].count - built, time.perf_counter() - began)


def _give_back_memory() -> None:
    """After a build, hand the memory its pieces used back to the system, not only to Python.

    glibc keeps freed heap pages for the process unless asked (malloc_trim);
    elsewhere this does nothing.
    """
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _get(app: Flask, pinned: Version, path: str, base_url: str, names: list[str],
         lazy: bool = False) -> None:
    """One GET pinned to a version, naming (and building if need be) its answer, dropped."""
    # Cards are drawn on first request; the prebuild only names them, to keep them.
    extra = {PIN: pinned, PREBUILDING: names, LAZY: lazy or path.endswith(".png")}
    internal.get(app, path, base_url, extra=extra, keep_body=False)
