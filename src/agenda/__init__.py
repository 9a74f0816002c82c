"""agenda: publishes an event series as calendar feeds, news feeds and web pages."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULT_DATA = "data/sessions.toml"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app serving the schedule named by AGENDA_DATA (or `test_config`).

    Raises agenda.errors.ScheduleError, listing every problem, when the schedule is invalid.
    """
    from agenda import desk
    from agenda.bodies import BodyStore, Hot, default_path
    from agenda.render import parts
    from agenda.store import SETTLE_SECONDS, VersionStore
    from agenda.web import calendar, errors, feeds, pages, personal, static
    from agenda.web.respond import Built

    app = Flask(__name__, static_folder=None)  # web/static.py serves the static files
    app.config.from_mapping(
        AGENDA_DATA=os.environ.get("AGENDA_DATA", DEFAULT_DATA),
        # Signs personal links (agenda.personal); without it they all answer 403.
        AGENDA_SECRET=os.environ.get("AGENDA_SECRET"),
        # Where the published version lives; default: beside the schedule file.
        AGENDA_PUBLISHED=os.environ.get("AGENDA_PUBLISHED") or None,
        # Seconds a changed schedule file must stay unchanged before it is published.
        AGENDA_SETTLE=float(os.environ.get("AGENDA_SETTLE", SETTLE_SECONDS)),
        # A watcher thread per process; False makes each request look instead (tests).
        AGENDA_WATCH=os.environ.get("AGENDA_WATCH", "1") != "0",
        # 0: a saved schedule file waits as a draft for the desk's « Publier ».
        AGENDA_AUTOPUBLISH=os.environ.get("AGENDA_AUTOPUBLISH", "1") != "0",
        # Build every body of a version before serving it (off in most tests).
        AGENDA_PREBUILD=os.environ.get("AGENDA_PREBUILD", "1") != "0",
        # The SQLite file of built bodies, shared by the workers; default: beside
        # the published version (agenda.bodies).
        AGENDA_BODIES=os.environ.get("AGENDA_BODIES") or None,
        # Megabytes of bodies each process keeps in memory; the rest is read from the store.
        AGENDA_MEMORY=float(os.environ.get("AGENDA_MEMORY", "16")),
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.extensions["agenda.store"] = VersionStore(
        app.config["AGENDA_DATA"],
        published=app.config["AGENDA_PUBLISHED"],
        settle=app.config["AGENDA_SETTLE"],
        watch=app.config["AGENDA_WATCH"],
        autopublish=app.config["AGENDA_AUTOPUBLISH"],
    )
    store = app.extensions["agenda.store"]
    app.extensions["agenda.bodies"] = BodyStore(
        Path(app.config["AGENDA_BODIES"]) if app.config["AGENDA_BODIES"]
        else default_path(store.published_path)
    )
    # Per-session pieces of whole-schedule documents are kept in the same store.
    parts.use(app.extensions["agenda.bodies"])
    app.extensions["agenda.hot"] = Hot(int(app.config["AGENDA_MEMORY"] * 2**20))
    app.extensions["agenda.built"] = Built()
    app.register_blueprint(calendar.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(static.bp)
    app.register_blueprint(personal.bp)
    errors.register(app)
    desk.register(app)  # the editors' desk under /desk/ (agenda.desk)
    if app.config["AGENDA_PREBUILD"]:
        from agenda.web.prebuild import prebuild

        store.prepare = lambda old, new: prebuild(app, old, new)
        prebuild(app, None, store.served())
    return app
