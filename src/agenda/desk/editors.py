"""The editors of a schedule: a JSON file beside it with names, e-mails and password hashes.

`data/sessions.editors.json` lists who may use the desk. Passwords are kept as
Werkzeug scrypt hashes. Each editor has a `valid_after` stamp: logging out moves
it to now, so every session cookie issued before is refused from then on.
The file is written atomically (temporary file, then rename), readable by its
owner only; every change reads and writes it under one lock, so that two changes at
once (a logout and `agenda editor add`) both last.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from agenda.errors import AgendaError
from agenda.i18n import _, said
from agenda.loader import EMAIL
from agenda.published import write_atomically

MIN_PASSWORD = 10
# Compared against when the e-mail is unknown, so that a wrong e-mail costs as long as
# a wrong password and timing does not tell which editors exist.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class EditorError(AgendaError, ValueError):
    """An editor cannot be added or removed; the message says why, in French."""


@dataclass(frozen=True, slots=True)
class Editor:
    """One person who may edit the schedule in the desk."""

    email: str
    name: str
    password: str  # the hash
    valid_after: float = 0.0  # sessions started at or before this (Unix time) are refused


def editors_path(schedule_path: str | Path) -> Path:
    """The editors file of a schedule: beside it, `<name>.editors.json`."""
    path = Path(schedule_path)
    return path.with_name(path.stem + ".editors.json")


def read_editors(path: Path) -> dict[str, Editor]:
    """Every editor by e-mail (lowercase); empty when the file does not exist; EditorError
    when it is not an editors file (a hand edit gone wrong)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {e["email"]: Editor(**e) for e in data.get("editors", [])}
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise EditorError(_("{path}: cannot read ({reason})", path=path,
                            reason=said(error))) from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise EditorError(_("{path} is not an editors file as `agenda editor add` writes it: "
                            "fix it, or put back its copy.", path=path)) from None


@contextlib.contextmanager
def _changing(path: Path) -> Iterator[dict[str, Editor]]:
    """The editors, read under an exclusive lock and written back as the caller left them.

    The lock is a hidden file beside (the editors file itself is replaced by a rename,
    which a lock on it would not survive), held by every worker and command alike.
    """
    fd = os.open(path.with_name("." + path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        editors = read_editors(path)
        yield editors
        _write(path, editors)
    finally:
        os.close(fd)  # releases the lock


def _write(path: Path, editors: dict[str, Editor]) -> None:
    text = json.dumps({"editors": [asdict(e) for e in editors.values()]},
                      ensure_ascii=False, indent=1) + "\n"
    # Readable by its owner only: it holds the password hashes.
    write_atomically(path, lambda out: out.write(text.encode("utf-8")), 0o600)


def add_editor(path: Path, email: str, name: str, password: str) -> Editor:
    """Add an editor (or set a known editor's name and password); EditorError when invalid."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise EditorError(_("'{email}' is not an e-mail address (name@example.org).",
                                email=email))
    if not name.strip():
        raise EditorError(_("Give the editor's name with --name."))
    if len(password) < MIN_PASSWORD:
        raise EditorError(_("The password must have at least {least} characters.",
                                least=MIN_PASSWORD))
    hashed = generate_password_hash(password)  # slow on purpose: before the lock
    with _changing(path) as editors:
        editor = Editor(email, name.strip(), hashed, time.time())
        editors[email] = editor
    return editor


def remove_editor(path: Path, email: str) -> None:
    """Remove an editor; EditorError when there is no such editor."""
    with _changing(path) as editors:
        if editors.pop(email.strip().lower(), None) is None:
            raise EditorError(_("No editor '{email}' in {path}.", email=email, path=path))


def authenticate(path: Path, email: str, password: str) -> Editor | None:
    """The editor with this e-mail and password, or None."""
    editor = read_editors(path).get(email.strip().lower())
    if editor is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return editor if check_password_hash(editor.password, password) else None


def failures_path(editors_file: Path) -> Path:
    """Where failed logins are counted, shared by every worker process: a hidden file beside."""
    return editors_file.with_name("." + editors_file.stem + ".failures.json")


def count_failure(path: Path, keys: tuple[str, ...], now: float, window: float,
                  record: bool) -> dict[str, int]:
    """Failed logins within `window` seconds by key, after recording one for `keys` if asked.

    The file is read and rewritten under an exclusive lock, so that every worker
    of the server counts the same failures.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with contextlib.closing(os.fdopen(fd, "r+", encoding="utf-8")) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            found = json.loads(handle.read() or "{}")
        except ValueError:
            found = {}
        kept = {k: [t for t in times if now - t < window] for k, times in found.items()}
        if record:
            for key in keys:
                kept.setdefault(key, []).append(now)
        kept = {k: times for k, times in kept.items() if times}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(kept))
        return {key: len(kept.get(key, [])) for key in keys}


def end_sessions(path: Path, email: str, moment: float) -> None:
    """Refuse from now on every session of this editor started before `moment` (logout)."""
    with _changing(path) as editors:
        if email in editors:
            editors[email] = Editor(**{**asdict(editors[email]), "valid_after": moment})
