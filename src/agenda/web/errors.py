"""Error responses: a short French sentence, never a traceback.

Browsers get a French HTML page; calendar apps, feed readers and scripts (and
any request for a .ics, .json or .xml address) get the same sentence as plain text.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.routing import RequestRedirect

from agenda.headers import DATA_SUFFIXES
from agenda.render import html
from agenda.web.serve import moved, store

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """Install the error handlers on `app`."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        title, default = html.ERRORS.get(code, html.ERRORS[400 if code < 500 else 500])  # French
        # The route's own description (ours, French), else the French default.
        message = error.description if error.description != type(error).description else default
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}  # a 405's
        headers["Vary"] = "Accept"  # HTML for browsers, text for the rest
        headers["Cache-Control"] = "no-cache"  # as 404.html: no CDN keeps a page's 404 for long
        # text/plain first: on a tie (curl's */*), plain text wins.
        best = request.accept_mimetypes.best_match(["text/plain", "text/html"])
        body, mimetype = f"{code} – {message}\n".encode(), "text/plain"
        if best == "text/html" and not request.path.endswith(DATA_SUFFIXES):
            try:
                body = html.error_page(store().served().schedule.calendar, code, title, message)
                mimetype = "text/html"
            except Exception:  # an error page must not fail: fall back to text
                log.exception("cannot render the HTML error page")
        return Response(body, status=code, mimetype=mimetype, headers=headers)

    @app.before_request
    def redirect_within_base_url() -> Response | None:
        # Werkzeug's redirects (merged or trailing slashes) have a Location built from the Host.
        werkzeug = request.routing_exception
        if not isinstance(werkzeug, RequestRedirect):
            return None
        target = urlsplit(werkzeug.new_url)
        return moved(target.path, target.query, werkzeug.code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if isinstance(error, UnicodeDecodeError):  # a query string that is not UTF-8
            return http_error(BadRequest())
        log.exception("unexpected error")
        return http_error(InternalServerError())
