"""`agenda editor`: who may log in to the editors' desk, kept in a file beside the schedule."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from agenda import DEFAULT_DATA
from agenda.desk.drafts import drafts_folder, key
from agenda.desk.editors import EditorError, add_editor, editors_path, read_editors, remove_editor
from agenda.i18n import _
from agenda.published import CannotWrite, as_owner


@click.group()
def editor() -> None:
    """Manage who may log in to the editors' desk (/desk/): a file beside the schedule."""


def _schedule(data: str | None) -> Path:
    schedule = Path(data or os.environ.get("AGENDA_DATA", DEFAULT_DATA))
    if schedule.is_dir():  # in the loader's words, not as click's usage error (in English)
        click.echo(_("{place}: {message}", place=schedule, message=_(
            "is a folder, not a schedule file; name the .toml file inside it")), err=True)
        sys.exit(1)
    return schedule


def _editors_file(data: str | None, writing: bool = False) -> Path:
    schedule = _schedule(data)
    if writing:  # as root, a file the service could not read: every login would fail
        try:
            as_owner(schedule)
        except CannotWrite as error:
            _fail(editors_path(schedule), error)
    return editors_path(schedule)


def _fail(target: Path, error: EditorError | CannotWrite | OSError) -> NoReturn:
    if isinstance(error, OSError):  # a folder that does not exist, or is not ours
        error = EditorError(_("cannot write {path}: {reason}", path=target, reason=error))
    click.echo(_("agenda: {error}", error=error), err=True)
    sys.exit(1)


_DATA_OPTION = click.option(
    "--data", type=click.Path(),
    help="Schedule file (default: $AGENDA_DATA or data/sessions.toml).",
)


@editor.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The editor's full name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@_DATA_OPTION
def editor_add(email: str, name: str, password_stdin: bool, data: str | None) -> None:
    """Add the editor EMAIL (or set a new password); asks for the password twice."""
    target = _editors_file(data, writing=True)  # refused before the password is asked
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:  # asked again here: click's confirmation said « The two entered values do not match. »
        while (password := click.prompt(_("Password"), hide_input=True, prompt_suffix=" : ")) \
                != click.prompt(_("The same password again"), hide_input=True, prompt_suffix=" : "):
            click.echo(_("The two passwords differ; type them again."), err=True)
    try:
        add_editor(target, email, name, password)
    except (EditorError, CannotWrite, OSError) as error:
        _fail(target, error)
    click.echo(_("{path}: {email} may log in to the desk (/desk/).", path=target,
                 email=email.strip().lower()))


@editor.command("remove")
@click.argument("email")
@_DATA_OPTION
def editor_remove(email: str, data: str | None) -> None:
    """Remove the editor EMAIL: their sessions end at once."""
    target = _editors_file(data, writing=True)
    try:
        remove_editor(target, email)
    except (EditorError, CannotWrite, OSError) as error:
        _fail(target, error)
    email = email.strip().lower()
    click.echo(_("{path}: {email} removed.", path=target, email=email))
    # Their draft is nobody else's: said, or the work in it is forgotten without a word.
    draft = drafts_folder(_schedule(data)) / f"{key(email)}.json"
    if draft.exists():
        click.echo(_("{path}: the draft {email} did not publish stays there; `agenda editor add` "
                     "with this address gives it back, or another editor makes its changes "
                     "again", path=draft, email=email))


@editor.command("list")
@_DATA_OPTION
def editor_list(data: str | None) -> None:
    """List the editors: e-mail and name, one a line."""
    target = _editors_file(data)
    try:
        found = read_editors(target)
    except EditorError as error:
        _fail(target, error)
    for editor in found.values():
        click.echo(f"{editor.email}\t{editor.name}")
