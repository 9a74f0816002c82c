"""What every route shares: the store, filters, and conditional responses.

One function, `serve`, turns rendered bytes into a response with a strong
ETag, Last-Modified, 304 handling and HEAD (Flask answers HEAD from GET), in
the content coding the client prefers (gzip or brotli, each with its own ETag).
"""

from __future__ import annotations

import functools
import unicodedata
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from flask import Response, abort, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.http import http_date, parse_date, parse_etags, quote_etag

from agenda.bodies import LARGE, Blob, BodyStore
from agenda.digest import CODE, digest
from agenda.encoding import IDENTITY, PREFERENCE, choose, encode
from agenda.model import Schedule, Session, latest_update
from agenda.published import Version
from agenda.render import links
from agenda.store import VersionStore
from agenda.web.headers import NO_FRAMING, security

# Browsers and proxies may reuse a response for a few minutes; calendar apps poll
# far less often anyway, and the ETag makes revalidation cheap.
CACHE_CONTROL = "public, max-age=300"


def store() -> VersionStore:
    """The application's version store."""
    return current_app.extensions["agenda.store"]


def version() -> Version:
    """The published version this request is answered from: taken once, used throughout.

    A prebuild pins the version it builds in the request's environment.
    """
    environ = request.environ
    found = environ.get(PIN)
    if found is None:
        found = environ[PIN] = store().current()
    return found


# The WSGI environ key that pins a request to a version (prebuilds, exports).
PIN = "agenda.version"


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


@dataclass(frozen=True, slots=True)
class Prepared:
    """A body ready to send: its forms by coding, their ETags and headers (all but Date)."""

    codings: tuple[str, ...]  # the compressed forms, in the server's order of preference
    bodies: dict[str, bytes | Blob]  # a Blob: a large body, sent from the store
    etags: dict[str, str]
    last_modified: datetime | None
    headers: dict[str, list[tuple[str, str]]]

    @property
    def body(self) -> bytes:
        """The uncompressed bytes."""
        found = self.bodies[IDENTITY]
        return found if type(found) is bytes else bodies().read(found)

    @property
    def size(self) -> int:
        """Bytes held in memory, every form included (a Blob stays in the store)."""
        return sum(len(b) for b in self.bodies.values() if type(b) is bytes)


class Content:
    """What a per-session body is made from, compared by value, hashed once.

    Keys of per-session bodies hold one of these rather than a version number,
    so that every version (and every process) finds the body of a session it
    did not change under the same name in the body store. A version makes one
    per session: within it, lookups compare by identity.
    """

    __slots__ = ("_digest", "_hash", "value")

    def __init__(self, value: Hashable) -> None:
        self.value = value
        self._hash = hash(value)
        self._digest: str | None = None

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Content) and self._hash == other._hash and self.value == other.value
        )

    @property
    def digest(self) -> str:
        """The stable digest of the value (agenda.digest), made once."""
        if self._digest is None:
            self._digest = digest(self.value)
        return self._digest


# Contents are made per request, not kept per version: with many sessions the
# version would hold one per session and city, and a request for a page that
# is not in memory reads the store anyway.
def content(session: Session) -> Content:
    """The Content of a session's own bodies in this request's version."""
    current = schedule()
    return Content((current.calendar, current.contacts, session))


def content_of(make: Callable[[Schedule], Hashable]) -> Content:
    """The Content of a body made of what `make` returns from this request's schedule."""
    return Content(make(schedule()))


def moments(kind: str) -> tuple[datetime, ...]:
    """The sorted instants at which this version's dated outputs change, by kind.

    "ends": sessions and planned dates ending (pages move them to the past);
    "news": announcements and revisions coming due (the news feeds grow).
    """
    def collect(current: Schedule) -> tuple[datetime, ...]:
        if kind == "ends":
            found = [s.end for s in current.sessions if s.end is not None]
            found += [p.end for p in current.planned]
        else:
            found = [s.announced for s in current.sessions if s.announced is not None]
            found += [r.at for s in current.sessions for r in s.news]
        return tuple(sorted(found))

    return derived(("moments", kind), collect)


def passed(kind: str, now: datetime) -> int:
    """How many of this version's `moments(kind)` are at or before `now`: a cache key part.

    Outputs that depend on the clock depend on it only through this count, so
    the request path finds their body with a binary search, not a scan.
    """
    return bisect_right(moments(kind), now)


def last_passed(kind: str, now: datetime) -> datetime | None:
    """The latest of `moments(kind)` at or before `now`."""
    count = passed(kind, now)
    return moments(kind)[count - 1] if count else None


def is_past(session: Session, now: datetime) -> bool:
    """True when the session is over at `now` (ended, or known to be held)."""
    return session.is_over(now)


def serve(
    key: Hashable,
    build: Callable[[Schedule], bytes | Iterable[bytes]],
    content_type: str,
    dated_by: Callable[[Schedule], Iterable[Session]] | None = None,
    filename: str | None = None,
    modified: datetime | None = None,
    dated: bool = True,
    policy: str = NO_FRAMING,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """A conditional response for the bytes `build` makes, kept under `key` in this version.

    The first request of a key (or the version's prebuild) builds the body,
    its gzip and brotli forms and the headers of each; later requests only
    pick bytes and compare validators. Last-Modified is the latest of: the
    revisions of the sessions `dated_by` gives; the calendar's own `updated`;
    and `modified`, for bytes that also change with time (a page moves a
    session to "past" when it ends; the key must then say so). Bytes that do
    not come from the schedule (`dated` false: the static files) have none.
    `policy` is the page's content security policy, `headers` the route's own.
    """
    current = version()
    environ = request.environ
    prepared = current.cache.get(key)
    if prepared is None or PREBUILDING in environ:
        extra = [*headers, *security(request.path, policy)]
        if filename:
            extra.append(("Content-Disposition", f'attachment; filename="{filename}"'))
        prepared = _find_or_build(current, key, build, content_type, dated_by, modified, dated,
                                  extra)
        if prepared is None:  # a prebuild, and the store has it already
            return _Ready(status=204)
    coding = _coding(environ.get("HTTP_ACCEPT_ENCODING"), prepared.codings)
    body = prepared.bodies[coding]
    now = datetime.now(UTC)
    date = ("Date", _http_date(int(now.timestamp())))
    lines = [date, *prepared.headers[coding]]
    if prepared.last_modified is not None and prepared.last_modified > now:
        # RFC 9110: never later than the response's Date, whatever the data says.
        lines = [(k, v) if k != "Last-Modified" else (k, date[1]) for k, v in lines]
    if "HTTP_IF_MATCH" in environ or "HTTP_IF_UNMODIFIED_SINCE" in environ or (
        "HTTP_RANGE" in environ
    ):
        return _conditional(body if type(body) is bytes else bodies().read(body), lines)
    if _not_modified(environ, prepared.etags[coding], prepared.last_modified):
        response = _Ready(status=304)
        lines = [line for line in lines if line[0].lower() not in ENTITY_HEADERS]
    else:
        if type(body) is bytes:
            response = _Ready(body)
            lines.append(("Content-Length", str(len(body))))
        else:  # a large body, a chunk at a time from the store
            response = _Ready(bodies().stream(body))
            lines.append(("Content-Length", str(body.size)))
    # The lines were checked once, when the body was prepared: filling the header
    # list directly spares re-validating a dozen of them on every request.
    response.headers._list = lines  # noqa: SLF001 - Werkzeug's own storage, stable since 0.x
    response.complete = True  # type: ignore[attr-defined] - every header is there already
    return response


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    """The Date header of this second (formatted once per second, not per request)."""
    return http_date(second)


# What a 304 leaves out (as Werkzeug does): the headers that describe a body.
ENTITY_HEADERS = frozenset((
    "allow", "content-encoding", "content-language", "content-length", "content-location",
    "content-md5", "content-range", "content-type", "expires", "last-modified",
))


class _Ready(Response):
    """A response whose headers are complete and checked: sent as they are."""

    # The prepared lines say all of it: no default type, no length added.
    default_mimetype = None
    automatically_set_content_length = False

    def get_wsgi_headers(self, environ: dict) -> Headers:  # type: ignore[override]
        """The headers as prepared; Werkzeug's copy and re-check of each would cost more."""
        return self.headers


def _conditional(body: bytes, lines: list[tuple[str, str]]) -> Response:
    """The rare preconditions (If-Match, If-Unmodified-Since, Range), as Werkzeug does them."""
    response = Response(body, headers=lines).make_conditional(request)
    if response.status_code == 412:
        # A failed If-Match: say so in one line rather than send the representation.
        response.set_data("412 – Cette version n’est plus la version en ligne.\n")
        response.content_type = "text/plain; charset=utf-8"
        del response.headers["Content-Disposition"]
    response.complete = True  # type: ignore[attr-defined]
    return response


def _not_modified(environ: dict, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 §13.1.2–3 for GET and HEAD: If-None-Match first, else If-Modified-Since."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    asked = environ.get("HTTP_IF_NONE_MATCH")
    if asked is not None:
        return parse_etags(asked).contains_weak(etag)
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since and last_modified is not None:
        moment = parse_date(since)
        return moment is not None and last_modified.replace(microsecond=0) <= moment
    return False


# Accept-Encoding values repeat (each browser sends one of a few): remember the choice.
_CHOSEN: dict[tuple[str | None, tuple[str, ...]], str] = {}


def _coding(accept_encoding: str | None, codings: tuple[str, ...]) -> str:
    found = _CHOSEN.get((accept_encoding, codings))
    if found is None:
        found = choose(accept_encoding, codings)
        if len(_CHOSEN) < 1024:  # a client sending a new header each time gains nothing
            _CHOSEN[(accept_encoding, codings)] = found
    return found


# WSGI environ keys of a prebuild: it only needs bodies to exist, and it lists
# the names of every answer of the version (what a sweep keeps).
PREBUILDING = "agenda.prebuilding"
LAZY = "agenda.lazy"  # in a prebuild: name the answer, build it only when asked


def _find_or_build(
    current: Version,
    key: Hashable,
    build: Callable[[Schedule], bytes | Iterable[bytes]],
    content_type: str,
    dated_by: Callable[[Schedule], Iterable[Session]] | None,
    modified: datetime | None,
    dated: bool,
    extra: list[tuple[str, str]],
) -> Prepared | None:
    """The answer of `key`: from the body store, else built and stored; kept hot if it fits.

    None in a prebuild when the store has it already: nothing needs reading.
    """
    name, made_for = _name(current, key)
    stored_bodies = bodies()
    prebuilding = request.environ.get(PREBUILDING)
    if prebuilding is not None:
        prebuilding.append(name)
        if request.environ.get(LAZY) or stored_bodies.has(name):
            return None
    found = stored_bodies.get(name)
    if found is not None:
        meta = found.meta
        stamp = meta["modified"]
        prepared = _prepared(found.bodies, found.etags, meta["type"],
                             datetime.fromisoformat(stamp) if stamp else None,
                             [tuple(line) for line in meta["extra"]])
    else:
        schedule = current.schedule
        forms = encode(build(schedule), content_type)
        stamps: list[datetime] = []
        if dated:
            sessions = list(dated_by(schedule)) if dated_by is not None else []
            stamps = [t for t in (latest_update(sessions), modified, schedule.calendar.updated)
                      if t]
        last_modified = max(stamps) if stamps else None
        saved = stored_bodies.put(
            name, made_for, forms,
            {"type": content_type, "extra": extra,
             "modified": last_modified.isoformat() if last_modified else None},
        )
        current_app.extensions["agenda.built"].add(name)
        if prebuilding is not None:
            return None
        # Large bodies are sent from the store; kept in memory only if it failed.
        held = {c: (Blob(f.etag, f.size) if saved and f.size > LARGE else f.read())
                for c, f in forms.items()}
        prepared = _prepared(held, {c: f.etag for c, f in forms.items()}, content_type,
                             last_modified, extra)
    if prebuilding is None:
        current_app.extensions["agenda.hot"].keep(current.cache, key, prepared, prepared.size)
    return prepared


def _name(current: Version, key: Hashable) -> tuple[str, str | None]:
    """The name of `key`'s answer in the body store, and the version it is made for, if any.

    A key holding a Content is named by that Content's digest alone: every
    version and process that has the same sessions finds the same body. Any
    other key is named within its version's schedule.
    """
    if type(key) is tuple and any(type(part) is Content for part in key):
        parts = tuple(p.digest if type(p) is Content else p for p in key)
        return digest(CODE, "content", parts), None
    made_for = schedule_digest(current)
    return digest(CODE, made_for, key), made_for


def schedule_digest(current: Version) -> str:
    """The digest of a version's schedule, made once: the answers made for it are named by it."""
    found = current.cache.get(("derived", "digest"))
    if found is None:
        found = current.cache[("derived", "digest")] = digest(current.schedule)
    return found


def _prepared(
    bodies_by_coding: dict[str, bytes | Blob],
    etags: dict[str, str],
    content_type: str,
    last_modified: datetime | None,
    extra: list[tuple[str, str]],
) -> Prepared:
    """A Prepared answer: the header lines of each coding, checked once by Werkzeug."""
    codings = tuple(c for c in PREFERENCE if c in bodies_by_coding)
    by_coding: dict[str, list[tuple[str, str]]] = {}
    for coding in (IDENTITY, *codings):
        lines = [("Content-Type", content_type), ("ETag", quote_etag(etags[coding]))]
        if codings:
            lines.append(("Vary", "Accept-Encoding"))
            if coding != IDENTITY:
                lines.append(("Content-Encoding", coding))
        if last_modified is not None:
            lines.append(("Last-Modified", http_date(last_modified)))
        lines.append(("Cache-Control", CACHE_CONTROL))
        by_coding[coding] = list(Headers(lines + extra).to_wsgi_list())
    return Prepared(codings, bodies_by_coding, etags, last_modified, by_coding)


class Built:
    """How many bodies this process built (tests check that serving builds nothing)."""

    def __init__(self) -> None:
        self.count = 0
        self.recent: deque[str] = deque(maxlen=64)

    def add(self, name: str) -> None:
        self.count += 1
        self.recent.append(name)


def bodies() -> BodyStore:
    """The application's store of built bodies."""
    return current_app.extensions["agenda.bodies"]


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
    if not request.environ.get("QUERY_STRING"):
        # The common case, every subscriber's poll: no filter, nothing to parse.
        return (None, None), schedule().sessions
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
    return (series_id, city), _select(series_id, city)


def _select(series_id: str | None, city: str | None) -> tuple[Session, ...]:
    """The sessions of a series and/or city (canonical names), from per-version indexes."""
    if city is None:
        return derived(("series", series_id), lambda s: s.select(series=series_id))
    in_city = derived("by city", _by_city).get(city, ())
    return tuple(s for s in in_city if series_id is None or s.series.id == series_id)


def _by_city(current: Schedule) -> dict[str, tuple[Session, ...]]:
    found: dict[str, list[Session]] = {}
    for session in current.sessions:
        found.setdefault(session.city, []).append(session)
    return {city: tuple(sessions) for city, sessions in found.items()}


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
        cities = derived("cities", lambda s: sorted(s.cities()))
        match = next((c for c in cities if _same(c, city)), None)
        if match is None:
            known = ", ".join(cities)
            abort(404, description=f"Ville inconnue : « {city} ». Villes : {known}.")
        city = match
    return (series_id, city), _select(series_id, city)

