"""TOML syntax errors explained to editors: the line, the field, and what to write instead.

tomli (a TOMLDecodeError) says where it stopped ("at line 86, column 11") and why, in a
parser's words. Editors get the line, the key written on it, and the form expected there.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import takewhile

from agenda.format import TABLES
from agenda.i18n import _

LOCATION = re.compile(r"\(at line (\d+), column (\d+)\)")
KEY = re.compile(r'\s*([A-Za-z0-9_.-]+|"[^"\n]*")\s*=\s*(.*)')
DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?")
DATE_LIKE = re.compile(r"\d{1,4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,4}")
TIME_LIKE = re.compile(r"(\d{1,2})\s*[:hH]\s*(\d{2})")
SESSION_ID = re.compile(r'\s*id\s*=\s*["\']([^"\']+)["\']')
MULTILINE = re.compile('"""|\'\'\'')
PUBLIC = {f.name for table in TABLES.values() for f in table.fields if not f.private}


def _unclosed_multiline(text: str) -> int | None:
    """The number of the line that opens a multi-line string never closed, if any."""
    opened: re.Match[str] | None = None
    for quotes in MULTILINE.finditer(text):
        if opened is None or quotes.group() == opened.group():
            opened = None if opened else quotes
    return text.count("\n", 0, opened.start()) + 1 if opened else None


def _session_at(lines: list[str], number: int) -> str | None:
    """The id of the [[sessions]] table that line `number` is in, when it can be read."""
    heads = [i for i in range(number) if lines[i].lstrip().startswith("[")]
    if not heads or lines[heads[-1]].strip() != "[[sessions]]":
        return None
    table = takewhile(lambda line: not line.lstrip().startswith("["), lines[heads[-1] + 1:])
    return next((found.group(1) for line in table if (found := SESSION_ID.match(line))), None)


def explain(text: str, error: ValueError) -> tuple[str, str, str]:
    """(where, field, message), in the editor's language, of a TOML syntax error: where
    names the line, and the session when the line is in one."""
    lines = text.split("\n")
    found = LOCATION.search(str(error))
    opened = None if found else _unclosed_multiline(text)
    # Without a line (at the end of the document): where a multi-line text opens, else the last.
    last = max((i for i, line in enumerate(lines, 1) if line.strip()), default=1)
    number = int(found.group(1)) if found else opened or last
    if not 0 < number <= len(lines):
        return "", "", _("this line is not valid TOML")
    written = KEY.match(lines[number - 1])
    key = written.group(1).strip('"') if written else ""
    value = written.group(2).split(" #")[0].strip() if written else ""
    if key not in PUBLIC and value[:1].isalpha():  # quoted below, and /healthz is public
        value = re.sub(r"[^\"'\s]+", "https://…", value)
    where = _("line {number}", number=number)
    if session := _session_at(lines, number):
        where = ", ".join((_("session '{id}'", id=session), where))
    if opened:
        return where, key, _('a text begun with """ is never closed: end it with """')
    return where, key, _message(value)


def _message(value: str) -> str:
    if value.startswith('"') and (len(value) == 1 or not value.endswith('"')):
        return _('the closing quote (") is missing at the end of the text')
    if value.endswith('"') and not value.startswith('"'):
        return _('the opening quote (") is missing at the start of the text')
    if day := DAY.match(value):
        try:
            date(*(int(day.group(i)) for i in (1, 2, 3)))
        except ValueError:
            return _("this date does not exist: {value}", value=value[:10])
        if day.group(4) and (int(day.group(4)) > 23 or int(day.group(5)) > 59):
            return _("this time does not exist: {value}", value=day.group(0))
    if DATE_LIKE.search(value):
        return _("write the date like this: {example}", example="2026-12-16T08:45:00")
    if clock := TIME_LIKE.match(value):
        hour, minute = int(clock.group(1)), int(clock.group(2))
        example = f"{hour:02d}:{minute:02d}:00" if hour < 24 and minute < 60 else "08:45:00"
        return _("write the time like this: {example}", example=example)
    if value and value[0].isalpha() and value not in ("true", "false"):
        return _('a text is written between straight quotes, like this: "{value}"', value=value)
    return _("this line is not valid TOML")  # tomllib's reason is English
