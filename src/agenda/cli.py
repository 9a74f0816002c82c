"""The `agenda` command: check a schedule file, serve it, or make a personal link."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from agenda import DEFAULT_DATA, personal
from agenda.errors import ScheduleError
from agenda.loader import EMAIL, load_schedule


def _default_path() -> str:
    return os.environ.get("AGENDA_DATA", DEFAULT_DATA)


@click.group()
def main() -> None:
    """Publish an event series as calendar feeds, news feeds and web pages."""


@main.command()
# The loader, not click, judges the path: a folder or an unreadable file is then a
# problem like any other (exit 1), not a usage error (exit 2).
@click.argument("path", required=False, type=click.Path(readable=False, path_type=Path))
def check(path: Path | None) -> None:
    """Validate the schedule file PATH (default: $AGENDA_DATA or data/sessions.toml).

    Prints every problem and exits 1, or prints a one-line summary and exits 0.
    """
    target = path or Path(_default_path())
    try:
        schedule = load_schedule(target)
    except ScheduleError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        count = len(error.problems)
        click.echo(f"{target}: {count} problem{'s' if count != 1 else ''}.", err=True)
        sys.exit(1)
    dated = len(schedule.dated_sessions)
    click.echo(
        f"{target}: OK, {len(schedule.series)} series, {len(schedule.sessions)} sessions "
        f"({dated} dated), {len(schedule.contacts)} contacts."
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers.")
@click.option(
    "--data",
    type=click.Path(readable=False),
    help="Schedule file (default: $AGENDA_DATA or data/sessions.toml).",
)
def serve(host: str, port: int, workers: int, data: str | None) -> None:
    """Serve the schedule with gunicorn; refuses to start on an invalid file."""
    from gunicorn.app.base import BaseApplication

    from agenda import create_app

    if data:
        os.environ["AGENDA_DATA"] = data
    path = _default_path()
    try:
        app = create_app({"AGENDA_DATA": path})
    except ScheduleError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo("agenda: not starting until the schedule is valid.", err=True)
        sys.exit(1)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self) -> object:
            return app

    click.echo(f"agenda: serving {path} at http://{host}:{port}/  (Ctrl-C to stop)")
    Server().run()


@main.command()
@click.argument("session_id")
@click.option("--email", help="Make the link for this registered person's address.")
@click.option(
    "--data",
    type=click.Path(readable=False),
    help="Schedule file (default: $AGENDA_DATA or data/sessions.toml).",
)
def link(session_id: str, email: str | None, data: str | None) -> None:
    """Print the personal URL of SESSION_ID: its page and .ics with the private video link.

    The URL is signed with $AGENDA_SECRET (the server must have the same value);
    changing the secret revokes every link. The URL is on the last line.
    """
    try:
        secret_key = personal.key(os.environ.get(personal.SECRET_VARIABLE))
    except personal.SecretError as error:
        click.echo(f"agenda: {error}", err=True)
        sys.exit(1)
    if email is not None and not EMAIL.match(email.strip()):
        click.echo(f"agenda: '{email}' is not an email address, such as 'name@example.org'.",
                   err=True)
        sys.exit(1)
    target = data or _default_path()
    try:
        schedule = load_schedule(target)
    except ScheduleError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo("agenda: no link until the schedule is valid.", err=True)
        sys.exit(1)
    session = schedule.session(session_id)
    if session is None:
        known = ", ".join(s.id for s in schedule.sessions)
        click.echo(f"agenda: no session '{session_id}' in {target}; sessions: {known}.", err=True)
        sys.exit(1)
    if not session.video_url:
        click.echo(f"agenda: note: session '{session_id}' has no video_url yet; the link will "
                   "show it once it is set.", err=True)
    calendar = schedule.calendar
    click.echo(f"Fichier .ics : {personal.ics_url(calendar, secret_key, session_id, email)}")
    click.echo(personal.page_url(calendar, secret_key, session_id, email))
