"""iCalendar routes: the subscription feed, single-session downloads, and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from agenda.render import ical, wording
from agenda.web.respond import (
    Selection,
    content,
    content_of,
    selected,
    selected_by_path,
    serve,
    session_or_404,
    store,
    version,
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
    key: tuple = ("calendar.ics", series_id, city)
    if city is not None and any(s.is_dated for s in sessions):
        # A city's feed is made of its own sessions: a new version that did not
        # touch them takes the body of the last one.
        key = ("city.ics", content_of(lambda s: (s.calendar, series_id, city, sessions)))
    return serve(
        key,
        lambda s: ical.feed_pieces(
            s, sessions, name=wording.publication_title(s, series_id, city),
            # Planned dates have no city yet: a city's feed has none of them.
            series_ids=() if city else ([series_id] if series_id else None),
        ),
        ICAL_TYPE,
        dated_by=lambda s: sessions,
    )


@bp.get("/events/<session_id>.ics")
def session_download(session_id: str) -> Response:
    """One session as a file to import once; undated sessions have no entry yet."""
    session = session_or_404(session_id)
    if not session.is_dated:
        abort(404, description=f"La séance « {session_id} » n’a pas encore de date.")
    return serve(
        ("event.ics", content(session)),
        lambda s: ical.session_bytes(s, session),
        ICAL_TYPE,
        dated_by=lambda s: [session],
        filename=f"{session_id}.ics",
    )


@bp.get("/healthz")
def healthz() -> Response:
    """Which version is served and, when the file on disk is not served, why and since when.

    Always 200 while the service serves, so that a typo in the schedule never
    makes a load balancer drop every instance; `?strict=1` answers 503 while an
    edit is pending, for monitors.
    """
    current = version()
    pending = store().pending
    published = current.published.isoformat() if current.published else "from the file"
    lines = [
        f"ok: serving {current.label}, published {published}, "
        f"{len(current.schedule.sessions)} sessions"
    ]
    if pending is not None:
        lines.append(f"pending since {pending.since.isoformat()}: {PENDING[pending.state]}")
        lines += [f"  {problem}" for problem in pending.problems]
    strict = request.args.get("strict", "") not in ("", "0", "false")
    status = 503 if strict and pending is not None else 200
    response = Response("\n".join(lines) + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


PENDING = {
    "waiting": "the schedule file changed; it is published once the save has ended",
    "invalid": "the schedule file is not published, still serving the version above",
    "unwritable": "cannot write the published version; the edit is not published",
    "missing": "the schedule file cannot be read; still serving the version above",
}
