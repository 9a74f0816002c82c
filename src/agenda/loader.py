"""Read the TOML schedule file once, validate all of it, and build the frozen model.

Every problem is collected, not just the first, so that `agenda check` lists them all;
each names the file, the table or session and the field, and says what would be valid.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import idna
import tomli  # tomllib's upstream, compiled: 3 times as fast at 10,000 sessions
from babel import Locale, UnknownLocaleError
from babel.dates import get_timezone
from dateutil.tz import datetime_exists

from agenda import syntax
from agenda.errors import Problem, ScheduleError
from agenda.format import (
    CALENDAR,
    CONTACT,
    FIRST_YEAR,
    LANGUAGE,
    LAST_YEAR,
    MAX_LINE,
    MAX_NAME,
    MAX_TEXT,
    ORGANIZER,
    PERSON,
    RHYTHM,
    SERIES,
    SESSION,
    SLUG,
    TOP,
    Field,
    Kind,
    Table,
)
from agenda.i18n import _
from agenda.model import (
    CalendarInfo,
    Contact,
    Organizer,
    Person,
    Rhythm,
    Schedule,
    Series,
    Session,
    Status,
    city_slug,
)
from agenda.planning import occurrences, on_clock, rhythm_error

EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+\Z")  # a login, a registrant's
# A published address as mail takes it: ASCII dot-atom @ host (mairie-évry.fr kept as typed).
ATOM, LABEL = r"[a-z0-9!#$%&'*+/=?^`{|}~_-]+", r"[^\W_](?:(?:[^\W_]|-)*[^\W_])?"
PUBLISHED_EMAIL = re.compile(rf"{ATOM}(?:\.{ATOM})*@(?:{LABEL}\.)+{LABEL}\Z", re.I)
# Control characters have no place in published text; newlines only where allowed.
# C1 controls (U+0080..U+009F) count too: XML 1.0 discourages them and no reader shows them.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What XML 1.0 (RSS, Atom, HTML) cannot carry, or Unicode reserves for internal use:
# surrogates and the 66 noncharacters (U+FDD0..U+FDEF and the last two of every plane). Written
# as what is not refused: the regex decides a usual character by its first range, not 36 tests.
NONCHARACTER = re.compile(r"[^\x00-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd" + "".join(
    rf"\U{plane:04x}0000-\U{plane:04x}fffd" for plane in range(1, 17)) + "]")
# Line breaks that are not newlines: Python's splitlines() and some readers break on
# them, others do not, so a text holding one would not read the same everywhere.
LINE_SEPARATOR = re.compile("[\u2028\u2029]")
PLAIN_TEXT = (Kind.TEXT, Kind.MULTILINE, Kind.LANGUAGE, Kind.TIMEZONE)
MAX_FILE_BYTES = 32_000_000
BOM = "\ufeff"
SESSION_LINE = re.compile(r"^\[\[sessions\]\][ \t]*$", re.M)  # each session's, in most files
INVISIBLE = re.compile(f"[{BOM}\u00ad\u200b\u2060]")  # pasted with a text, unseen
# Every character that a text's checks remove or refuse (\r, and astral ones too): most have none.
UNUSUAL = re.compile(r"[^\t\n\x20-\x7e\xa0-\xac\xae-\u200a\u200c-\u2027\u202a-\u205f"
                     r"\u2061-\ud7ff\ue000-\ufdcf\ufdf0-\ufefe\uff00-\ufffd]")


def load_schedule(path: str | Path) -> Schedule:
    """Read and validate the schedule file at `path`; raise ScheduleError listing every problem."""
    return parse_bytes(read_schedule_file(Path(path), str(path)), str(path))


def _refused(source: str, message: str) -> ScheduleError:
    """The error of a file refused as a whole, before any of its tables is read."""
    return ScheduleError([Problem(source, "", "", message)])


def parse_bytes(raw: bytes, source: str = "<schedule>", known: Mapping[bytes, Session] = {}
                ) -> Schedule:
    """Validate the bytes of a schedule file; `source` names it in messages. A session's text
    after the same beginning as in a schedule's `parsed` (`known`) is that one (`_by_session`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = _("not UTF-8 text (byte {byte}); save the file as UTF-8", byte=exc.start)
        raise _refused(source, message) from None
    return parse_schedule(text, source, known)


def nonblocking(name: str, flags: int) -> int:
    """open()'s opener for the schedule file: opening a FIFO would wait for a writer."""
    return os.open(name, flags | os.O_NONBLOCK)


def read_schedule_file(path: Path, source: str) -> bytes:
    """The bytes of a regular file; anything else (folder, FIFO, device) is a problem."""
    try:
        with open(path, "rb", opener=nonblocking) as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                message = _("is not a regular file (a pipe or a device?); name a .toml file")
                raise _refused(source, message)
            if info.st_size > MAX_FILE_BYTES:
                raise _refused(source, _("is {size} bytes; a schedule file is at most {limit}",
                                         size=info.st_size, limit=MAX_FILE_BYTES))
            raw = stream.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        message = _("is a folder, not a schedule file; name the .toml file inside it")
        raise _refused(source, message) from None
    except OSError as exc:
        raise _refused(source, _("cannot read the file: {reason}", reason=exc)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise _refused(source, _("is more than {limit} bytes; a schedule file is at most that",
                                 limit=MAX_FILE_BYTES))
    return raw


def parse_schedule(text: str, source: str = "<schedule>", known: Mapping[bytes, Session] = {}
                   ) -> Schedule:
    """Validate TOML text as a schedule; `source` names it in messages, syntax errors included."""
    # Some Windows editors start UTF-8 files with a byte order mark; TOML does not allow it.
    text = text.removeprefix(BOM)
    with contextlib.suppress(ScheduleError, tomli.TOMLDecodeError, RecursionError, ValueError):
        return _by_session(text, source, known)  # else read whole, for the messages
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        where, key, message = syntax.explain(text, exc)
        if BOM in text:
            message += _(" (the file holds a byte order mark, U+FEFF, after its start: remove it)")
        raise ScheduleError([Problem(source, where, key, message)]) from None
    except (RecursionError, ValueError) as exc:  # ValueError: a number of 4,300+ digits
        message = _("a number has too many digits (at most 4,300)") if isinstance(exc, ValueError) \
            else _("values are nested too deeply (lists or tables within each other)")
        raise _refused(source, message) from None
    return _Builder(source, known).build(data)


def _by_session(text: str, source: str, known: Mapping[bytes, Session]) -> Schedule:
    """`text` read as what comes before the first [[sessions]] line, then each session's text
    from its own (the form the desk and most files have), every piece alone: a session's text
    seen with the same beginning (`known`) is not read again. ValueError if any piece is not
    one session's table alone (a [[contacts]] after it, a line of a multi-line string...)."""
    head, *pieces = SESSION_LINE.split(text)
    data = tomli.loads(head)
    start = hashlib.sha256(repr(data).encode()).digest()  # what a session is read with
    keys = [hashlib.sha256(start + piece.encode()).digest() for piece in pieces]
    tables = [{"sessions": [{}]} if key in known else tomli.loads("[[sessions]]" + piece)
              for key, piece in zip(keys, pieces, strict=True)]
    if "sessions" in data or any(len(t) != 1 or len(t.get("sessions", ())) != 1 for t in tables):
        raise ValueError("not one session a piece")
    return _Builder(source, known).build({**data, "sessions": [t["sessions"][0] for t in tables]},
                                         keys)


class _Table:
    """One TOML table read through its declaration in agenda.format; reports unknown keys.
    Reading a key the table does not declare, or as another kind, is a bug: it raises."""

    def __init__(self, builder: _Builder, data: Any, spec: Table, where: str,
                 prefix: str = "") -> None:
        self.builder, self.spec, self.where, self.prefix = builder, spec, where, prefix
        self.used: set[str] = set()
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            builder.problem(where, prefix.rstrip("."),
                            _("must be a table, not {kind}", kind=_kind(data)))

    def problem(self, key: str, message: str) -> None:
        self.builder.problem(self.where, self.prefix + key, message)

    def read(self, key: str, *kinds: Kind) -> tuple[Field, Any]:
        """The declaration of `key`, which must be of one of `kinds`, and its raw value;
        reports a missing required one."""
        field = self.spec.by_name.get(key)
        if field is None:
            raise LookupError(f"the loader reads '{key}', which table {self.spec.name} lacks")
        if field.kind not in kinds:
            raise TypeError(f"the loader reads {self.spec.name}.{key} as {' or '.join(kinds)}, "
                            f"declared {field.kind}")
        self.used.add(key)
        value = self.data.get(key)
        if value is None and field.required:
            self.problem(key, _("is required"))
        return field, value

    def get(self, key: str, *kinds: Kind) -> Any:
        """The raw value of `key`, declared as one of `kinds`; reports a missing required one."""
        return self.read(key, *kinds)[1]

    def text(self, key: str, *kinds: Kind) -> str:
        """A text of one of `kinds` (by default any plain text); "" when missing or refused."""
        field, value = self.read(key, *(kinds or PLAIN_TEXT))
        if value is not None:
            value = self._text_value(key, value, field.required, field.kind is Kind.MULTILINE)
        return value or field.default or ""

    def _text_value(self, key: str, value: Any, required: bool,
                    multiline: bool = False) -> str | None:
        """The text stripped, or None after reporting why it cannot be published."""
        if not isinstance(value, str):
            self.problem(key, _("must be a string, not {kind}", kind=_kind(value)))
            return None
        # What a copied text hides goes; accents typed on a Mac (E + U+0301) are composed (NFC).
        # Each step gives the very string back if it changes nothing: no copy of every text kept.
        if unusual := UNUSUAL.search(value):  # else nothing to remove here, nor to refuse below
            value = INVISIBLE.sub("", value.replace("\r\n", "\n"))
        value = unicodedata.normalize("NFC", value)  # never makes a character refused below
        limit = MAX_TEXT if multiline else MAX_LINE
        if unusual and CONTROL.search(value):
            self.problem(key, _("contains a control character; remove it"))
        elif unusual and (found := NONCHARACTER.search(value)):
            self.problem(key, _(
                "contains the character U+{code:04X}, which calendars and news feeds cannot "
                "carry; remove it", code=ord(found.group())))
        elif unusual and (found := LINE_SEPARATOR.search(value)):
            self.problem(key, (
                _("contains U+{code:04X}, an invisible line break; use an ordinary new line")
                if multiline else
                _("contains U+{code:04X}, an invisible line break; keep the text on one line")
            ).format(code=ord(found.group())))
        elif not multiline and "\n" in value:
            self.problem(key, _("must be on one line"))
        elif required and not any(c.isprintable() and not c.isspace() for c in value):
            self.problem(key, _("must not be empty"))  # nor of invisible characters alone
        elif len(value) > limit:
            self.problem(key, _("is {length} characters long; at most {limit} are allowed",
                                length=len(value), limit=limit))
        else:
            return value.strip()
        return None

    def slug(self, key: str) -> str:
        value = self._matching(key, Kind.ID, SLUG, _(
            "'{value}' is not a valid id: use lowercase letters, digits and single "
            "hyphens, such as 'clermont-ferrand-2021'"))
        if len(value) > MAX_NAME:
            self.problem(key, _("is {length} characters long; at most {limit} are allowed",
                                length=len(value), limit=MAX_NAME))
            return ""
        return value

    def email(self, key: str) -> str:
        return self._matching(key, Kind.EMAIL, PUBLISHED_EMAIL, _(
            "'{value}' is not an email address, such as 'name@example.org'"))

    def _matching(self, key: str, kind: Kind, form: re.Pattern[str], refusal: str) -> str:
        """A text of `kind` that `form` matches; "" after reporting `refusal` about it."""
        value = self.text(key, kind)
        if value and not form.match(value):
            self.problem(key, refusal.format(value=value))
            return ""
        return value

    def url(self, key: str) -> str | None:
        value = self.text(key, Kind.URL)
        if not value:
            return None
        try:  # an RFC 3986 URI: « é », « < », a lone « % », « [ » past the host, a 2nd « # »
            parts = urlsplit(re.sub("%(?![0-9A-Fa-f]{2})", "%25", value) if "%" in value else value)
            host, _port = parts.hostname, parts.port  # both raise on a bad IPv6 bracket or port
            user, at, place = parts.netloc.rpartition("@")
            name, colon, port = place.partition(":")  # a name not ASCII is no IPv6 address
            if not name.isascii():  # DNS and curl read IDNA, not UTF-8 in « % » (RFC 3986, 3.2.2)
                idn = idna.encode(name, uts46=True).decode()  # an IDNAError is a ValueError
                parts = parts._replace(netloc=f"{user}{at}{idn}{colon}{port}")
        except ValueError:
            host = None
        if host and parts.scheme in ("http", "https") and value.split() == [value]:  # no space
            return urlunsplit((parts.scheme, quote(parts.netloc, "%:@[]!$&'()*+,;=~"),
                               *(quote(part, "%:/?@!$&'()*+,;=~") for part in parts[2:])))
        self.problem(key, _(
            "is not an http or https URL, such as 'https://example.org/' (a private link: "
            "not repeated here)") if self.spec.by_name[key].private else _(
            "'{value}' is not an http or https URL, such as 'https://example.org/'", value=value))
        return None

    def choice(self, key: str) -> str:
        """One of the declared choices, written exactly; the default when missing or refused."""
        field, value = self.read(key, Kind.CHOICE)
        if value is None:
            return field.default
        if value in field.choices:
            return value
        if self._text_value(key, value, required=False) is not None:
            choices = ", ".join(f"'{c}'" for c in field.choices)
            self.problem(key, _("'{value}' is not a valid {key}; use one of {choices}",
                                value=value, key=key, choices=choices))
        return field.default

    def integer(self, key: str) -> int | None:
        """A whole number within the declared bounds; the default when missing or refused."""
        field, value = self.read(key, Kind.INTEGER)
        if value is None:
            return field.default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, _("must be a whole number, not {kind}", kind=_kind(value)))
        elif field.minimum is not None and value < field.minimum:
            self.problem(key, _("must be {minimum} or more, not {value}",
                                minimum=field.minimum, value=value))
        elif field.maximum is not None and value > field.maximum:
            self.problem(key, _("must be {maximum} or less, not {value}",
                                maximum=field.maximum, value=value))
        else:
            return value
        return field.default

    def boolean(self, key: str) -> bool:
        field, value = self.read(key, Kind.BOOLEAN)
        if value is not None and not isinstance(value, bool):
            self.problem(key, _("must be true or false, not {kind}", kind=_kind(value)))
        return value if isinstance(value, bool) else field.default

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, Kind.STRINGS)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, _('must be a list of strings, such as ["A", "B"]'))
            return ()
        return tuple(self._text_value(f"{key}[{i}]", item, required=True) or ""
                     for i, item in enumerate(value))

    def tables(self, key: str, refusal: str) -> list[Any]:
        """An array of tables; [] when missing, or when not a list (then `refusal` says why)."""
        value = self.get(key, Kind.TABLES)
        if value is not None and not isinstance(value, list):
            self.problem(key, refusal)
        return value if isinstance(value, list) else []

    def wall_clock(self, key: str, zone: ZoneInfo | None,
                   day: datetime | None = None) -> datetime | None:
        """A TOML local date-time as wall-clock time in `zone`; with `day`, a time alone on it."""
        value = self.get(key, Kind.LOCAL_DATETIME, Kind.END)
        if value is None:
            return None
        if isinstance(value, time) and day is not None:
            value = datetime.combine(day.date(), value)
        if not isinstance(value, datetime) or value.tzinfo is not None:
            self.problem(key, _(
                "must be a local date-time without offset, such as 2021-05-19T08:45:00 "
                "(wall-clock time in the calendar's time zone), not {kind}", kind=_kind(value)))
            return None
        if not self._in_range(key, value):
            return None
        if value.second or value.microsecond:
            self.problem(key, _(
                "must be a whole minute, such as {example}: pages and feeds show times to "
                "the minute", example=f"{value:%Y-%m-%dT%H:%M}:00"))
            return None
        return self._localize(key, value, zone) if zone else None

    def instant(self, key: str, zone: ZoneInfo | None) -> datetime | None:
        """A date (midnight), local date-time (in the calendar's zone) or offset date-time."""
        value = self.get(key, Kind.INSTANT)
        if not isinstance(value, date):
            if value is not None:
                self.problem(key, _("must be a date such as 2021-05-14 or a date-time, "
                                    "not {kind}", kind=_kind(value)))
            return None
        if not self._in_range(key, value) or zone is None:
            return None
        if isinstance(value, datetime):  # an instant with its offset: in the calendar's zone
            return on_clock(value, zone) if value.tzinfo else self._localize(key, value, zone)
        return self.builder.midnight(value, zone)  # a day: when it starts in the zone

    def _in_range(self, key: str, value: date) -> bool:
        """True when the year is one every output can carry; else a problem."""
        # The local year first: year 1 or 9999 with an offset may have no UTC (OverflowError).
        aware = isinstance(value, datetime) and value.tzinfo
        if FIRST_YEAR <= value.year <= LAST_YEAR and (
                not aware or FIRST_YEAR <= value.astimezone(UTC).year <= LAST_YEAR):
            return True
        self.problem(key, _(
            "the year {year} is out of range; dates go from {first} to {last}",
            year=value.year, first=FIRST_YEAR, last=LAST_YEAR))
        return False

    def _localize(self, key: str, value: datetime, zone: ZoneInfo) -> datetime | None:
        """The wall-clock time `value` in `zone`; None when the clocks skip it or pass it twice."""
        local = value.replace(tzinfo=zone)  # skipped or twice: folds 0 and 1 differ (PEP 495)
        if local.utcoffset() == local.replace(fold=1 - local.fold).utcoffset():
            return local
        self.problem(key, (
            _("{stamp} does not exist in {zone} (the clocks skip it); "
              "choose a time before or after the change") if not datetime_exists(value, zone) else
            _("{stamp} occurs twice in {zone} (the clocks go back); "
              "choose a time before or after the change")
        ).format(stamp=value.isoformat(timespec="minutes").replace("T", " "), zone=zone.key))
        return None

    def finish(self, made: Any = None) -> Any:
        """Report every undeclared key, with the nearest declared one; give `made` back."""
        if unread := self.spec.by_name.keys() - self.used:
            raise LookupError(f"table {self.spec.name} declares {', '.join(sorted(unread))}, "
                              "which the loader does not read")
        for key in self.data:
            if key not in self.used:  # every declared key is, after the check above
                known = sorted(self.used)
                hint = difflib.get_close_matches(key, known, n=1)
                self.problem(key, _("unknown key; did you mean '{hint}'?", hint=hint[0]) if hint
                             else _("unknown key; valid keys are {keys}", keys=", ".join(known)))
        return made


class _Builder:
    """Turns the parsed TOML document into a Schedule, collecting problems as it goes."""

    def __init__(self, source: str, known: Mapping[bytes, Session] = {}) -> None:
        self.source, self.known, self.parsed = source, known, dict[bytes, Session]()
        self.problems: list[Problem] = []
        self.contacts: dict[str, Contact] = {}  # the [[contacts]] by name, for the sessions
        self.city_slug = functools.cache(city_slug)  # a cache of this parse only, as the next
        # A day starts at midnight, else where the clocks skip it (Sao Paulo, 4 November 2018:
        # 01:00), or at the first of two midnights: fold=0 reads a skipped time in the offset
        # before the change, which lands after the gap once through UTC.
        self.midnight = functools.cache(lambda day, zone: on_clock(
            datetime.combine(day, time(), tzinfo=zone).astimezone(UTC), zone))

    def problem(self, where: str, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, where, field, message))

    def build(self, data: dict[str, Any], keys: list[bytes] | None = None) -> Schedule:
        """The schedule of a parsed document (`keys`: its sessions' in `parsed`, if known)."""
        top = _Table(self, data, TOP, _("top level"))
        calendar = self.calendar(top.get("calendar", Kind.TABLE))
        zone = calendar.timezone if calendar else None

        def listed(key: str) -> list[Any]:
            return top.tables(key, _("must be an array of tables, written [[{key}]]", key=key))

        contacts = tuple(self.contact(raw, i) for i, raw in enumerate(listed("contacts"), 1))
        self.contacts = {c.name: c for c in contacts}
        series = self.all_series(listed("series"), zone)
        sessions = self.sessions(listed("sessions"), series, zone, keys or [])
        top.finish()
        if self.problems or calendar is None:
            raise ScheduleError(self.problems)
        return Schedule(calendar=calendar, series=tuple(series.values()), sessions=sessions,
                        contacts=contacts, source=self.source, parsed=self.parsed)

    def calendar(self, raw: Any) -> CalendarInfo | None:
        """The [calendar] table; None when it is missing or a value it needs is refused."""
        if raw is None:
            return None
        table = _Table(self, raw, CALENDAR, "[calendar]")
        name, description = table.text("name"), table.text("description")
        zone_name = table.text("timezone")
        try:
            zone: ZoneInfo | None = ZoneInfo(zone_name)
            get_timezone(zone_name)  # as pages name it: not Factory nor localtime
        except (ZoneInfoNotFoundError, ValueError, OSError, LookupError):
            zone = None
            table.problem("timezone", _(
                "'{name}' is not an IANA time zone name, such as 'Europe/Paris'", name=zone_name))
        language = table.text("language")
        try:  # a BCP 47 tag (fr, fr-FR) that Babel has dates and times for
            known = bool(LANGUAGE.match(language)) and bool(Locale.parse(language, sep="-"))
        except (UnknownLocaleError, ValueError):
            known = False
        if not known:
            table.problem("language", _(
                "'{value}' is not a tag of French we can format dates in, such as 'fr' or 'fr-CA' "
                "(the pages' words are French)", value=language))
        updated = table.instant("updated", zone)
        base_url = table.url("base_url")
        parts = urlsplit(base_url or "")  # every public URL is base_url and a path
        if parts.path.strip("/") or parts.query or parts.fragment or "@" in parts.netloc:
            # Pages link to each other with root-relative paths (/events/…).
            table.problem("base_url", _(
                "'{value}' is more than a host; agenda is served at the root of its host, "
                "such as 'https://agenda.example.org'", value=base_url))
            base_url = None
        organizer = None
        if (organizer_raw := table.get("organizer", Kind.TABLE)) is not None:
            sub = _Table(self, organizer_raw, ORGANIZER, "[calendar]", "organizer.")
            organizer = sub.finish(Organizer(name=sub.text("name"),
                                             email=sub.email("email") or None, url=sub.url("url")))
        table.finish()
        if zone is None or base_url is None or organizer is None:
            return None
        return CalendarInfo(name=name, description=description, timezone=zone, language=language,
                            base_url=base_url.rstrip("/"), organizer=organizer, updated=updated)

    def contact(self, raw: Any, position: int) -> Contact:
        table = _Table(self, raw, CONTACT, _("contact #{number}", number=position))
        return table.finish(Contact(
            name=table.text("name"), organization=table.text("organization"),
            phone=table.text("phone"), email=table.email("email")))

    def rhythm(self, table: _Table, zone: ZoneInfo | None) -> Rhythm | None:
        """The optional `rhythm` of a series: RRULE, first date and usual hours."""
        raw = table.get("rhythm", Kind.TABLE)
        if raw is None:
            return None
        sub = _Table(self, raw, RHYTHM, table.where, "rhythm.")
        rule = sub.text("rule")
        first = sub.get("first", Kind.DATE)
        start = sub.get("start", Kind.TIME)
        end = sub.get("end", Kind.TIME)
        sub.finish()
        before = len(self.problems)
        if first is not None and (isinstance(first, datetime) or not isinstance(first, date)):
            sub.problem("first", _("must be a date such as 2021-03-17, not {kind}",
                                   kind=_kind(first)))
        for key, value in (("start", start), ("end", end)):
            if value is not None and not isinstance(value, time):
                sub.problem(key, _("must be a time of day such as 08:45:00, not {kind}",
                                   kind=_kind(value)))
        if len(self.problems) > before or not rule or None in (first, start, end):
            return None
        if end <= start:
            sub.problem("end", _("must be after 'start'"))
        if end <= start or zone is None:
            return None
        rhythm = Rhythm(rule=rule, first=datetime.combine(first, start, zone), start=start, end=end)
        if error := rhythm_error(rhythm):
            sub.problem("rule", error)
            return None
        hours = (t.replace(tzinfo=None) for o in occurrences(rhythm) for t in o[1:])
        return rhythm if all(sub._localize("start" if h.time() == start else "end", h, zone)
                             for h in hours) else None  # skipped or twice: as a session's

    def all_series(self, raws: list[Any], zone: ZoneInfo | None) -> dict[str, Series]:
        found: dict[str, Series] = {}
        for position, raw in enumerate(raws, 1):
            where = _where(_("series '{id}'"), _("series #{number} (no id)"), raw, position)
            table = _Table(self, raw, SERIES, where)
            series = table.finish(Series(
                id=table.slug("id"), title=table.text("title"), club=table.text("club"),
                description=table.text("description"), partners=table.strings("partners"),
                url=table.url("url"), rhythm=self.rhythm(table, zone)))
            if series.id in found:
                table.problem("id", _("'{id}' is used by another series; ids must be unique",
                                      id=series.id))
            elif series.id:
                found[series.id] = series
        return found

    def sessions(self, raws: Iterable[Any], series: dict[str, Series], zone: ZoneInfo | None,
                 keys: list[bytes]) -> tuple[Session, ...]:
        """The sessions of the [[sessions]] tables `raws`, each of `keys` (if any) in `known`
        that very session (its table, empty, is not read)."""
        built: dict[str, Session] = {}
        seen_numbers: dict[tuple[str, int], str] = {}
        cities: dict[str, str] = {}  # slug: the first spelling met
        for position, raw in enumerate(raws, 1):
            where = _where(_("session '{id}'"), _("session #{number} (no id)"), raw, position)
            key = keys[position - 1] if keys else None
            session = self.known.get(key) if key else None
            session = session or self.session(_Table(self, raw, SESSION, where), series, zone)
            if session is None:
                continue
            if key:
                self.parsed[key] = session
            if session.id in built:
                message = _("'{id}' is used by another session; ids must be unique", id=session.id)
                self.problem(where, "id", message)
                continue
            if session.number is not None:
                key = (session.series.id, session.number)
                if key in seen_numbers:
                    self.problem(where, "number", _(
                        "{number} is already the number of session '{other}' in series '{series}'",
                        number=session.number, other=seen_numbers[key], series=session.series.id))
                seen_numbers[key] = session.id
            address = self.city_slug(session.city)
            spelling = cities.setdefault(address, session.city)
            if len(address) > MAX_NAME:
                self.problem(where, "city", _("makes an address of {length} characters; at most "
                                              "{limit} are allowed", length=len(address),
                                              limit=MAX_NAME))
            elif spelling != session.city:
                self.problem(where, "city", _(
                    "'{city}' and '{other}' would have the same address (/cities/{slug}/): "
                    "did you mean '{other}'?", city=session.city, other=spelling, slug=address))
            built[session.id] = session
        return tuple(built.values())

    def session(self, table: _Table, series: dict[str, Series],
                zone: ZoneInfo | None) -> Session | None:
        before = len(self.problems)
        session_id = table.slug("id")
        series_id = table.text("series")
        parent = series.get(series_id)
        if series_id and parent is None:
            known = ", ".join(f"'{s}'" for s in series) or _("none: add a [[series]] table")
            table.problem("series", _("'{id}' is not a series id; known series: {known}",
                                      id=series_id, known=known))
        start = table.wall_clock("start", zone)
        end = table.wall_clock("end", zone, start)
        status = Status(table.choice("status"))
        announced = table.instant("announced", zone)
        updated = table.instant("updated", zone) or announced
        sequence = table.integer("sequence") or 0
        # Keyword arguments are evaluated in order: the order of the messages.
        session = table.finish(Session(
            id=session_id, series=parent or Series(id=series_id, title=""),
            number=table.integer("number"), city=table.text("city"), title=table.text("title"),
            start=start, end=end,
            speakers=tuple(
                p for i, raw in enumerate(table.tables("speakers", _(
                    'must be a list of tables, such as [{ name = "…", role = "…" }]'
                ))) if (p := self.person(table, raw, f"speakers[{i}]."))),
            moderator=self.person(table, table.get("moderator", Kind.TABLE), "moderator."),
            video_url=table.url("video_url"), video_public=table.boolean("video_public"),
            registration_url=table.url("registration_url"), status=status, announced=announced,
            description=table.text("description"), sequence=sequence, updated=updated,
            previous_start=table.wall_clock("previous_start", zone), held=table.boolean("held"),
            replay_url=table.url("replay_url"), contacts=self.session_contacts(table)))
        if len(self.problems) == before:
            # A refused field reads as missing: rules across fields would then add
            # a second, wrong message about it.
            self.check_session(table, session)
        return session if len(self.problems) == before else None

    def check_session(self, table: _Table, session: Session) -> None:
        """Rules that involve several fields of one session."""
        has_start = table.data.get("start") is not None
        if has_start != (table.data.get("end") is not None):
            table.problem("end" if has_start else "start",
                          _("is required when the other of 'start' and 'end' is given"))
        if session.start and session.end and session.end <= session.start:
            table.problem("end", _("must be after 'start'"))
        if session.is_dated and session.updated is None:
            table.problem("announced", _(
                "a dated session needs 'announced' or 'updated': calendars use it to date "
                "the entry (DTSTAMP, LAST-MODIFIED)"))
        # SEQUENCE is derived from the published history (agenda.history); the
        # old hand-written `sequence` is only a floor, so no rule ties it to status.
        if session.previous_start is not None and not session.is_dated:
            table.problem("previous_start", _("only makes sense with 'start' and 'end'"))
        if session.replay_url and session.is_cancelled:
            table.problem("replay_url", _("a cancelled session has no recording; remove the link"))
        updated, announced = session.updated, session.announced
        if table.data.get("updated") is not None and updated and announced and updated < announced:
            table.problem("updated", _("must not be before 'announced'"))
        if session.held and has_start:
            table.problem("held", _("is only for sessions without a date; a dated session is "
                                    "past once it ends"))
        if session.held and session.is_cancelled:
            table.problem("held", _("says the session took place, but it is cancelled: keep one"))
        if session.video_public and not session.video_url:
            table.problem("video_public", _("is true but there is no 'video_url'"))

    def session_contacts(self, table: _Table) -> tuple[Contact, ...]:
        """The [[contacts]] a session names; an unknown name is a problem, with the nearest one."""
        found: list[Contact] = []
        for index, name in enumerate(table.strings("contacts")):
            if (contact := self.contacts.get(name)) is not None:
                found.append(contact)
            elif hint := difflib.get_close_matches(name, list(self.contacts), n=1):
                table.problem(f"contacts[{index}]", _("'{name}' names no [[contacts]]; did you "
                              "mean '{hint}'?", name=name, hint=hint[0]))
            elif name:
                table.problem(f"contacts[{index}]", _("'{name}' names no [[contacts]]; contacts: "
                              "{known}", name=name, known=", ".join(self.contacts) or "—"))
        return tuple(found)

    def person(self, table: _Table, raw: Any, prefix: str) -> Person | None:
        if raw is None:
            return None
        sub = _Table(self, raw, PERSON, table.where, prefix)
        return sub.finish(Person(name=sub.text("name"), role=sub.text("role")))


def _where(named: str, numbered: str, raw: Any, position: int) -> str:
    """How a message names an entry: by its id when it has a usable one, else by position."""
    ident = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(ident, str) and ident.strip():
        return named.format(id=ident.strip())
    return numbered.format(number=position)


def _kind(value: Any) -> str:
    """A value's TOML type, for messages."""
    if isinstance(value, datetime) and value.tzinfo:
        return _("a date-time with offset ({value})", value=value.isoformat())
    kinds = (  # bool before int, datetime before date: each is a subclass of the other
        (bool, _("a boolean")), (int | float, _("a number ({value})")),
        (str, _("a string ('{value}')")), (datetime, _("a date-time")),
        (date, _("a date ({value})")), (time, _("a time without date")),
        (list, _("a list")), (dict, _("a table")))
    named = (text.format(value=value) for kind, text in kinds if isinstance(value, kind))
    return next(named, type(value).__name__)
