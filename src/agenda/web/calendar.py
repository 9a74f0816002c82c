"""iCalendar routes: the subscription feed, single-session downloads, and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from agenda.render import ical, wording
from agenda.web.respond import schedule, selected, serve, session_or_404

bp = Blueprint("calendar", __name__)

ICAL_TYPE = "text/calendar; charset=utf-8"


@bp.get("/calendar.ics")
def feed() -> Response:
    """Every dated session, optionally narrowed by ?series= and ?city=."""
    (series_id, city), sessions = selected()
    name = wording.publication_title(schedule(), series_id, city)
    return serve(
        ("calendar.ics", series_id, city),
        lambda s: ical.feed_bytes(
            s, s.select(series=series_id, city=city), name=name,
            # Planned dates have no city yet: a city's feed has none of them.
            series_ids=() if city else ([series_id] if series_id else None),
        ),
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
