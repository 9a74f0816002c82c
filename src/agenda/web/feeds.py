"""RSS and Atom routes (issue 3): announcements for journalists, optionally filtered."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from flask import Blueprint, Response

from agenda.model import Schedule, Session, latest_update
from agenda.render import feeds, links, wording
from agenda.web.respond import (
    Selection,
    clock,
    content_of,
    passed,
    schedule,
    selected,
    selected_by_path,
    serve,
)

bp = Blueprint("feeds", __name__)

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"

Renderer = Callable[
    [Schedule, Iterable[Session], str | None, str, datetime | None, str, Sequence[Session]], bytes
]
FORMATS: dict[str, tuple[Renderer, str]] = {
    "rss.xml": (feeds.rss_bytes, RSS_TYPE),
    "atom.xml": (feeds.atom_bytes, ATOM_TYPE),
}


@bp.get("/rss.xml")
def rss() -> Response:
    """RSS 2.0: one item per announced session, optionally narrowed by ?series= and ?city=."""
    return _query_form("rss.xml")


@bp.get("/atom.xml")
def atom() -> Response:
    """Atom 1.0: one entry per announced session, optionally narrowed by ?series= and ?city=."""
    return _query_form("atom.xml")


@bp.get("/series/<series_id>/<any('rss.xml', 'atom.xml'):name>")
def series_feed(series_id: str, name: str) -> Response:
    """A news feed of one series: the path form of ?series=, which static hosts can serve."""
    selection = selected_by_path(series_id=series_id)
    return _feed(name, selection, links.series_doc_path(series_id, name), "")


@bp.get("/cities/<city_slug>/<any('rss.xml', 'atom.xml'):name>")
def city_feed(city_slug: str, name: str) -> Response:
    """A news feed of one city: the path form of ?city=, which static hosts can serve."""
    selection = selected_by_path(city_slug=city_slug)
    (_, city), _ = selection
    assert city is not None
    return _feed(name, selection, links.city_doc_path(city, name), "")


def _query_form(name: str) -> Response:
    selection = selected()
    (series_id, city), _ = selection
    return _feed(name, selection, "/" + name, links.filter_query(series_id, city))


def dated_by_the_schedule(selected: Sequence[Session]) -> bool:
    """True when a feed of these sessions is dated by the whole schedule's latest change.

    That is when none of them has a revision time of its own (an announced
    session always has one): such a feed changes with any edit, so it is not
    kept by what it is made of, and every new version builds it again.
    """
    return latest_update(selected) is None


def _feed(name: str, selection: Selection, path: str, query: str) -> Response:
    """The feed `name` of the selected sessions; `path` and `query` make its own URL."""
    render, content_type = FORMATS[name]
    (series_id, city), chosen = selection
    title = wording.publication_title(schedule(), series_id, city)
    now = clock()

    def published(current: Schedule) -> tuple[Session, ...]:
        # An announcement dated in the future is held back until then: the file
        # can be prepared ahead of the press release.
        return tuple(s for s in chosen if s.announced is not None and s.announced <= now)

    def dated_by(current: Schedule) -> tuple[Session, ...]:
        # Last-Modified must agree with the feed's own updated (feeds.feed_updated),
        # which falls back to the sessions it is about, then the whole schedule.
        entries = published(current)
        return current.sessions if dated_by_the_schedule(chosen) else entries or chosen

    # The feed depends on the clock only through which announcements and
    # revisions are due: their count is in the key.
    due = passed("news", now)
    key: tuple = (path, query, due)
    if city is not None and not dated_by_the_schedule(chosen):
        # A city's feed is made of its own sessions (and the press contacts): a
        # new version that did not touch them takes the body of the last one.
        key = (name, content_of(lambda s: (
            s.calendar, s.contacts, title, path, query, chosen,
            tuple(len(feeds.news([e], now)) for e in published(s)),
        )))
    return serve(
        key,
        lambda s: render(s, published(s), title, query, now, path, chosen),
        content_type,
        dated_by=dated_by,
    )
