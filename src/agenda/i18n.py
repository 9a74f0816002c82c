"""The messages editors read, from a Babel message catalogue: English msgids, French texts.

The catalogue is `locales/<language>/LC_MESSAGES/messages.po`, read once at import
with Babel (no compiling step: it works the same from a checkout and a wheel).
$AGENDA_MESSAGES names the language (default "fr"); a language without a catalogue
gets the English msgids. Code and logs stay English: only what editors read is here.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).with_name("locales")


def catalogue(language: str) -> dict[str, str]:
    """The translated messages of `language` by msgid; empty when it has no catalogue."""
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and m.string and not m.fuzzy}


_MESSAGES = catalogue(os.environ.get("AGENDA_MESSAGES", "fr"))


def _(msgid: str, **values: object) -> str:
    """The text of `msgid` with `values` put in; an OSError's reason too (as {error}: its file)."""
    text = _MESSAGES.get(msgid, msgid)
    for key, value in values.items():
        if isinstance(value, OSError):
            file = f" ({value.filename})" if key == "error" and value.filename else ""
            values[key] = said(value) + file
    return text.format(**values) if values else text


def said(error: Exception) -> str:
    """`error` in the reader's words: ours as it is; a system call's failure as the catalogue says
    the C library's reason (strerror, in English), else by its errno's name (ENOTEMPTY)."""
    return str(error) if not isinstance(error, OSError) or not error.strerror else \
        _MESSAGES.get(error.strerror) or _("system error {name}", name=errno.errorcode.get(
            error.errno or 0, "?"))
