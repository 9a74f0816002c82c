"""HTML pages, JSON and the embed (issue 4), and the security headers of every response.

Routes stay thin: they read the clock once, pick the cache key and hand a pure
renderer to `serve`. Pages depend on the clock only through which sessions are
past, so that is what their cache key holds: the ETag changes when a session
ends, not on every request.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from agenda.render import cards, html, json_api, links
from agenda.web.respond import (
    clock,
    content,
    is_past,
    last_passed,
    passed,
    serve,
    session_or_404,
)

bp = Blueprint("pages", __name__)

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
PNG_TYPE = "image/png"
SCHEMA_TYPE = "application/schema+json"
# No inline script or style, nothing from other hosts. The JSON-LD block is data,
# not script, so it needs no exception.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
NO_FRAMING = POLICY + "; frame-ancestors 'none'"
# Only the embed is meant to be shown inside another site's <iframe>.
ANY_FRAMING = POLICY + "; frame-ancestors *"


@bp.get("/")
def agenda() -> Response:
    """The agenda: upcoming sessions, then past ones, and how to subscribe."""
    now = clock()
    return serve(
        ("agenda.html", passed("ends", now)),
        lambda s: html.agenda_page(s, now),
        HTML_TYPE,
        dated_by=lambda s: s.sessions,
        modified=last_passed("ends", now),
    )


@bp.get("/events/<session_id>")
def session_page(session_id: str) -> Response:
    """One session's page; an unknown id is a 404."""
    session = session_or_404(session_id)
    now = clock()
    past = is_past(session, now)
    return serve(
        ("event.html", content(session), past),
        lambda s: html.session_page(s, session, now),
        HTML_TYPE,
        dated_by=lambda s: [session],
        modified=session.end if past else None,
    )


@bp.get("/card.png")
def agenda_card() -> Response:
    """The agenda's social card (og:image of /): its name and the next session."""
    now = clock()
    return serve(
        ("card.png", passed("ends", now)),
        lambda s: cards.agenda_card(s, now),
        PNG_TYPE,
        dated_by=lambda s: s.sessions,
        modified=last_passed("ends", now),
    )


@bp.get("/events/<session_id>/card.png")
def session_card(session_id: str) -> Response:
    """A session's social card (og:image of its page); an unknown id is a 404."""
    session = session_or_404(session_id)
    now = clock()
    past = is_past(session, now)
    return serve(
        ("event-card.png", content(session), past),
        lambda s: cards.session_card(s, session, now),
        PNG_TYPE,
        dated_by=lambda s: [session],
        modified=session.end if past else None,
    )


@bp.get("/embed")
def embed() -> Response:
    """Upcoming sessions, compact, for an <iframe> on the CEPS site."""
    now = clock()
    response = serve(
        ("embed.html", passed("ends", now)),
        lambda s: html.embed_page(s, now),
        HTML_TYPE,
        dated_by=lambda s: s.sessions,
        modified=last_passed("ends", now),
    )
    response.headers["Content-Security-Policy"] = ANY_FRAMING
    return response


def _described(response: Response) -> Response:
    # RFC 8288 'describedby': where a client finds the schema of this document.
    response.headers["Link"] = f'<{links.EVENTS_SCHEMA_PATH}>; rel="describedby"'
    return response


@bp.get("/events.json")
def events_json() -> Response:
    """Every session as JSON, readable from any site's JavaScript."""
    return _described(
        serve(("events.json",), json_api.events_bytes, JSON_TYPE, dated_by=lambda s: s.sessions)
    )


@bp.get("/events/<session_id>.json")
def session_json(session_id: str) -> Response:
    """One session as JSON."""
    session = session_or_404(session_id)
    return _described(serve(
        ("event.json", content(session)),
        lambda s: json_api.session_bytes(s, session),
        JSON_TYPE,
        dated_by=lambda s: [session],
    ))


@bp.get("/schemas/events.json")
def events_schema() -> Response:
    """The JSON Schema of /events.json and /events/<id>.json."""
    return serve(("events.schema.json",), json_api.schema_bytes, SCHEMA_TYPE)


def _cors(response: Response) -> None:
    # Public data: the CEPS site (or anyone) may fetch it from a browser, errors
    # included (else a 404 looks like a network failure), and revalidate it.
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Link"
    if request.method == "OPTIONS":  # the preflight of a conditional fetch()
        headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
        headers["Access-Control-Max-Age"] = "86400"


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """Headers every response carries; a route may have set its own CSP first (the embed)."""
    headers = response.headers
    if request.path.endswith(".json"):
        _cors(response)
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = NO_FRAMING
    if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers.setdefault("X-Frame-Options", "DENY")  # for browsers without CSP level 2
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response
