"""Personal links (issue 9): a session's page and .ics with its private video link.

The address carries a signature (agenda.personal); a wrong one, an old one (the
secret changed) or any request while no secret is set gets a bare 403. Signed
answers are rendered for each request and written nowhere (never into a site
folder), and tell browsers, proxies and search engines to keep nothing.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, abort, current_app, request

from agenda import personal
from agenda.model import Schedule, Session
from agenda.render import html, ical
from agenda.site import HTML_TYPE, ICAL_TYPE
from agenda.web.serve import missing, store

bp = Blueprint("personal", __name__)

PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex, nofollow"}


def _signed_session(session_id: str, signed: str, suffix: str = "") -> tuple[Schedule, Session]:
    """(schedule, session) with its video link, if signed right (else 403) and served (else 404)."""
    try:
        secret_key = personal.key(current_app.config.get("AGENDA_SECRET"))
    except personal.SecretError:
        abort(403)  # said once, when the app loads (agenda.desk.views.register)
    if not personal.is_valid(secret_key, session_id, request.args.get("email"), signed):
        abort(403)  # no detail: neither which part is wrong nor whether the session exists
    schedule = store().current().schedule
    session = schedule.session(session_id)
    if (why := missing(schedule, f"/events/{session_id}{suffix}")) or session is None:
        abort(404, description=why)
    # The link, published for them; a SEQUENCE above the public event's replaces it in calendars.
    hidden = session.video_url is not None and not session.video_public
    return schedule, dataclasses.replace(session, video_public=bool(session.video_url),
                                         sequence=session.sequence + hidden)


@bp.get("/events/<session_id>/private/<signed>")
def page(session_id: str, signed: str) -> Response:
    """A session's page with its video link, for the person the link was made for."""
    schedule, session = _signed_session(session_id, signed)
    ics = f"{personal.page_path(session_id, signed)}.ics{personal.query(request.args.get('email'))}"
    body = html.session_page(schedule, session, store().site().built_for, ics=ics)  # its own .ics
    return Response(body, content_type=HTML_TYPE, headers=PRIVATE_HEADERS)


@bp.get("/events/<session_id>/private/<signed>.ics")
def download(session_id: str, signed: str) -> Response:
    """A session's .ics with its video link (CONFERENCE, DESCRIPTION, LOCATION)."""
    schedule, session = _signed_session(session_id, signed, ".ics")
    return Response(ical.session_bytes(schedule, session), content_type=ICAL_TYPE, headers={
        **PRIVATE_HEADERS, "Content-Disposition": f'attachment; filename="{session_id}.ics"'})
