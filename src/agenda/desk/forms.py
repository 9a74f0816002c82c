"""The desk's forms, made from the file format's declaration (agenda.format).

Each declared field becomes an input with its French label, help and kind; a
field added to format.py appears here without other change. `read` turns the
submitted form back into the values the schedule file holds, with a French
message on each field it cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from agenda.errors import Problem
from agenda.format import (
    CALENDAR,
    CONTACT,
    LEGACY,
    SERIES,
    SESSION,
    TABLES,
    TOP,
    Field,
    Kind,
    Table,
)
from agenda.i18n import _
from agenda.render.wording import STATUS_LABELS

ROWS_EXTRA = 1  # empty rows offered under a list of people or contacts, to add one
# Kinds holding a wall-clock date and time ("local date-time", or one that may also be
# written as a time alone): the desk always asks for both, with the browser's picker.
DATE_TIMES = frozenset(k for k in Kind if k.value.startswith("local date-time"))
# An e-mail address is text (with the e-mail keyboard): Chromium's type=email sends a domain
# with accents as punycode, and « presse@mairie-évry.fr » was published « …@xn--mairie-vry-h7a.fr ».
_INPUT = {
    Kind.URL: "url", Kind.INTEGER: "number", Kind.DATE: "date",
    Kind.TIME: "time", **dict.fromkeys(DATE_TIMES, "datetime-local"),
}
CHOICE_LABELS = {s.value: label for s, label in STATUS_LABELS.items()}
EXAMPLES = {
    **dict.fromkeys(DATE_TIMES, _("Write the date and time like this: 2026-12-16T08:45.")),
    Kind.INSTANT: _("Write the date like this: 2026-12-16 (or 2026-12-16T08:45)."),
    Kind.DATE: _("Write the date like this: 2026-12-16."),
    Kind.TIME: _("Write the time like this: 08:45."),
    Kind.INTEGER: _("Write a whole number, for example 4."),
}


@dataclass(frozen=True, slots=True)
class Input:
    """One input of a form: its name in the form, declaration, shown value and error."""

    name: str
    field: Field
    value: Any
    error: str = ""
    readonly: bool = False
    children: tuple[Any, ...] = ()  # for a table: its inputs; for tables: rows of inputs

    @property
    def type(self) -> str:
        """The HTML input type, or the element to use ('textarea', 'select', 'checkbox'…)."""
        if self.field.kind in (Kind.MULTILINE, Kind.STRINGS):
            return "textarea"
        if self.field.kind is Kind.CHOICE:
            return "select"
        if self.field.kind is Kind.BOOLEAN:
            return "checkbox"
        if self.field.kind in (Kind.TABLE, Kind.TABLES):
            return self.field.kind.name.lower()
        return _INPUT.get(self.field.kind, "text")

    @property
    def dom_id(self) -> str:
        """The element id: the name with dots as hyphens."""
        return dom_id(self.name)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, French label) of a choice."""
        return [(c, CHOICE_LABELS.get(c, c)) for c in self.field.choices]


def dom_id(name: str) -> str:
    """The element id of the input named `name`: the name with dots as hyphens."""
    return "f-" + name.replace(".", "-")


def shown_names(shown: Iterable[Any]) -> set[str]:
    """The names of the inputs `shown` and of those inside them (a table's, each row's)."""
    found: set[str] = set()
    for item in shown:
        if isinstance(item, Input):
            found |= {item.name, *shown_names(item.children)}
        else:  # a row of a list of tables
            found |= shown_names(item)
    return found


def editable(table: Table, only: tuple[str, ...] = ()) -> tuple[Field, ...]:
    """The fields of `table` an editor may set (legacy fields left out), or just `only`."""
    if only:
        return tuple(f for f in table.fields if f.name in only)
    return tuple(f for f in table.fields if not f.description.startswith(LEGACY))


def _shown(field: Field, value: Any) -> Any:
    """A file value as the input shows it."""
    if value is None:
        return "" if field.kind is not Kind.BOOLEAN else bool(field.default)
    if field.kind in DATE_TIMES and isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if field.kind is Kind.TIME and isinstance(value, time):
        return value.strftime("%H:%M")
    if field.kind is Kind.STRINGS:  # a list of texts, or whatever a hand edit wrote
        return "\n".join(map(str, value)) if isinstance(value, list) else str(value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    return value


def inputs(fields: tuple[Field, ...], values: Mapping[str, Any], errors: Mapping[str, str],
           prefix: str = "", fixed: tuple[str, ...] = (),
           typed: Mapping[str, str] | None = None) -> list[Input]:
    """The inputs of `fields` showing `values` (a table's plain values) and `errors` by name;
    an input with an error shows what was `typed` in it, to be corrected."""
    found = []
    for field in fields:
        name = prefix + field.name
        value = values.get(field.name)
        if field.kind in DATE_TIMES and isinstance(value, time) \
                and isinstance(values.get("start"), datetime):
            value = datetime.combine(values["start"].date(), value)  # a time alone: that day
        children: tuple[Any, ...] = ()
        # A hand edit may hold a text where a table belongs: `agenda check` says so, and the
        # form offers empty inputs to write it anew.
        if field.kind is Kind.TABLE and field.table:
            mapping = value if isinstance(value, dict) else {}
            children = tuple(inputs(TABLES[field.table].fields, mapping, errors, name + ".",
                                    typed=typed))
        elif field.kind is Kind.TABLES and field.table:
            found_rows = value if isinstance(value, list) else []
            rows = [r for r in found_rows if isinstance(r, dict)] + [{}] * ROWS_EXTRA
            children = tuple(
                tuple(inputs(TABLES[field.table].fields, row, errors, f"{name}.{i}.", typed=typed))
                for i, row in enumerate(rows)
            )
        shown = _shown(field, value)
        if name in errors and typed is not None and name in typed:
            shown = typed[name]
        found.append(Input(name, field, shown, errors.get(name, ""), field.name in fixed,
                           children))
    return found


def submitted(shown: list[Input] | tuple[Input, ...]) -> dict[str, str]:
    """What a browser submits from these inputs left as shown, by input name."""
    found: dict[str, str] = {}
    for item in shown:
        if item.type in ("table", "tables"):
            for child in item.children:
                found.update(submitted(child if isinstance(child, tuple) else (child,)))
        elif item.type == "checkbox":
            found.update({item.name: "1"} if item.value else {})
        else:
            value = (item.value or item.field.default) if item.type == "select" else item.value
            found[item.name] = str(value)
    return found


def _read_one(field: Field, text: str) -> Any:
    """One submitted value as the file holds it; ValueError with a French message."""
    text = text.replace("\r\n", "\n")
    if field.kind is not Kind.MULTILINE:
        text = text.strip()
    else:
        text = text.strip("\n")
    if not text:
        if field.required:
            raise ValueError(_("This field is required."))
        return None
    kind = field.kind
    try:
        if kind is Kind.INTEGER:
            return int(text)
        if kind in DATE_TIMES:
            return datetime.fromisoformat(text).replace(second=0, microsecond=0)
        if kind is Kind.INSTANT:
            return datetime.fromisoformat(text) if "T" in text or " " in text \
                else date.fromisoformat(text)
        if kind is Kind.DATE:
            return date.fromisoformat(text)
        if kind is Kind.TIME:
            return time.fromisoformat(text)
    except ValueError:
        raise ValueError(EXAMPLES.get(kind, _("Unreadable value."))) from None
    if kind is Kind.STRINGS:
        return [line.strip() for line in text.split("\n") if line.strip()]
    if kind is Kind.CHOICE and text not in field.choices:
        raise ValueError(_("Choose one of the values offered."))
    return text


def read(fields: tuple[Field, ...], form: Mapping[str, str],
         prefix: str = "") -> tuple[dict[str, Any], dict[str, str]]:
    """The values a submitted form sets, by field name, and French errors by input name."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        name = prefix + field.name
        if field.kind is Kind.BOOLEAN:
            values[field.name] = name in form
        elif field.kind is Kind.TABLE and field.table:
            sub = _optional(form, name + ".")
            inner, problems = read(TABLES[field.table].fields, sub, name + ".") if sub else ({}, {})
            values[field.name] = {k: v for k, v in inner.items() if v is not None} or None
            errors.update(problems)
        elif field.kind is Kind.TABLES and field.table:
            rows, problems, _kept = read_rows(TABLES[field.table].fields, form, name + ".")
            values[field.name] = rows or None
            errors.update(problems)
        else:
            try:
                values[field.name] = _read_one(field, form.get(name, ""))
            except ValueError as error:
                errors[name] = str(error)
    return values, errors


def _optional(form: Mapping[str, str], prefix: str) -> Mapping[str, str]:
    """A sub-table's inputs; all empty means no table, so its required fields are not asked."""
    mine = {k: v for k, v in form.items() if k.startswith(prefix)}
    return mine if any(v.strip() for v in mine.values()) else {}


def _by_row(form: Mapping[str, str], prefix: str) -> list[dict[str, str]]:
    """The inputs of each row of a list of tables, row 0 first: the form read once, not once
    a row (256 KB)."""
    by_row: dict[str, dict[str, str]] = {}
    for key, value in form.items():
        if key.startswith(prefix):
            by_row.setdefault(key[len(prefix):].partition(".")[0], {})[key] = value
    found: list[dict[str, str]] = []
    while str(len(found)) in by_row:
        found.append(by_row[str(len(found))])
    return found


def read_rows(fields: tuple[Field, ...], form: Mapping[str, str],
              prefix: str) -> tuple[list[dict[str, Any]], dict[str, str], list[int]]:
    """The rows of a list of tables (speakers, contacts), empty rows dropped, French errors by
    input name, and the place in the form of each row kept."""
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    kept: list[int] = []
    for index, inputs in enumerate(_by_row(form, prefix)):
        row_form = _optional(inputs, f"{prefix}{index}.")
        if row_form:
            row, problems = read(fields, row_form, f"{prefix}{index}.")
            rows.append({k: v for k, v in row.items() if v is not None})
            errors.update(problems)
            kept.append(index)
    return rows, errors, kept


def typed_rows(form: Mapping[str, str], prefix: str) -> list[dict[str, str]]:
    """The rows of a list of tables as typed, each in its place (a row emptied stays empty),
    for a form shown again to be corrected; the empty rows at the end left out."""
    rows = [{key[len(f"{prefix}{index}."):]: value for key, value in inputs.items()}
            for index, inputs in enumerate(_by_row(form, prefix))]
    while rows and not any(value.strip() for value in rows[-1].values()):
        rows.pop()
    return rows


def problem_field(table: Table, path: str, kept: Mapping[str, list[int]] | None = None) -> str:
    """The input a loader problem about `path` is shown on: « moderator.name »; « speakers.2.role »
    when `kept` says where in the form each row the loader counts is (rows emptied are
    dropped); else the input of the whole field, or "" when the table has no such field."""
    base, _dot, sub = path.partition(".")
    name, _bracket, index = base.partition("[")
    field = table.by_name.get(name)
    if field is None:
        return ""
    places = (kept or {}).get(name, [])
    index = index.rstrip("]")
    if field.kind is Kind.TABLE and sub and not index:
        return f"{name}.{sub}"
    if field.kind is Kind.TABLES and sub and index.isdigit() and int(index) < len(places):
        return f"{name}.{places[int(index)]}.{sub}"
    return name


def input_words(table: Table, name: str) -> str:
    """An input's name in the form's words: « speakers.1.role » → « Intervenants : n° 2 ›
    Fonction », as its row's legend and its label say."""
    return _field_words(table, re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", name))


# How the loader and the history name the table a problem is in, by msgid (agenda.loader).
_PLACES = (("session '{id}'", SESSION), ("session #{number} (no id)", SESSION),
           ("series '{id}'", SERIES), ("series #{number} (no id)", SERIES),
           ("contact #{number}", CONTACT), ("[calendar]", CALENDAR), ("top level", TOP))


def _table_of(where: str) -> Table | None:
    """The table a problem's `where` names (« séance « lyon », ligne 12 »: a session)."""
    for msgid, table in _PLACES:
        if where.startswith(_(msgid).split("{", 1)[0]):
            return table
    return None


def _field_words(table: Table | None, path: str) -> str:
    """A problem's field path as the form shows it: « speakers[2].name » → « Intervenants :
    n° 3 › Nom »; the path itself when it is no field the form has."""
    words = []
    for part in path.split("."):
        name, _bracket, index = part.partition("[")
        field = table.by_name.get(name) if table is not None else None
        if field is None or not field.label:
            return path
        index = index.rstrip("]")
        if index.isdigit():  # the loader counts from 0, the form's rows from 1
            words.append(_("{label}: no. {number}", label=field.label, number=int(index) + 1))
        else:
            words.append(field.label)
        table = TABLES.get(field.table or "")
    return " › ".join(words)


def problem_text(problem: Problem) -> str:
    """A problem of the draft as the desk says it: where, the field by its label in the form
    (« champ « Numéro » », not « champ number »), and the message in the form's words."""
    table = _table_of(problem.where)
    field = _("field {name}", name=_("'{title}'", title=_field_words(table, problem.field))) \
        if problem.field else ""
    # The calendar's table, as the desk's menu names its form.
    where = _("Agenda settings") if table is CALENDAR else problem.where
    place = ", ".join(part for part in (where, field) if part)
    message = in_words(problem.message, table) if table is not None else problem.message
    return _("{place}: {message}", place=place, message=message) if place else message


def in_words(message: str, table: Table) -> str:
    """A loader message with the file's field names as the form's labels: « start » → « Début »,
    and its tables as the desk's pages: « [[contacts]] » → « Contacts presse »."""
    for field in table.fields:
        label = _("'{title}'", title=field.label)
        message = message.replace(f"« {field.name} »", label).replace(f"'{field.name}'", label)
    for field in TOP.fields:
        message = message.replace(f"[[{field.name}]]", _("'{title}'", title=field.label))
    return message
