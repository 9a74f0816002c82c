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

from agenda.export import site_paths
from agenda.published import Version
from agenda.web.respond import PIN, inherit

log = logging.getLogger(__name__)


def paths_to_build(version: Version) -> list[str]:
    """The URLs whose bodies a version gets before it is served: all but the PNG cards."""
    return [p for p in site_paths(version.schedule) if not p.endswith(".png")]


def prebuild(app: Flask, old: Version | None, new: Version) -> None:
    """Build every body of `new`, taking `old`'s where what they are made of did not change."""
    began = time.perf_counter()
    if old is not None and old is not new:
        inherit(old, new)
    host = urlsplit(new.schedule.calendar.base_url)
    paths = paths_to_build(new)
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
