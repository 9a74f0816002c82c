"""Every public URL: a lookup in the manifest of the folder in service, and the file's bytes.

Nothing is rendered here. The query forms (`?series=`, `?city=`) answer with
the file of their path form; conditional requests follow RFC 9110 §13.2.2; the
content coding is the client's preferred among those built (gzip, brotli).
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from datetime import datetime

from flask import Blueprint, Response, abort, current_app, redirect, request
from werkzeug.http import parse_date, parse_etags, quote_etag
from werkzeug.wsgi import wrap_file

from agenda import encoding
from agenda.headers import CORS_PREFLIGHT, NO_FRAMING, security
from agenda.model import Schedule
from agenda.render import links
from agenda.site import Entry, Site
from agenda.store import VersionStore

bp = Blueprint("serve", __name__)
log = logging.getLogger(__name__)

CONDITIONAL = {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
               "HTTP_IF_UNMODIFIED_SINCE"}
# What a 304 leaves out (as Werkzeug does): the headers that describe a body.
ENTITY_HEADERS = frozenset(("content-encoding", "content-length", "content-type",
                            "last-modified"))


def store() -> VersionStore:
    """The application's version store."""
    return current_app.extensions["agenda.store"]


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def answer(path: str) -> Response:
    """The built file of this URL (its path form for a filtered query), or a French 404."""
    site = store().site()
    url = "/" + path
    if "//" in request.path:
        # Rebuilt from base_url, so that no request can choose where a redirect points.
        merged = re.sub("/{2,}", "/", request.path)
        query = request.query_string.decode("latin-1")
        location = store().served().schedule.calendar.url(merged) + (f"?{query}" if query else "")
        return redirect(location, code=308)  # type: ignore[return-value]
    if request.query_string and url.rsplit("/", 1)[-1] in links.FILTERED_NAMES and "/" \
            not in path:
        url = _path_form(store().served().schedule, url)
    entry = site.entries.get(url) if not url.startswith("/_") else None
    if entry is None:
        abort(404, description=_missing(store().served().schedule, url))
    return send(site, entry)


def send(site: Site, entry: Entry, again: bool = True) -> Response:
    """The answer of `entry`: 200 with the file, 304 or 412, in the client's coding.

    A file missing or cut under us (a folder removed or damaged by hand) is never
    answered with wrong bytes: the folder is built anew and the answer taken from
    it, or a 503 says to come back."""
    coding = encoding.choose(request.headers.get("Accept-Encoding"), entry.codings)
    etag = entry.etag_of(coding)
    lines = [("ETag", quote_etag(etag))]
    if entry.codings:
        lines.append(("Vary", "Accept-Encoding"))
        if coding != encoding.IDENTITY:
            lines.append(("Content-Encoding", coding))
    lines += entry.headers
    status = _precondition(etag, entry.modified) if CONDITIONAL & request.environ.keys() \
        else 200
    if status == 412:
        response = Response("412 – Cette version n’est plus la version en ligne.\n", 412,
                            mimetype="text/plain")
        return response
    if status == 304:
        return Response(status=304, headers=[h for h in lines
                                             if h[0].lower() not in ENTITY_HEADERS])
    try:
        handle = site.open(entry, coding)
        size = os.fstat(handle.fileno()).st_size
        if coding == encoding.IDENTITY and size != entry.size or size == 0:
            handle.close()
            raise OSError(f"{entry.file}: cut to {size} bytes")
    except OSError as error:
        log.error("%s: %s; building the folder anew", site.folder, error)
        if again:
            repaired = store().repair_site(site)
            found = repaired.entries.get(entry.path)
            if found is not None and repaired is not site:
                return send(repaired, found, again=False)
        abort(503, description="Le site est en cours de reconstruction ; réessayez.")
    lines.append(("Content-Length", str(size)))
    return Response(wrap_file(request.environ, handle), headers=lines, direct_passthrough=True)


def _precondition(etag: str, modified: str | None) -> int:
    """200, 304 or 412 for this request's preconditions, in RFC 9110 §13.2.2's order."""
    headers = request.headers
    last = parse_date(modified) if modified else None
    if "If-Match" in headers:
        wanted = parse_etags(headers["If-Match"])
        if not (wanted.star_tag or wanted.contains(etag)):
            return 412
    elif "If-Unmodified-Since" in headers:
        since = parse_date(headers["If-Unmodified-Since"])
        if since is not None and last is not None and last > since:
            return 412
    safe = request.method in ("GET", "HEAD")
    if "If-None-Match" in headers:
        if parse_etags(headers["If-None-Match"]).contains_weak(etag):
            return 304 if safe else 412
    elif safe and "If-Modified-Since" in headers and last is not None:
        since = parse_date(headers["If-Modified-Since"])
        if since is not None and last <= since:
            return 304
    return 200


def _fold(text: str) -> str:
    """A name as people type it: any case, composed or not, ' for ’."""
    return unicodedata.normalize("NFC", text).casefold().replace("’", "'").strip()


def _path_form(schedule: Schedule, url: str) -> str:
    """The path form of a filtered query (`/rss.xml?series=x` -> `/series/x/rss.xml`)."""
    name = url.lstrip("/")
    series_id = request.args.get("series", "").strip()
    city = request.args.get("city", "").strip()
    if series_id and city:
        abort(404, description="Un flux par série ou par ville, pas les deux : "
                               f"/series/<série>/{name} ou /cities/<ville>/{name}.")
    if series_id:
        found = next((s.id for s in schedule.series if _fold(s.id) == _fold(series_id)), None)
        if found is None:
            known = ", ".join(s.id for s in schedule.series)
            abort(404, description=f"Série inconnue : « {series_id} ». Séries : {known}.")
        return links.series_doc_path(found, name)
    if city:
        cities = sorted(schedule.cities())
        # By name as typed, else by slug (one per city: the loader refuses two spellings).
        match = next((c for c in cities if _fold(c) == _fold(city)), None) or next(
            (c for c in cities if links.city_slug(c) == links.city_slug(city)), None)
        if match is None:
            abort(404, description=f"Ville inconnue : « {city} ». Villes : {', '.join(cities)}.")
        return links.city_doc_path(match, name)
    return url


def _missing(schedule: Schedule, url: str) -> str | None:
    """Why `url` has no file, in French, when its form says what it was after."""
    parts = url.strip("/").split("/")
    if parts[0] == "events" and len(parts) in (2, 3):
        session_id = parts[1].removesuffix(".ics").removesuffix(".json")
        session = schedule.session(session_id)
        if session is None:
            return f"Aucune séance « {session_id} » dans l’agenda."
        if url.endswith(".ics") and not session.is_dated:
            return f"La séance « {session_id} » n’a pas encore de date."
    elif parts[0] == "series" and len(parts) == 3 and schedule.series_by_id(parts[1]) is None:
        known = ", ".join(s.id for s in schedule.series)
        return f"Série inconnue : « {parts[1]} ». Séries : {known}."
    elif parts[0] == "cities" and len(parts) == 3:
        slugs = sorted({links.city_slug(c) for c in schedule.cities()})
        if parts[1] not in slugs:
            return f"Ville inconnue : « {parts[1]} ». Villes : {', '.join(slugs)}."
    return None


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """The security headers of every answer that has not got them from the manifest."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        for name, value in security(request.path, NO_FRAMING):
            headers.setdefault(name, value)
    if request.method == "OPTIONS" and request.path.endswith(".json"):
        # The preflight of a conditional fetch() from another site.
        for name, value in CORS_PREFLIGHT:
            headers[name] = value
    return response


def now_of(site: Site) -> datetime:
    """The moment the folder in service was built for: dynamic answers agree with it."""
    return site.built_for
