"""HTML pages, JSON and the embed (issue 4)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)
