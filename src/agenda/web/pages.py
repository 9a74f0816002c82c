"""HTML pages, JSON and the embed (issue 4), and the security headers of every response.

Routes stay thin: they read the clock once, pick the cache key and hand a pure
renderer to `serve`. Pages depend on the clock only through which sessions are
past, so that is what their cache key holds: the ETag changes when a session
ends, not on every request.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from agenda.render import cards, html, json_api, links
from agenda.web.headers import ANY_FRAMING, CORS_PREFLIGHT, NO_FRAMING, security
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


@bp.get("/")
def agenda() -> Response:
    """The agenda: upcoming sessions, then past ones, and how to subscribe."""
    now = clock()
    return serve(
        ("agenda.html", passed("ends", now)),
        lambda s: html.agenda_pieces(s, now),
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
    return serve(
        ("embed.html", passed("ends", now)),
        lambda s: html.embed_pieces(s, now),
        HTML_TYPE,
        dated_by=lambda s: s.sessions,
        modified=last_passed("ends", now),
        policy=ANY_FRAMING,
    )


# RFC 8288 'describedby': where a client finds the schema of this document.
DESCRIBED = (("Link", f'<{links.EVENTS_SCHEMA_PATH}>; rel="describedby"'),)


@bp.get("/events.json")
def events_json() -> Response:
    """Every session as JSON, readable from any site's JavaScript."""
    return serve(("events.json",), json_api.events_pieces, JSON_TYPE,
                 dated_by=lambda s: s.sessions, headers=DESCRIBED)


@bp.get("/events/<session_id>.json")
def session_json(session_id: str) -> Response:
    """One session as JSON."""
    session = session_or_404(session_id)
    return serve(
        ("event.json", content(session)),
        lambda s: json_api.session_bytes(s, session),
        JSON_TYPE,
        dated_by=lambda s: [session],
        headers=DESCRIBED,
    )


@bp.get("/schemas/events.json")
def events_schema() -> Response:
    """The JSON Schema of /events.json and /events/<id>.json."""
    return serve(("events.schema.json",), json_api.schema_bytes, SCHEMA_TYPE)


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """Headers every answer carries; prepared bodies have them already (web/respond.py).

    A route may have set its own CSP first.
    """
    if getattr(response, "complete", False):
        return response
    headers = response.headers
    policy = headers.get("Content-Security-Policy", NO_FRAMING)
    for name, value in security(request.path, policy):
        headers.setdefault(name, value)
    if request.method == "OPTIONS" and request.path.endswith(".json"):
        # The preflight of a conditional fetch() from another site.
        for name, value in CORS_PREFLIGHT:
            headers[name] = value
    return response
