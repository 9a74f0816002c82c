"""RSS and Atom routes (issue 3)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feeds", __name__)
