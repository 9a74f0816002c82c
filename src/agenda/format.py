"""The schedule file's format, declared once: every table, its keys, their kinds and limits.

The loader reads a table only through this declaration (an undeclared key, or a key read as
another kind, is a bug that fails loudly), and `json_schema()` turns it into the JSON Schema
that editors use while typing (`data/sessions.schema.json`). Pure: no I/O except as a script.

Regenerate the shipped schema with `python -m agenda.format > data/sessions.schema.json`.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from agenda.i18n import _
from agenda.model import Status

# Years every output can write and every reader can parse. 1970: the tz database
# vouches for its offsets only since then (older ones are local mean times with
# seconds, wartime double summer time…). 2199: far enough for any real event, and
# a bound keeps the VTIMEZONE, Babel and four-digit-year formats (RFC 5545, RFC 822,
# ISO 8601 in JavaScript) away from datetime's limits even after a change of offset.
FIRST_YEAR = 1970
LAST_YEAR = 2199
# SEQUENCE is an INTEGER in RFC 5545: a signed 32-bit value.
MAX_INTEGER = 2**31 - 1
# Lengths no real schedule reaches; beyond them feeds grow past what Google reads (1 MB).
MAX_LINE = 1_000
MAX_TEXT = 20_000
MAX_NAME = 100  # of an id or a city's slug: they name files, at most 255 bytes
DEFAULT_TIMEZONE = "Europe/Paris"

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
LANGUAGE = re.compile(r"fr(?:-[A-Za-z]{2,4})?\Z")  # the pages' words are French


class Kind(StrEnum):
    """What a key holds, as the loader reads it and the schema describes it."""

    TEXT = "text"  # one line
    MULTILINE = "multiline text"
    ID = "id"  # a slug
    URL = "url"
    EMAIL = "email"
    LANGUAGE = "language tag"
    TIMEZONE = "time zone"
    CHOICE = "choice"  # one of `choices`
    INTEGER = "integer"
    BOOLEAN = "boolean"
    STRINGS = "list of texts"
    LOCAL_DATETIME = "local date-time"  # wall-clock time in the calendar's zone
    END = "local date-time or time"  # a time alone is on the start's day
    INSTANT = "date or date-time"  # date, local date-time or offset date-time
    DATE = "date"
    TIME = "time"
    TABLE = "table"  # `table` names its declaration
    TABLES = "array of tables"


@dataclass(frozen=True, slots=True)
class Field:
    """One key of a table: its kind, whether it is required, and what it means."""

    name: str
    kind: Kind
    description: str
    required: bool = False
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    table: str | None = None  # for TABLE and TABLES: the name of the table declared
    label: str = ""  # French, for the desk's forms
    help: str = ""  # French, under the field in the desk's forms
    private: bool = False  # its value is never quoted in a message (/healthz is public)


@dataclass(frozen=True, slots=True)
class Table:
    """One kind of TOML table and the keys it may hold, in the order documented."""

    name: str
    description: str
    fields: tuple[Field, ...]
    # By name, for the loader, which asks for every key of every session; each table its own.
    by_name: dict[str, Field] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})


LEGACY = "Deprecated: derived from the published history; read only at first publication."

PERSON = Table("person", "A person: a speaker or the moderator.", (
    Field("name", Kind.TEXT, "Full name.", required=True, label="Nom", help="Prénom et nom."),
    Field("role", Kind.TEXT, "Office or title, such as « Maire de Clermont-Ferrand ».",
          label="Fonction", help="Par exemple « Maire de Clermont-Ferrand ».")))

ORGANIZER = Table("organizer", "Who organizes the series.", (
    Field("name", Kind.TEXT, "Name of the organizing body.", required=True,
          label="Nom de l’organisateur"),
    Field("email", Kind.EMAIL, "Contact address; becomes the iCalendar ORGANIZER.",
          label="Courriel", help="Adresse de contact, par exemple nom@exemple.org."),
    Field("url", Kind.URL, "Web site of the organizer (http or https).",
          label="Site web", help="Adresse commençant par https://.")))

CALENDAR = Table("calendar", "What the whole agenda is, and where it is published.", (
    Field("name", Kind.TEXT, "Name of the agenda, shown in calendars and feeds.", required=True,
          label="Nom de l’agenda", help="Affiché dans les calendriers et les fils."),
    Field("description", Kind.MULTILINE, "What the agenda is about; may span lines.",
          label="Présentation", help="Plusieurs lignes possibles."),
    Field("timezone", Kind.TIMEZONE, "IANA time zone of every wall-clock time in the file.",
          default=DEFAULT_TIMEZONE, label="Fuseau horaire", help="Par exemple Europe/Paris."),
    Field("language", Kind.LANGUAGE, "Tag of French for dates and texts, such as fr or fr-CA.",
          default="fr", label="Langue", help="Par exemple fr ou fr-CA."),
    Field("updated", Kind.INSTANT, "When anything outside the sessions last changed "
          "(calendar, series, contacts, a removed session).", label="Mis à jour le",
          help="Inutile de le remplir : chaque publication date ce qu’elle change."),
    Field("base_url", Kind.URL, "Public address of this service, at the root of its host; "
          "absolute links and UIDs derive from it: never change its host.", required=True,
          label="Adresse publique",
          help="Ne jamais en changer l’hôte : les identifiants en dépendent."),
    Field("organizer", Kind.TABLE, "Who organizes: { name, email, url }.", required=True,
          table="organizer", label="Organisateur")))

CONTACT = Table("contact", "A press contact, shown on pages and in feeds.", (
    Field("name", Kind.TEXT, "Full name.", required=True, label="Nom", help="Prénom et nom."),
    Field("organization", Kind.TEXT, "Organization the contact speaks for.", label="Organisme"),
    Field("phone", Kind.TEXT, "Phone number, as written.",
          label="Téléphone", help="Tel qu’il doit s’afficher."),
    Field("email", Kind.EMAIL, "Email address.",
          label="Courriel", help="Par exemple nom@exemple.org.")))

RHYTHM = Table("rhythm", "When the series plans its sessions: an RFC 5545 rule from a "
               "first date, at the usual hours.", (
    Field("rule", Kind.TEXT, "RFC 5545 recurrence rule that ends (COUNT or UNTIL), such as "
          "FREQ=MONTHLY;BYDAY=3WE;COUNT=12.", required=True,
          label="Règle de récurrence", help="Par exemple FREQ=MONTHLY;BYDAY=3WE;COUNT=12."),
    Field("first", Kind.DATE, "Date of the first planned session.", required=True,
          label="Première date", help="Écrivez la date ainsi : 2026-12-16."),
    Field("start", Kind.TIME, "Usual start time, such as 08:45:00.", required=True,
          label="Heure de début habituelle", help="Par exemple 08:45."),
    Field("end", Kind.TIME, "Usual end time, after start.", required=True,
          label="Heure de fin habituelle", help="Par exemple 10:15.")))

SERIES = Table("series", "A series of sessions, such as « Tour des Villes ».", (
    Field("id", Kind.ID, "Permanent name of the series: lowercase letters, digits and single "
          "hyphens.", required=True,
          label="Identifiant", help="Minuscules, chiffres et tirets ; ne change jamais."),
    Field("title", Kind.TEXT, "Title of the series.", required=True, label="Titre de la série"),
    Field("club", Kind.TEXT, "Club that runs the series.", label="Club"),
    Field("description", Kind.MULTILINE, "What the series is about; may span lines.",
          label="Présentation", help="Plusieurs lignes possibles."),
    Field("partners", Kind.STRINGS, "Names of the partners.",
          label="Partenaires", help="Un partenaire par ligne."),
    Field("url", Kind.URL, "Web page of the series (http or https).",
          label="Page web de la série", help="Adresse commençant par https://."),
    Field("rhythm", Kind.TABLE, "Planned dates: { rule, first, start, end }.", table="rhythm",
          label="Rythme")))

SESSION = Table("session", "One session of a series.", (
    Field("id", Kind.ID, "Permanent name: page URL, file name and calendar UID derive from it. "
          "Never rename it, never reuse it.", required=True, label="Identifiant",
          help="Minuscules, chiffres et tirets, par exemple marseille ; donne l’adresse "
          "de la page et ne change jamais."),
    Field("series", Kind.TEXT, "The id of a [[series]].", required=True, label="Série"),
    Field("number", Kind.INTEGER, "Rank of the session in its series; unique within it.",
          minimum=1, maximum=MAX_INTEGER, label="Numéro", help="Rang de la séance dans la série."),
    Field("city", Kind.TEXT, "City the session is about.", required=True, label="Ville"),
    Field("title", Kind.TEXT, "The theme of the session.", label="Thème"),
    Field("start", Kind.LOCAL_DATETIME, "Local date-time, wall-clock time in the calendar's "
          "zone, a whole minute, such as 2021-05-19T08:45:00. With end, or neither.",
          label="Début", help="Date et heure, écrivez ainsi : 2026-12-16T08:45."),
    Field("end", Kind.END, "Local date-time, after start, a whole minute; a time alone, "
          "such as 10:15:00, is on the start's day.",
          label="Fin", help="Date et heure, après le début : 2026-12-16T10:15."),
    Field("speakers", Kind.TABLES, "Speakers: [{ name, role }].", table="person",
          label="Intervenants"),
    Field("moderator", Kind.TABLE, "Moderator: { name, role }.", table="person", label="Animateur"),
    Field("video_url", Kind.URL, "Video conference or live stream link.", private=True,
          label="Lien de la visioconférence", help="Adresse commençant par https://."),
    Field("video_public", Kind.BOOLEAN, "true to publish video_url; otherwise it is never "
          "published.", default=False,
          label="Publier le lien de la visioconférence", help="Sinon il n’est jamais publié."),
    Field("registration_url", Kind.URL, "Registration form.",
          label="Lien d’inscription", help="Adresse commençant par https://."),
    Field("status", Kind.CHOICE, "Whether the session takes place.",
          default=Status.CONFIRMED.value, choices=tuple(s.value for s in Status), label="État"),
    Field("announced", Kind.INSTANT, "Date (or date-time) of the announcement; a dated "
          "session needs it.", label="Annoncée le", help="Écrivez la date ainsi : 2026-11-02."),
    Field("description", Kind.MULTILINE, "Free text; may span lines.",
          label="Description", help="Plusieurs lignes possibles."),
    Field("sequence", Kind.INTEGER, f"{LEGACY} Starting SEQUENCE.", minimum=0,
          maximum=MAX_INTEGER, default=0, label="Séquence (ancien champ)", help="Ne pas remplir."),
    Field("updated", Kind.INSTANT, f"{LEGACY} Time of the latest revision.",
          label="Mise à jour (ancien champ)", help="Ne pas remplir."),
    Field("previous_start", Kind.LOCAL_DATETIME, f"{LEGACY} Former start of a moved session.",
          label="Ancien début (ancien champ)", help="Ne pas remplir."),
    Field("held", Kind.BOOLEAN, "true for an undated session that already took place.",
          default=False, label="Séance déjà tenue, sans date"),
    Field("replay_url", Kind.URL, "Public recording, once the session took place.",
          label="Lien du replay", help="Enregistrement public, adresse commençant par https://."),
    Field("contacts", Kind.STRINGS, "Press contacts of this session: names of [[contacts]]; "
          "without it, every contact of the calendar.", label="Contacts presse de la séance",
          help="Un nom de contact par ligne ; vide : tous les contacts de l’agenda.")))

TOP = Table("schedule", "The schedule file of agenda: a calendar, its series and sessions.", (
    Field("calendar", Kind.TABLE, "The agenda as a whole.", required=True, table="calendar",
          label="Agenda"),
    Field("contacts", Kind.TABLES, "Press contacts, written [[contacts]].", table="contact",
          label="Contacts presse"),
    Field("series", Kind.TABLES, "Series of sessions, written [[series]].", table="series",
          label="Séries"),
    Field("sessions", Kind.TABLES, "Sessions, written [[sessions]].", table="session",
          label="Séances")))

TABLES = {t.name: t for t in (TOP, CALENDAR, ORGANIZER, CONTACT, SERIES, RHYTHM, SESSION, PERSON)}


# The JSON Schema. Editors such as Taplo (VS Code's Even Better TOML) validate the TOML document
# as JSON, with dates and times turned into strings: the schema says what it can of the loader's
# rules, in keywords drafts 4 to 7 agree on, and never refuses what the loader accepts. Rules
# about meaning (a time the clocks skip, an unknown series, end after start) stay the loader's.

# Regular expressions in the subset that Python, ECMA 262 and Rust's regex share.
# The loader strips the texts it reads: ids and tags may be padded with spaces.
_DAY = "(?:19[7-9][0-9]|2[01][0-9][0-9])-[0-9]{2}-[0-9]{2}"  # from FIRST_YEAR to LAST_YEAR
_TIME = "[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]+)?)?"
_NONCHARACTERS = "\\ufdd0-\\ufdef\\ufffe\\uffff\\u2028\\u2029"
# No control character (tab allowed), no line break, no BMP noncharacter.
_ONE_LINE = f"^[^\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f{_NONCHARACTERS}]*$"
_PATTERNS = {**dict.fromkeys((Kind.TEXT, Kind.EMAIL, Kind.TIMEZONE), _ONE_LINE),
             # New lines allowed, as LF or CRLF.
             Kind.MULTILINE: f"^(?:[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_NONCHARACTERS}]|\\r\\n)*$",
             Kind.ID: "^\\s*[a-z0-9]+(?:-[a-z0-9]+)*\\s*$",
             Kind.LANGUAGE: "^\\s*(?:fr(?:-[A-Za-z]{2,4})?)?\\s*$",
             Kind.LOCAL_DATETIME: f"^{_DAY}[Tt ][0-9]{{2}}:[0-9]{{2}}(?::00(?:\\.0+)?)?$",
             Kind.END: f"^(?:{_DAY}[Tt ])?[0-9]{{2}}:[0-9]{{2}}(?::00(?:\\.0+)?)?$",
             Kind.INSTANT: f"^{_DAY}(?:[Tt ]{_TIME}(?:[Zz]|[+-][0-9]{{2}}:[0-9]{{2}})?)?$",
             Kind.DATE: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", Kind.TIME: f"^{_TIME}$"}
_URL = "[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+[^\\s]*"


def _text_schema(kind: Kind, required: bool) -> dict[str, Any]:
    """A string key: its pattern, length and, when required, that it is not empty."""
    url = _URL if required else f"(?:{_URL})?"
    pattern = f"^\\s*{url}\\s*$" if kind is Kind.URL else _PATTERNS[kind]
    schema: dict[str, Any] = {"type": "string", "pattern": pattern}
    # A description's length is counted after CRLF becomes LF, which a schema cannot do.
    if kind is not Kind.MULTILINE:
        schema["maxLength"] = MAX_LINE
    if required:
        schema["minLength"] = 1
    return schema


def _field_schema(field: Field) -> dict[str, Any]:
    """The JSON Schema of one key, with the description an editor shows on hover."""
    kind = field.kind
    schema: dict[str, Any] = {"description": _(field.description)}  # from the catalogue
    if kind is Kind.TABLE:
        # Beside $ref, drafts 4 to 7 ignore every other keyword: wrap it to keep the description.
        schema["allOf"] = [{"$ref": f"#/definitions/{field.table}"}]
    elif kind is Kind.TABLES:
        schema.update(type="array", items={"$ref": f"#/definitions/{field.table}"})
    elif kind is Kind.CHOICE:
        schema.update(type="string", enum=list(field.choices))
    elif kind is Kind.INTEGER:
        schema.update(type="integer", minimum=field.minimum, maximum=field.maximum)
    elif kind is Kind.BOOLEAN:
        schema["type"] = "boolean"
    elif kind is Kind.STRINGS:
        schema.update(type="array", items=_text_schema(Kind.TEXT, required=True))
    elif kind in (Kind.LOCAL_DATETIME, Kind.END, Kind.INSTANT, Kind.DATE, Kind.TIME):
        schema.update(type="string", pattern=_PATTERNS[kind])
    else:
        schema.update(_text_schema(kind, field.required))
    if field.default is not None:
        schema["default"] = field.default
    return schema


def _when(present: dict[str, Any]) -> dict[str, Any]:
    """A schema matching an object whose keys hold these values (each key present)."""
    return {"required": sorted(present),
            "properties": {k: {"enum": [v]} for k, v in present.items()}}


# Rules across the keys of a session that a schema can state (draft 4 keywords only:
# `dependencies`, `anyOf`, `not`, `enum`). Comparisons (end after start) and
# references (a known series or contact) stay the loader's alone.
_SESSION_RULES: dict[str, Any] = {
    # Both or neither of start and end; a former start only with a date.
    "dependencies": {"start": ["end"], "end": ["start"], "previous_start": ["start", "end"]},
    "allOf": [
        # A dated session needs 'announced' or 'updated'.
        {"anyOf": [{"not": {"required": ["start"]}}, {"required": ["announced"]},
                   {"required": ["updated"]}]},
        # 'held' is for undated sessions only.
        {"not": {"allOf": [_when({"held": True}), {"required": ["start"]}]}},
        # A cancelled session has no recording, and was not held.
        {"not": {"allOf": [_when({"status": Status.CANCELLED.value}),
                           {"required": ["replay_url"]}]}},
        {"not": _when({"status": Status.CANCELLED.value, "held": True})},
        # A public video link needs a video link.
        {"not": {"allOf": [_when({"video_public": True}), {"not": {"required": ["video_url"]}}]}}]}


def _table_schema(table: Table) -> dict[str, Any]:
    """An object with exactly the declared keys."""
    schema: dict[str, Any] = {
        "description": _(table.description), "type": "object",
        "properties": {f.name: _field_schema(f) for f in table.fields},
        "additionalProperties": False}
    if required := [f.name for f in table.fields if f.required]:
        schema["required"] = required
    schema.update(_SESSION_RULES if table is SESSION else {})
    return schema


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7, readable as draft 4) of the schedule file."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#", "title": _("agenda schedule file"),
        **_table_schema(TOP),
        "definitions": {name: _table_schema(t) for name, t in TABLES.items() if t is not TOP}}


def json_schema_text() -> str:
    """The JSON Schema as the bytes of `data/sessions.schema.json` (UTF-8 text)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(json_schema_text().encode("utf-8"))
