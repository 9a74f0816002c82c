"""What every route shares: the store, filters, and conditional responses.

One function, `serve`, turns rendered bytes into a response with a strong
ETag, Last-Modified, 304 handling and HEAD (Flask answers HEAD from GET), in
the content coding the client prefers (gzip or brotli, each with its own ETag).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from flask import Response, abort, current_app, g, request

from agenda.encoding import IDENTITY, Siblings, choose
from agenda.model import Schedule, Session, latest_update
from agenda.published import Version
from agenda.render import links
from agenda.store import Rendered, VersionStore

# Browsers and proxies may reuse a response for a few minutes; calendar apps poll
# far less often anyway, and the ETag makes revalidation cheap.
CACHE_CONTROL = "public, max-age=300"


def store() -> VersionStore:
    """The application's version store."""
    return current_app.extensions["agenda.store"]


def version() -> Version:
    """The published version this request is answered from: taken once, used throughout."""
    found = g.get("agenda_version")
    if found is None:
        found = g.agenda_version = store().current()
    return found


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
    """The schedule of this request's version."""
    return version().schedule


T = TypeVar("T")


def derived(key: Hashable, compute: Callable[[Schedule], T]) -> T:
    """A value computed from this request's version, once per version.

    For what routes would otherwise recompute on every request by scanning the
    sessions (city slugs, selections): the request path only looks values up.
    """
    current = version()
    memo_key = ("derived", key)
    try:
        return current.cache[memo_key]
    except KeyError:
        value = current.cache[memo_key] = compute(current.schedule)
        return value


class EncodedCache:
    """The compressed siblings of rendered bodies, by ETag, within a memory budget.

    An ETag is a hash of the bytes, so one entry serves every schedule version
    that renders the same bytes. Past the budget the cache starts afresh rather
    than tracking use: versions come and go, and a body is compressed again at
    most once per worker after that.
    """

    def __init__(self, budget: int = 64 * 2**20) -> None:
        self.budget = budget
        self._entries: dict[str, Siblings] = {}
        self._size = 0

    def get(self, rendered: Rendered, content_type: str) -> Siblings:
        """The siblings of `rendered`, made on first use."""
        found = self._entries.get(rendered.etag)
        if found is None:
            found = Siblings.of(rendered.body, rendered.etag, content_type)
            if self._size > self.budget:
                self._entries.clear()
                self._size = 0
            self._entries[rendered.etag] = found
            # Counted at full size so that compressed forms made later fit the budget.
            self._size += 2 * len(rendered.body)
        return found


def encoded() -> EncodedCache:
    """The application's cache of compressed bodies."""
    return current_app.extensions["agenda.encoded"]


def serve(
    key: Hashable | Callable[[Schedule], Hashable],
    build: Callable[[Schedule], bytes],
    content_type: str,
    sessions: Iterable[Session] = (),
    filename: str | None = None,
    modified: datetime | None = None,
    dated: bool = True,
) -> Response:
    """A conditional response for the bytes `build` makes, cached under `key`.

    Last-Modified is the latest of: the `updated` of the `sessions` the bytes
    describe; the calendar's own `updated` (edits outside the sessions); and
    `modified`, for bytes that also change with time (a page moves a session to
    "past" when it ends). Bytes that do not come from the schedule (`dated`
    false: the static files) have none.
    """
    siblings = encoded().get(store().render(key, build, version()), content_type)
    coding = choose(request.headers.get("Accept-Encoding"), siblings.codings)
    chosen = siblings.get(coding)
    response = Response(chosen.body, content_type=content_type)
    response.set_etag(chosen.etag)
    if siblings.codings:
        response.headers["Vary"] = "Accept-Encoding"
        if coding != IDENTITY:
            response.headers["Content-Encoding"] = coding
    calendar_updated = schedule().calendar.updated if dated else None
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


Selection = tuple[tuple[str | None, str | None], tuple[Session, ...]]


def selected() -> Selection:
    """The `?series=` and `?city=` filters of this request, checked, and the sessions they keep.

    The first item is a normalised key (series id, canonical city name) so that
    equivalent queries share one cached rendering.
    """
    series_id = request.args.get("series", "").strip() or None
    city = request.args.get("city", "").strip() or None
    return _checked(series_id, city)


def selected_by_path(series_id: str | None = None, city_slug: str | None = None) -> Selection:
    """The filter of a path form (/series/<id>/…, /cities/<slug>/…), checked, and its sessions.

    The query string is ignored, as static hosts ignore it: the path alone says
    what the document holds.
    """
    if series_id is not None and schedule().series_by_id(series_id) is None:
        known = ", ".join(s.id for s in schedule().series)
        abort(404, description=f"Série inconnue : « {series_id} ». Séries : {known}.")
    city = None
    if city_slug is not None:
        by_slug = derived("city slugs", _city_slugs)
        city = by_slug.get(city_slug)
        if city is None:
            known = ", ".join(sorted(by_slug))
            abort(404, description=f"Ville inconnue : « {city_slug} ». Villes : {known}.")
    # Already canonical: no need for _checked's tolerant matching.
    key = (series_id, city)
    return key, derived(("selection", key), lambda s: s.select(series=series_id, city=city))


def _city_slugs(current: Schedule) -> dict[str, str]:
    # Two cities with one slug: the first in alphabetical order keeps it.
    return {links.city_slug(c): c for c in sorted(current.cities(), reverse=True)}


def _checked(series_id: str | None, city: str | None) -> Selection:
    current = schedule()
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

