"""The floor: a minimal Flask app answering every request with one file's bytes.

gunicorn bench.floor:app, with FLOOR_BODY=path and FLOOR_TYPE=content type.
"""

from __future__ import annotations

import os

from flask import Flask, Response

BODY = open(os.environ["FLOOR_BODY"], "rb").read()  # noqa: SIM115
TYPE = os.environ.get("FLOOR_TYPE", "text/calendar; charset=utf-8")
app = Flask(__name__)


@app.get("/calendar.ics")
def calendar() -> Response:
    """The same bytes, every time."""
    return Response(BODY, content_type=TYPE)
