"""Error responses: a short French sentence, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """Install the error handlers on `app`."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        message = error.description or error.name
        return Response(f"{error.code} – {message}\n", status=error.code,
                        mimetype="text/plain", headers=_allow(error))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return http_error(InternalServerError("Erreur interne ; elle a été consignée."))


def _allow(error: HTTPException) -> dict[str, str]:
    """Keep the Allow header a 405 must carry."""
    headers = dict(error.get_headers())
    return {k: v for k, v in headers.items() if k.lower() == "allow"}
