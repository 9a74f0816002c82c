"""Every body of a version built before the version is served.

A new version is prepared while the previous one keeps serving: every URL of
the site is requested once through the app itself, pinned to the new version,
so that the bytes are exactly what a request would have built; a body made of
the same things as in the previous version (a session's page, its .ics, a
city's feeds) is taken from it rather than built again. Social cards are left
to their first request (drawing one takes a fifth of a second); they are taken
from the previous version in the same way.
"""

from __future__ import annotations

import io
import logging
import time
from urllib.parse import urlsplit

from flask import Flask

from agenda.export import city_paths, global_paths, series_paths, session_paths, site_paths
from agenda.model import Schedule, Session
from agenda.published import Version
from agenda.web.feeds import dated_by_the_schedule
from agenda.web.respond import PIN, inherit

log = logging.getLogger(__name__)


def paths_to_build(version: Version, old: Version | None = None) -> list[str]:
    """The URLs whose bodies `version` builds before it is served: all but the PNG cards.

    After `old`, only those that may differ: the documents of the whole
    schedule, and those of the sessions, cities and series that changed.
    The others keep `old`'s bodies, taken on their first request.
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
        for series_id in sorted({s.series.id for s in touched}):
            paths += series_paths(series_id)
        for city in sorted(cities & schedule.cities()):
            paths += city_paths(city)
        for session in changed:
            paths += session_paths(session)
        paths = list(dict.fromkeys(paths))
    return [p for p in paths if not p.endswith(".png")]


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
    """Build every body of `new`, taking `old`'s where what they are made of did not change."""
    began = time.perf_counter()
    previous = old if old is not None and old is not new else None
    if previous is not None:
        inherit(previous, new)
    host = urlsplit(new.schedule.calendar.base_url)
    paths = paths_to_build(new, previous)
    for path in paths:
        _get(app, new, path, host.hostname or "localhost", host.scheme or "https")
    log.info("built %s: %d URLs in %.2f s", new.label, len(paths), time.perf_counter() - began)


def _get(app: Flask, pinned: Version, path: str, host: str, scheme: str) -> None:
    """One GET through the app's WSGI callable, pinned to a version; the answer is dropped.

    Straight through WSGI rather than Flask's test client, which costs more
    than building a body that is already there.
    """
    route, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        PIN: pinned,
    }
    answer = app.wsgi_app(environ, lambda status, headers, exc_info=None: None)
    try:
        for _ in answer:
            pass
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
