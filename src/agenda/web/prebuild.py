"""Every body of a version built before the version is served.

A new version is prepared while the previous one keeps serving: the bodies of
sessions that did not change are carried over from it, then every URL of the
site is requested once through the app itself, pinned to the new version, so
that the bytes are exactly what a request would have built. Social cards are
left to their first request (drawing one takes a fifth of a second); they are
carried over like the rest.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from agenda.export import site_paths
from agenda.published import Version
from agenda.web.respond import PIN, carry_over

log = logging.getLogger(__name__)


def paths_to_build(version: Version) -> list[str]:
    """The URLs whose bodies a version gets before it is served: all but the PNG cards."""
    return [p for p in site_paths(version.schedule) if not p.endswith(".png")]


def prebuild(app: Flask, old: Version | None, new: Version) -> None:
    """Build every body of `new` (reusing `old`'s where its sessions did not change)."""
    began = time.perf_counter()
    carried = carry_over(old, new) if old is not None and old is not new else 0
    client = app.test_client()
    paths = paths_to_build(new)
    for path in paths:
        client.get(path, environ_overrides={PIN: new})
    log.info(
        "built %s: %d URLs in %.2f s (%d bodies carried over)",
        new.label, len(paths), time.perf_counter() - began, carried,
    )
