"""What every route shares: the store, filters, and conditional responses.

One function, `serve`, turns rendered bytes into a response with a strong
ETag, Last-Modified, 304 handling and HEAD (Flask answers HEAD from GET).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime

from flask import Response, abort, current_app, request

from agenda.model import Schedule, Session, latest_update
from agenda.store import ScheduleStore

# Browsers and proxies may reuse a response for a few minutes; calendar apps poll
# far less often anyway, and the ETag makes revalidation cheap.
CACHE_CONTROL = "public, max-age=300"


def store() -> ScheduleStore:
    """The application's schedule store."""
    return current_app.extensions["agenda.store"]


def clock() -> datetime:
    """The time pages and feeds are rendered for: AGENDA_NOW when configured, else now.

    Only routes that depend on the date read it, and their cache keys say how.
    """
    pinned = current_app.config.get("AGENDA_NOW")
    if pinned is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(pinned) if isinstance(pinned, str) else pinned
    if moment.tzinfo is None:
        raise ValueError("AGENDA_NOW needs a UTC offset, such as 2021-05-17T12:00:00+02:00")
    return moment


def schedule() -> Schedule:
    """The schedule in service now."""
    return store().schedule


def serve(
    key: Hashable | Callable[[Schedule], Hashable],
    build: Callable[[Schedule], bytes],
    content_type: str,
    sessions: Iterable[Session] = (),
    filename: str | None = None,
    modified: datetime | None = None,
) -> Response:
    """A conditional response for the bytes `build` makes, cached under `key`.

    Last-Modified is the latest of: the `updated` of the `sessions` the bytes
    describe; the calendar's own `updated` (edits outside the sessions); and
    `modified`, for bytes that also change with time (a page moves a session to
    "past" when it ends).
    """
    rendered = store().render(key, build)
    response = Response(rendered.body, content_type=content_type)
    response.set_etag(rendered.etag)
    calendar_updated = schedule().calendar.updated
    stamps = [t for t in (latest_update(list(sessions)), modified, calendar_updated) if t]
    if stamps:
        # RFC 9110: never later than the response's Date, whatever the data says.
        response.last_modified = min(max(stamps), datetime.now(UTC))
    response.headers["Cache-Control"] = CACHE_CONTROL
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response = response.make_conditional(request)
    if response.status_code == 412:
        # A failed If-Match: say so in one line rather than send the representation.
        response.set_data("412 – Cette version n’est plus la version en ligne.\n")
        response.content_type = "text/plain; charset=utf-8"
        del response.headers["Content-Disposition"]
    return response


def session_or_404(session_id: str) -> Session:
    """The session with this id, or a 404 that names it."""
    found = schedule().session(session_id)
    if found is None:
        abort(404, description=f"Aucune séance « {session_id} » dans l’agenda.")
    return found


def _same(ours: str, theirs: str) -> bool:
    """Names compared as people type them: any case, composed or not, ' for ’."""
    def fold(text: str) -> str:
        return unicodedata.normalize("NFC", text).casefold().replace("’", "'").strip()

    return fold(ours) == fold(theirs)


def selected() -> tuple[tuple[str | None, str | None], tuple[Session, ...]]:
    """The `?series=` and `?city=` filters of this request, checked, and the sessions they keep.

    The first item is a normalised key (series id, canonical city name) so that
    equivalent queries share one cached rendering.
    """
    current = schedule()
    series_id = request.args.get("series", "").strip() or None
    city = request.args.get("city", "").strip() or None
    if series_id is not None:
        found = next((s.id for s in current.series if _same(s.id, series_id)), None)
        if found is None:
            known = ", ".join(s.id for s in current.series)
            abort(404, description=f"Série inconnue : « {series_id} ». Séries : {known}.")
        series_id = found
    if city is not None:
        match = next((c for c in sorted(current.cities()) if _same(c, city)), None)
        if match is None:
            known = ", ".join(sorted(current.cities()))
            abort(404, description=f"Ville inconnue : « {city} ». Villes : {known}.")
        city = match
    return (series_id, city), current.select(series=series_id, city=city)

