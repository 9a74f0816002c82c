"""RSS and Atom routes (issue 3): announcements for journalists, optionally filtered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from flask import Blueprint, Response

from agenda.model import Schedule, Session
from agenda.render import feeds, links, wording
from agenda.web.respond import clock, schedule, selected, serve

bp = Blueprint("feeds", __name__)

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"

Renderer = Callable[[Schedule, Iterable[Session], str | None, str, datetime | None], bytes]


@bp.get("/rss.xml")
def rss() -> Response:
    """RSS 2.0: one item per announced session, optionally narrowed by ?series= and ?city=."""
    return _feed("rss.xml", feeds.rss_bytes, RSS_TYPE)


@bp.get("/atom.xml")
def atom() -> Response:
    """Atom 1.0: one entry per announced session, optionally narrowed by ?series= and ?city=."""
    return _feed("atom.xml", feeds.atom_bytes, ATOM_TYPE)


def _feed(name: str, render: Renderer, content_type: str) -> Response:
    (series_id, city), _ = selected()
    title = wording.publication_title(schedule(), series_id, city)
    query = links.filter_query(series_id, city)
    now = clock()

    def published(current: Schedule) -> tuple[Session, ...]:
        # An announcement dated in the future is held back until then: the file
        # can be prepared ahead of the press release.
        return tuple(
            s for s in current.select(series=series_id, city=city)
            if s.announced is not None and s.announced <= now
        )

    def due(current: Schedule) -> tuple[tuple[str, int], ...]:
        # Which entries are out: the announced sessions and how many of their changes.
        return tuple((e.id, len(feeds.news([e], now))) for e in published(current))

    entries = published(schedule())
    # Last-Modified must agree with the feed's own updated (feeds.feed_updated),
    # which falls back to the whole schedule when no entry is left.
    dated_by = entries or schedule().sessions
    return serve(
        lambda s: (name, series_id, city, due(s)),
        lambda s: render(s, published(s), title, query, now),
        content_type,
        dated_by,
    )
