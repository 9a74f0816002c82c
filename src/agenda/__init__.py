"""agenda: publishes an event series as calendar feeds, news feeds and web pages."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask

DEFAULT_DATA = "data/sessions.toml"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app serving the schedule named by AGENDA_DATA (or `test_config`).

    Raises an AgendaError saying why when there is nothing to serve: ScheduleError (every
    problem of an invalid file never published), PublishedError, SiteError."""
    from agenda import desk
    from agenda.store import SETTLE_SECONDS, VersionStore
    from agenda.web import errors, health, personal, serve

    app = Flask(__name__, static_folder=None)  # the site folder holds the static files
    app.config.from_mapping(
        AGENDA_DATA=os.environ.get("AGENDA_DATA", DEFAULT_DATA),
        # Signs personal links (agenda.personal); without it they all answer 403.
        AGENDA_SECRET=os.environ.get("AGENDA_SECRET"),
        # Where the published version lives; default: beside the schedule file.
        AGENDA_PUBLISHED=os.environ.get("AGENDA_PUBLISHED") or None,
        # Where the built site folders live; default: beside the schedule file.
        AGENDA_SITE=os.environ.get("AGENDA_SITE") or None,
        # Seconds a changed schedule file must stay unchanged before it is published.
        AGENDA_SETTLE=float(os.environ.get("AGENDA_SETTLE", SETTLE_SECONDS)),
        # A watcher thread per process; False makes each request look instead (tests).
        AGENDA_WATCH=os.environ.get("AGENDA_WATCH", "1") != "0",
        # 0: a saved schedule file waits as a draft for the desk's « Publier ».
        AGENDA_AUTOPUBLISH=os.environ.get("AGENDA_AUTOPUBLISH", "1") != "0",
        # The moment the site is built for, fixed (tests, reproducible exports).
        AGENDA_NOW=os.environ.get("AGENDA_NOW") or None)
    if test_config is not None:
        app.config.from_mapping(test_config)
    config = app.config
    app.extensions["agenda.store"] = VersionStore(
        config["AGENDA_DATA"], published=config["AGENDA_PUBLISHED"],
        settle=config["AGENDA_SETTLE"], watch=config["AGENDA_WATCH"],
        autopublish=config["AGENDA_AUTOPUBLISH"], site_root=config["AGENDA_SITE"],
        moment=lambda: fixed_moment(config["AGENDA_NOW"] or datetime.now(UTC)))
    for blueprint in (health.bp, personal.bp, serve.bp):
        app.register_blueprint(blueprint)
    errors.register(app)
    desk.register(app)  # the editors' desk under /desk/ (agenda.desk)
    app.wsgi_app = serve.site_files(app.wsgi_app, app.extensions["agenda.store"])
    return app


def fixed_moment(value: str | datetime) -> datetime:
    """AGENDA_NOW (or build's --now) as an aware datetime; AgendaError without its offset."""
    from agenda.errors import AgendaError
    from agenda.i18n import _
    with contextlib.suppress(ValueError):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is not None:
            return moment
    raise AgendaError(_("AGENDA_NOW (or --now) is {value!r}, not a moment with its UTC offset "
                        "such as 2021-05-17T12:00:00+02:00", value=value))
