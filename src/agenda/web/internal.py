"""GET requests made by the service to itself: the prebuild and the static export.

Straight through the app's WSGI callable rather than Flask's test client, which
costs more than picking a body that is already built. The answer is exactly
what a client would get, since it is the same callable.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask


def get(
    app: Flask,
    path: str,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    keep_body: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """GET `path` (with its query) as if at `base_url`: (status, headers, body).

    `extra` adds WSGI environ keys (a version to pin, the prebuild's list of
    names); without `keep_body` the body is read and dropped.
    """
    site = urlsplit(base_url)
    host, scheme = site.hostname or "localhost", site.scheme or "https"
    route, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ.update(extra or {})
    started: list[Any] = []
    answer = app.wsgi_app(environ, lambda status, lines, exc_info=None: started.extend(
        (status, lines)))
    pieces: list[bytes] = []
    try:
        for piece in answer:
            if keep_body:
                pieces.append(piece)
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    status, lines = started
    return int(status.split(" ", 1)[0]), dict(lines), b"".join(pieces)
