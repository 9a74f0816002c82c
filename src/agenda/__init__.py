"""agenda: publishes an event series as calendar feeds, news feeds and web pages."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

DEFAULT_DATA = "data/sessions.toml"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app serving the schedule named by AGENDA_DATA (or `test_config`).

    Raises agenda.errors.ScheduleError, listing every problem, when the schedule is invalid.
    """
    from agenda.store import ScheduleStore
    from agenda.web import calendar, errors, feeds, pages, personal

    app = Flask(__name__)
    app.config.from_mapping(
        AGENDA_DATA=os.environ.get("AGENDA_DATA", DEFAULT_DATA),
        # Signs personal links (agenda.personal); without it they all answer 403.
        AGENDA_SECRET=os.environ.get("AGENDA_SECRET"),
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.extensions["agenda.store"] = ScheduleStore(app.config["AGENDA_DATA"])
    app.register_blueprint(calendar.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(personal.bp)
    errors.register(app)
    return app
