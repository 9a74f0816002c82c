"""The stylesheet, script and icon, served like every other body: cached, compressed, with ETags.

Flask's own static route is off: it would answer with other validators and no
compression, and the static export must give the same bytes as the server.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort

from agenda.web.respond import serve

bp = Blueprint("static", __name__)

FOLDER = Path(__file__).resolve().parent.parent / "static"
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Name -> content type of every file we serve from FOLDER; nothing else is reachable.
FILES = {p.name: TYPES[p.suffix] for p in sorted(FOLDER.iterdir()) if p.suffix in TYPES}


@bp.get("/static/<name>")
def static_file(name: str) -> Response:
    """One of the site's static files; the bytes do not depend on the schedule."""
    content_type = FILES.get(name)
    if content_type is None:
        abort(404)
    return serve(("static", name), lambda _: (FOLDER / name).read_bytes(), content_type,
                 dated=False)
