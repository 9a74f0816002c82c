"""Every public URL: a lookup in the manifest of the folder in service, and the file's bytes.

Nothing is rendered here. The query forms (`?series=`, `?city=`) answer with the file of
their path form; conditional requests follow RFC 9110 §13.2.2; the coding is the client's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, redirect, request
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import parse_date, parse_etags
from werkzeug.wsgi import wrap_file

from agenda import encoding
from agenda.format import MAX_NAME
from agenda.headers import CORS_PREFLIGHT, DATA_SUFFIXES, security
from agenda.i18n import _
from agenda.model import Schedule
from agenda.render import links
from agenda.site import Entry, Site
from agenda.store import VersionStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

bp = Blueprint("serve", __name__)

CONDITIONAL = {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
               "HTTP_IF_UNMODIFIED_SINCE"}
QUOTABLE = re.compile(r"[^\W_]+(?:[ '\u2019-]\(?[^\W_]+\)?)*")  # a name's form, not a sentence's
LISTED = 30  # the most names a 404 lists: 10,000 cities are no help, and cost every 404
# What a 304 leaves out (as Werkzeug does): the headers that describe a body.
ENTITY_HEADERS = frozenset(("content-encoding", "content-length", "content-type", "last-modified"))


def store() -> VersionStore:
    """The application's version store."""
    return current_app.extensions["agenda.store"]


def site_files(app: WSGIApplication, versions: VersionStore) -> WSGIApplication:
    """WSGI: a GET or HEAD of a URL of the folder in service answered from its file, as nginx
    would, before Flask (`app`); anything else goes on to Flask. `reply` makes both answers."""

    def files(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if environ["REQUEST_METHOD"] in ("GET", "HEAD") and not environ.get("QUERY_STRING") \
                and path.isascii() and not path.startswith("/_"):
            try:
                site = versions.site()
            except Exception:  # noqa: BLE001 - Flask's handlers answer it, in French
                return app(environ, start_response)
            if (entry := site.entries.get(path)) is not None:
                status, lines, handle = reply(environ, site, entry)
                if status == 304 or handle is not None:
                    start_response("304 Not Modified" if status == 304 else "200 OK", lines)
                    if handle is not None and environ["REQUEST_METHOD"] == "GET":
                        return wrap_file(environ, handle)
                    if handle is not None:
                        handle.close()  # a HEAD's
                    return []
        return app(environ, start_response)  # 412, a damaged file, anything else

    return files


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def answer(path: str) -> Response:
    """The built file of this URL (its path form for a filtered query), or a French 404."""
    site = store().site()
    tidy = re.sub("/{2,}", "/", request.path).rstrip("/") or "/"  # a link's /events/x/, x//y
    if tidy != request.path or request.environ.get("PATH_INFO", "").startswith("//"):  # //x too
        return moved(quote(tidy), request.query_string.decode("latin-1"), 308)  # %0D: no break
    url, typed = _path_form(path)  # (a city as the query names it, for a 404's message)
    entry = site.entries.get(url) if not url.startswith("/_") else None
    if entry is None:
        abort(404, description=missing(store().served().schedule, url, typed))
    return send(site, entry)


def moved(path: str, query: str, code: int) -> Response:
    """A redirect to `path` rebuilt from base_url, so that no request can choose where it points."""
    location = store().served().schedule.calendar.url(path) + (f"?{query}" if query else "")
    return redirect(location, code=code)  # type: ignore[return-value]


def send(site: Site, entry: Entry, again: bool = True) -> Response:
    """The answer of `entry` as a Flask response. A file missing or cut (a folder damaged by
    hand) is never sent: the folder is built anew and answers, or a 503 says to come back."""
    status, lines, handle = reply(request.environ, site, entry)
    if status == 412:
        return Response("412 – " + _("This version is no longer the one online.") + "\n", 412,
                        mimetype="text/plain")
    if status == 304:
        return Response(status=304, headers=lines)
    if handle is None:
        if again:
            repaired = store().repair_site(site)
            if (found := repaired.entries.get(entry.path)) is not None and repaired is not site:
                return send(repaired, found, again=False)
        abort(503)  # « Le site est en cours de reconstruction ; réessayez. » (html.ERRORS)
    return Response(wrap_file(request.environ, handle), headers=lines, direct_passthrough=True)


def reply(environ: WSGIEnvironment, site: Site, entry: Entry) -> tuple[int, list, Any]:
    """(status, headers, open file) of `entry` for this request, in the client's coding:
    200, 304 (no file) or 412 (no file). A 200 with no file: the file is missing or cut."""
    coding = encoding.choose(environ.get("HTTP_ACCEPT_ENCODING"), entry.codings)
    etag = entry.etag + encoding.ETAG_SUFFIX[coding]  # the strong ETag of this coding's bytes
    lines = [("ETag", f'"{etag}"')]
    if entry.codings:
        lines.append(("Vary", "Accept-Encoding"))
        if coding != encoding.IDENTITY:
            lines.append(("Content-Encoding", coding))
    lines += entry.headers
    if entry.modified is not None:
        lines.append(("Last-Modified", entry.modified))
    status = _precondition(environ, etag, entry.modified) if CONDITIONAL & environ.keys() else 200
    if status != 200:  # a 304 without the headers of a body; a 412's are never sent
        return status, [h for h in lines if h[0].lower() not in ENTITY_HEADERS], None
    try:
        handle = site.open(entry, coding)
        size = os.fstat(handle.fileno()).st_size
    except OSError:  # the store says it, once a try (not at each request), and builds anew
        return 200, lines, None
    if coding == encoding.IDENTITY and size != entry.size or size == 0:  # cut: the same
        handle.close()
        return 200, lines, None
    lines.append(("Content-Length", str(size)))
    return 200, lines, handle


def _precondition(environ: WSGIEnvironment, etag: str, modified: str | None) -> int:
    """200, 304 or 412 for this GET or HEAD's preconditions, in RFC 9110 §13.2.2's order."""
    headers = EnvironHeaders(environ)
    last = parse_date(modified)
    if "If-Match" in headers:
        if not parse_etags(headers["If-Match"]).contains(etag):  # "*" included
            return 412
    elif last and (since := parse_date(headers.get("If-Unmodified-Since"))) and last > since:
        return 412
    if "If-None-Match" in headers:
        if parse_etags(headers["If-None-Match"]).contains_weak(etag):
            return 304
    elif last and (since := parse_date(headers.get("If-Modified-Since"))) and last <= since:
        return 304
    return 200


def _path_form(name: str) -> tuple[str, str]:
    """The path form of a filtered query, named in any case as nginx reads it (`/rss.xml?Series=x`
    -> `/series/x/rss.xml`), and the city as queried; a 404 for a filter the answer would not
    apply (two, or on another document), never all of it. A series by its id in any case, a city
    by any spelling or slug."""
    given = list(dict.fromkeys((k.lower(), v.strip()) for k, v in request.args.items(multi=True)
                               if k.lower() in ("series", "city") and v.strip()))  # once each
    if given and (len(given) > 1 or name not in links.FILTERED_NAMES):
        abort(404, description=_("Impossible filter: one only, ?series= or ?city=, and only on "
                                 "/calendar.ics, /rss.xml or /atom.xml."))
    if given and given[0][0] == "series":
        return links.series_doc_path(given[0][1].lower(), name), ""
    return (links.city_doc_path(given[0][1], name), given[0][1]) if given else ("/" + name, "")


def missing(schedule: Schedule, url: str, typed: str = "") -> str | None:
    """Why `url` has no file, in French, when its form tells (`typed`: a city as queried)."""
    quoted = [p.partition(".")[0] for p in url.split("/")[2:3]] + ([typed] if typed else [])
    if not all(QUOTABLE.fullmatch(p) and len(p) <= MAX_NAME for p in quoted):
        return None  # what a link's author wrote is quoted as a name, never as a sentence
    parts = url.strip("/").split("/")
    if parts[0] == "events" and len(parts) in (2, 3):
        session_id = parts[1].partition(".")[0]  # an id has no dot: .ics, .json, .png
        if (session := schedule.session(session_id)) is None:
            return _("No session '{id}' in the agenda.", id=session_id)
        if url.endswith(".ics") and not session.is_dated:
            return _("Session '{id}' has no date yet.", id=session_id)
    elif parts[0] in ("series", "cities") and len(parts) == 3 and parts[2] in links.FILTERED_NAMES:
        # No file: no such series or city (a gone one keeps its feeds); a city by name if typed.
        series = parts[0] == "series"
        names: Collection[str] = [s.id for s in schedule.series] if series else schedule.cities()
        if not series and len(names) <= LISTED:
            names = sorted(names if typed else map(links.city_slug, names), key=links.city_slug)
        known = _("{count}, on the agenda's page", count=len(names)) if len(names) > LISTED else \
            ", ".join(names) or _("none")
        return _("Unknown series: '{id}'. Series: {known}.", id=parts[1], known=known) if series \
            else _("Unknown city: '{name}'. Cities: {known}.", name=typed or parts[1], known=known)
    return None


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """The security headers of every answer that has not got them from the manifest; Allow
    (a 405's, an OPTIONS') in one order, not the hash seed's of a route's set of methods."""
    headers = response.headers
    if "Allow" in headers:
        headers["Allow"] = ", ".join(sorted(headers["Allow"].split(", ")))
    if "Content-Security-Policy" not in headers:
        for name, value in security(request.path):
            headers.setdefault(name, value)
    if request.method == "OPTIONS" and request.path.endswith(DATA_SUFFIXES):
        headers.update(CORS_PREFLIGHT)  # the preflight of a conditional fetch() from another site
    return response
