"""The `agenda` command: check a schedule file, serve it, or make a personal link."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from agenda import DEFAULT_DATA, create_app, fixed_moment, hosting, personal, site
from agenda.desk.commands import editor
from agenda.errors import AgendaError, ScheduleError
from agenda.i18n import _
from agenda.loader import EMAIL, load_schedule
from agenda.published import (
    CannotWrite,
    PublishedError,
    as_owner,
    digest_of_file,
    moved,
    pending_changes,
    published_path,
    read_mark,
    read_version,
)
from agenda.published import publish as publish_file
from agenda.store import built_mark, ensure_site, site_root_for


def _default_path() -> str:
    return os.environ.get("AGENDA_DATA", DEFAULT_DATA)


def _files(given: Path | str | None) -> tuple[Path, Path, Path]:
    """Schedule `given` (or the default), its published version and its site folders: those of
    $AGENDA_PUBLISHED and $AGENDA_SITE, else beside it."""
    target = Path(given or _default_path())
    published, root = os.environ.get("AGENDA_PUBLISHED"), os.environ.get("AGENDA_SITE")
    return target, Path(published or published_path(target)), Path(root or site_root_for(target))


def _quit(message: object) -> NoReturn:
    """Print `message` on stderr and exit 1."""
    click.echo(message, err=True)
    sys.exit(1)


def _fail(error: ScheduleError, target: Path, closing: str | None = None) -> NoReturn:
    """Print the schedule's problems, then `closing` (default: how many), and exit 1."""
    click.echo(error, err=True)  # its problems, one a line: a ScheduleError's text
    count = len(error.problems)
    _quit(closing or (_("{path}: 1 problem.", path=target) if count == 1
                      else _("{path}: {count} problems.", path=target, count=count)))


_DATA_OPTION = click.option("--data", type=click.Path(readable=False),
                            help="Schedule file (default: $AGENDA_DATA or data/sessions.toml).")


@click.group()
def main() -> None:
    """Publish an event series as calendar feeds, news feeds and web pages."""


@main.command()
# The loader judges the path, not click: a folder is a problem (exit 1), not a usage error (2).
@click.argument("path", required=False, type=click.Path(readable=False, path_type=Path))
def check(path: Path | None) -> None:
    """Validate the schedule file PATH (default: $AGENDA_DATA or data/sessions.toml).

    Prints every problem and exits 1; or prints a summary, then what publishing
    the file would change, session by session, and exits 0.
    """
    target, published, root = _files(path)
    try:
        schedule = load_schedule(target)
    except ScheduleError as error:
        _fail(error, target)
    click.echo(_(
        "{path}: OK, {series} series, {sessions} sessions ({dated} dated), {contacts} contacts.",
        path=target, series=len(schedule.series), sessions=len(schedule.sessions),
        dated=len(schedule.dated_sessions), contacts=len(schedule.contacts)))
    now = datetime.now(UTC)
    for s in schedule.sessions:  # a replay link of a session that has not taken place yet
        if s.replay_url and not s.held and (s.end is None or s.end > now):
            click.echo(_("{path}: session '{id}', field replay_url: beware, the session has not "
                         "taken place yet (it ends later or has no date); check the link, or "
                         "write held = true for a session without a date already held",
                         path=target, id=s.id), err=True)
    try:
        current, following, changes = pending_changes(target, published, now, built_mark(root))
    except ScheduleError as error:
        _fail(error, target, _("{path}: cannot be published as it is.", path=target))
    except PublishedError as error:
        _quit(error)
    if current is None:
        click.echo(_("{path}: nothing published yet; the first version takes its times from "
                     "the file:", path=published))
    elif following is current:
        click.echo(_("{path}: {label}, up to date with the file.",
                     path=published, label=current.label))
        return
    else:
        click.echo(_("{path}: {label} is behind the file; publishing would make version "
                     "{number}:", path=published, label=current.label, number=following.number))
    for change in changes:
        click.echo(f"  {change}")
    if not changes:  # a first version of a file without sessions: its colon ends a line too
        click.echo(_("  no session changes (edits outside the sessions)") if current is not None
                   else _("  no session: the first version publishes an empty agenda"))


@main.command()
@click.argument("path", required=False, type=click.Path(readable=False, path_type=Path))
@click.option("--withdraw", multiple=True, metavar="ID", help="Let this published session, "
              "removed from the file, go without a cancellation (repeatable).")
@click.option("--correction/--announce", default=None, help="Publish the changes as corrections "
              "(calendars only, no news entry) or announce them (default: changes within 15 "
              "minutes of a session's previous publication are corrections).")
@click.option("--new-history", is_flag=True, help="Build on the history on disk even if it is "
              "older than the last one published here, missing (a new one from the file) or "
              "unreadable, and acknowledge it.")
def publish(path: Path | None, withdraw: tuple[str, ...], correction: bool | None,
            new_history: bool) -> None:
    """Publish the schedule file PATH (default: $AGENDA_DATA or data/sessions.toml).

    Writes it as a new published version beside the file (or to $AGENDA_PUBLISHED), under the
    same lock as the running server, and prints what changed. Exits 1, with nothing published,
    when the file is invalid or drops a published session, or when the history is older than
    the last one published here (see --new-history).
    """
    target, published, root = _files(path)
    try:
        as_owner(target)
        outcome = publish_file(
            target, published, datetime.now(UTC), withdraw=withdraw, correction=correction,
            new_history=new_history, built=built_mark(root))
    except ScheduleError as error:
        _fail(error, target, _("{path}: not published.", path=target))
    except (PublishedError, CannotWrite) as error:
        _quit(_("{error}; not published.", error=error))
    label = outcome.version.label
    if new_history:
        click.echo(_("{path}: history acknowledged from {label}.", path=published, label=label))
    if not outcome.written:
        click.echo(_("{path}: {label}, already up to date with {target}.",
                     path=published, label=label, target=target))
        return
    click.echo(_("{path}: published {label}.", path=published, label=label))
    for change in outcome.changes:
        click.echo(f"  {change}")
    if not new_history and not read_mark(published).acknowledged:  # as /healthz says
        click.echo(_("{path}: a new history, from the file alone; /healthz reports it until "
                     "`agenda publish --new-history` confirms it", path=published), err=True)


@main.command()
@click.option("--host", help="Address to listen on (default: the configuration's, 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: the configuration's, 8000).")
@click.option("--workers", type=int, help="gunicorn workers (default: 2 per CPU + 1).")
@_DATA_OPTION
@click.option("--config", type=click.Path(path_type=Path),
              help="A gunicorn settings file read over the package's own, agenda/gunicorn_conf.py.")
def serve(host: str | None, port: int | None, workers: int | None, data: str | None,
          config: Path | None) -> None:
    """Serve the schedule with gunicorn; refuses to start on an invalid file."""
    from gunicorn.app.base import Application

    if config is not None and not config.is_file():  # in French, not as click's usage error
        _quit(_("agenda: {path} is not a gunicorn settings file", path=config))
    if data:
        os.environ["AGENDA_DATA"] = data
    path = _default_path()
    settings = [Path(__file__).with_name("gunicorn_conf.py"), *([config] if config else [])]

    class Server(Application):  # type: ignore[misc]
        """gunicorn with the project's settings file, serving the app loaded below."""

        def load_config(self) -> None:
            for path in settings:
                self.load_config_from_file(str(path))
            address = f"[{host.strip('[]')}]" if host and ":" in host else host  # IPv6: [::]
            if host or port is not None:
                self.cfg.set("bind", [f"{address or '127.0.0.1'}:{8000 if port is None else port}"])
            if workers:
                self.cfg.set("workers", workers)

        def load(self) -> object:
            return app

    server = Server()  # reads the settings: the log is set up before the app loads
    try:
        app = create_app({"AGENDA_DATA": path})
    except ScheduleError as error:
        _fail(error, Path(path), _("agenda: not starting until the schedule is valid."))
    except AgendaError as error:  # a history not to build on, a data folder not writable
        _quit(_("{error}\nagenda: not starting.", error=error))
    binds = ", ".join(f"http://{b}/" for b in server.cfg.bind)
    click.echo(_("agenda: starting {path} at {binds} with {workers} workers (Ctrl-C to stop)",
                 path=path, binds=binds, workers=server.cfg.workers))
    server.run()


@main.command()
@click.argument("outdir", type=click.Path(resolve_path=True, path_type=Path))
@_DATA_OPTION
@click.option("--now", help="The moment pages and news feeds are built for, ISO 8601 with offset "
              "(default: now). Pin it to rebuild an export identically.")
@click.option("--publish", "publish_first", is_flag=True,
              help="Publish the schedule file first when it differs from the published version.")
def build(outdir: Path, data: str | None, now: str | None, publish_first: bool) -> None:
    """Copy the published version's site folder into OUTDIR, byte for byte the server's answers.

    Pages, feeds (every series and city), JSON, every .ics and the static files, each with .gz and
    .br siblings; plus _headers (Netlify, Cloudflare Pages), _nginx/ and 404.html. Refuses, with
    the list of differences, when the schedule file holds an edit that is not published.
    """
    target, published, root = _files(data)
    try:
        as_owner(target)
        clock = datetime.now(UTC)  # dates a publication; built for it too: dated as it is
        moment = fixed_moment(now) if now else clock
        version = read_version(published, str(target))
        if version is None:
            click.echo(_("{path}: no published version yet; publishing {target} starts its "
                         "history.", path=published, target=target))
        elif not publish_first and digest_of_file(target) != version.digest:
            changes = pending_changes(target, published, clock)[2]
            click.echo(_("agenda: {path} differs from {label}, the published version; "
                         "nothing built. Not published yet:", path=target,
                         label=version.label), err=True)
            for change in changes or [_("(the text only: no session changes)")]:
                click.echo(f"  {change}", err=True)
            _quit(_("Publish it first (agenda publish), or build with agenda build --publish."))
        if version is None or digest_of_file(target) != version.digest or moved(version, clock):
            version = publish_file(target, published, clock).version  # moved: as at a start
        built = ensure_site(root, version, moment, serve=now is None)  # pinned: not served
        count = site.export(built, outdir)
    except ScheduleError as error:
        _fail(error, target, _("agenda: nothing built until the schedule is valid."))
    except (AgendaError, ValueError, OSError) as error:
        _quit(_("agenda: {error}", error=error))  # an OSError's file too
    click.echo(_("{path}: {label}, {urls} URLs, {files} files, from {target}.", path=outdir,
                 label=version.label, urls=len(built.entries), files=count, target=target))
    rules = sum(1 for _entry in hosting.public(built.entries.values()))
    if rules > hosting.CLOUDFLARE_RULES:
        click.echo(_("note: _headers has {rules} rules; Cloudflare Pages applies the first "
                     "{limit} only: serve this folder with nginx or Netlify.", rules=rules,
                     limit=hosting.CLOUDFLARE_RULES))


@main.command()
@click.argument("session_id")
@click.option("--email", help="Make the link for this registered person's address.")
@_DATA_OPTION
def link(session_id: str, email: str | None, data: str | None) -> None:
    """Print the personal URL of SESSION_ID: its page and .ics with the private video link.

    The URL is signed with $AGENDA_SECRET (the server must have the same value);
    changing the secret revokes every link. The URL is on the last line.
    """
    try:
        secret_key = personal.key(os.environ.get(personal.SECRET_VARIABLE))
    except personal.SecretError as error:
        _quit(_("agenda: {error}", error=error))
    if email is not None and not EMAIL.match(email.strip()):
        _quit(_("agenda: {error}", error=_(
            "'{value}' is not an email address, such as 'name@example.org'", value=email)))
    target = data or _default_path()
    try:
        schedule = load_schedule(target)
    except ScheduleError as error:
        _fail(error, Path(target), _("agenda: no link until the schedule is valid."))
    if (session := schedule.session(session_id)) is None:
        _quit(_("agenda: no session '{id}' in {path}; sessions: {known}.", id=session_id,
                path=target, known=", ".join(s.id for s in schedule.sessions) or _("none")))
    if not session.video_url:
        click.echo(_("agenda: note: session '{id}' has no video_url yet; the link will show it "
                     "once it is set.", id=session_id), err=True)
    made_of = (schedule.calendar, secret_key, session_id, email)
    click.echo(_(".ics file: {url}", url=personal.url(*made_of, suffix=".ics")))
    click.echo(personal.url(*made_of))


main.add_command(editor)  # agenda editor add / remove / list (agenda.desk.commands)
