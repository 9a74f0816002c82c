"""iCalendar routes: the subscription feed, single-session downloads, and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from agenda.render import ical, wording
from agenda.web.respond import (
    Selection,
    schedule,
    selected,
    selected_by_path,
    serve,
    session_or_404,
)

bp = Blueprint("calendar", __name__)

ICAL_TYPE = "text/calendar; charset=utf-8"


@bp.get("/calendar.ics")
def feed() -> Response:
    """Every dated session, optionally narrowed by ?series= and ?city=."""
    return _feed(selected())


@bp.get("/series/<series_id>/calendar.ics")
def series_feed(series_id: str) -> Response:
    """The sessions of one series: the path form of ?series=, which static hosts can serve."""
    return _feed(selected_by_path(series_id=series_id))


@bp.get("/cities/<city_slug>/calendar.ics")
def city_feed(city_slug: str) -> Response:
    """The sessions in one city: the path form of ?city=, which static hosts can serve."""
    return _feed(selected_by_path(city_slug=city_slug))


def _feed(selection: Selection) -> Response:
    # The calendar holds no URL of its own: both forms of a filter share one body.
    (series_id, city), sessions = selection
    name = wording.publication_title(schedule(), series_id, city)
    return serve(
        ("calendar.ics", series_id, city),
        lambda s: ical.feed_bytes(s, s.select(series=series_id, city=city), name=name),
        ICAL_TYPE,
        sessions,
    )


@bp.get("/events/<session_id>.ics")
def session_download(session_id: str) -> Response:
    """One session as a file to import once; undated sessions have no entry yet."""
    session = session_or_404(session_id)
    if not session.is_dated:
        abort(404, description=f"La séance « {session_id} » n’a pas encore de date.")
    return serve(
        ("event.ics", session_id),
        lambda s: ical.session_bytes(s, s.session(session_id) or session),
        ICAL_TYPE,
        [session],
        filename=f"{session_id}.ics",
    )


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness and the number of sessions in service."""
    current = schedule()
    return Response(f"ok {len(current.sessions)} sessions\n", mimetype="text/plain")
