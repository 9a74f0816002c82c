"""HTML pages, JSON and the embed (issue 4), and the security headers of every response.

Routes stay thin: they read the clock once, pick the cache key and hand a pure
renderer to `serve`. Pages depend on the clock only through which sessions are
past, so that is what their cache key holds: the ETag changes when a session
ends, not on every request.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app

from agenda.render import html, json_api
from agenda.web.respond import schedule, serve, session_or_404

bp = Blueprint("pages", __name__)

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
# No inline script or style, nothing from other hosts. The JSON-LD block is data,
# not script, so it needs no exception.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
NO_FRAMING = POLICY + "; frame-ancestors 'none'"
# Only the embed is meant to be shown inside another site's <iframe>.
ANY_FRAMING = POLICY + "; frame-ancestors *"


def clock() -> datetime:
    """The time pages are rendered for: AGENDA_NOW when configured (screenshots), else now."""
    pinned = current_app.config.get("AGENDA_NOW")
    if pinned is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(pinned) if isinstance(pinned, str) else pinned
    if moment.tzinfo is None:
        raise ValueError("AGENDA_NOW needs a UTC offset, such as 2021-05-17T12:00:00+02:00")
    return moment


@bp.get("/")
def agenda() -> Response:
    """The agenda: upcoming sessions, then past ones, and how to subscribe."""
    current, now = schedule(), clock()
    return serve(
        lambda s: ("agenda.html", html.past_ids(s, now)),
        lambda s: html.agenda_page(s, now),
        HTML_TYPE,
        current.sessions,
        modified=html.last_ended(current, now),
    )


@bp.get("/events/<session_id>")
def session_page(session_id: str) -> Response:
    """One session's page; an unknown id is a 404."""
    session = session_or_404(session_id)
    now = clock()
    past = session.id in schedule().ended_ids(now)
    return serve(
        lambda s: ("event.html", session_id, session_id in s.ended_ids(now)),
        lambda s: html.session_page(s, s.session(session_id) or session, now),
        HTML_TYPE,
        [session],
        modified=session.end if past else None,
    )


@bp.get("/embed")
def embed() -> Response:
    """Upcoming sessions, compact, for an <iframe> on the CEPS site."""
    current, now = schedule(), clock()
    response = serve(
        lambda s: ("embed.html", html.past_ids(s, now)),
        lambda s: html.embed_page(s, now),
        HTML_TYPE,
        current.sessions,
        modified=html.last_ended(current, now),
    )
    response.headers["Content-Security-Policy"] = ANY_FRAMING
    return response


@bp.get("/events.json")
def events_json() -> Response:
    """Every session as JSON, readable from any site's JavaScript."""
    current = schedule()
    return _cors(serve(("events.json",), json_api.events_bytes, JSON_TYPE, current.sessions))


@bp.get("/events/<session_id>.json")
def session_json(session_id: str) -> Response:
    """One session as JSON."""
    session = session_or_404(session_id)
    return _cors(serve(
        ("event.json", session_id),
        lambda s: json_api.session_bytes(s, s.session(session_id) or session),
        JSON_TYPE,
        [session],
    ))


def _cors(response: Response) -> Response:
    # Public data: the CEPS site (or anyone) may fetch it from a browser.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """Headers every response carries; a route may have set its own CSP first (the embed)."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = NO_FRAMING
    if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers.setdefault("X-Frame-Options", "DENY")  # for browsers without CSP level 2
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response
