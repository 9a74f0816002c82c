"""The schedule as plain, frozen objects, already validated.

Datetimes are aware, URLs are http(s), ids are slugs: exporters never re-check them.
This module imports neither Flask nor icalendar.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo


class Status(StrEnum):
    """Whether a session takes place; values are the schedule file's words."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Person:
    """A speaker or moderator, with the role the press release gives them."""

    name: str
    role: str = ""


@dataclass(frozen=True, slots=True)
class Organizer:
    """Who runs the calendar: ORGANIZER in iCalendar, author in feeds."""

    name: str
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """A press contact."""

    name: str
    organization: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Rhythm:
    """A series' planned dates: an RFC 5545 RRULE from a first date, at the usual hours."""

    rule: str
    first: datetime
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Series:
    """A run of sessions under one title, such as "Tour des Villes"."""

    id: str
    title: str
    club: str = ""
    description: str = ""
    partners: tuple[str, ...] = ()
    url: str | None = None
    rhythm: Rhythm | None = None


class Change(StrEnum):
    """What a revision did that journalists hear of; other edits are quiet."""

    CANCELLED = "cancelled"
    REINSTATED = "reinstated"
    RESCHEDULED = "rescheduled"
    DATED = "dated"
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"  # tentative again, confirmed or cancelled before
    SPEAKERS = "speakers"
    ACCESS = "access"  # public video link changed, registration opened or closed, before it ends
    REPLAY = "replay"
    REPLAY_REMOVED = "replay_removed"


@dataclass(frozen=True, slots=True)
class Revision:
    """One published change of a session: when, its SEQUENCE after it, and what changed.

    `fields` names the changed fields, ("published",) at first publication; `news` is what the feeds
    announce (nothing for quiet edits); `previous_*` are the values before. A `correction` fixes a
    mistake just published: calendars get it, news feeds do not. `by` is the e-mail of the editor
    who published it, for the history only."""

    at: datetime
    sequence: int
    fields: tuple[str, ...]
    news: tuple[Change, ...] = ()
    previous_start: datetime | None = None
    previous_end: datetime | None = None
    previous_status: Status | None = None
    correction: bool = False
    by: str | None = None

    @property
    def is_first(self) -> bool:
        """True for the revision that first published the session."""
        return self.fields == ("published",)


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """The [calendar] table: what the whole publication is called and where it lives."""

    name: str
    timezone: ZoneInfo
    base_url: str
    organizer: Organizer
    description: str = ""
    language: str = "fr"
    updated: datetime | None = None
    # When each list (list_key) last lost or gained a session otherwise than by its revision.
    listed: dict[str, datetime] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """Host part of base_url; it makes UIDs globally unique."""
        return urlsplit(self.base_url).hostname or "localhost"

    def url(self, path: str) -> str:
        """Absolute public URL for a path of this service."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True, slots=True)
class Session:
    """One session of a series. `id` is permanent: page, file name and UID derive from it."""

    id: str
    series: Series
    city: str
    number: int | None = None
    title: str = ""
    start: datetime | None = None
    end: datetime | None = None
    speakers: tuple[Person, ...] = ()
    moderator: Person | None = None
    video_url: str | None = None
    video_public: bool = False
    registration_url: str | None = None
    status: Status = Status.CONFIRMED
    announced: datetime | None = None
    description: str = ""
    sequence: int = 0
    updated: datetime | None = None
    previous_start: datetime | None = None
    held: bool = False
    replay_url: str | None = None
    contacts: tuple[Contact, ...] = ()  # its own press contacts; none: the calendar's
    uid: str = ""
    revisions: tuple[Revision, ...] = ()
    due: datetime | None = None  # the publication that brought its announcement due (history)

    @property
    def appeared(self) -> datetime | None:
        """The feeds' date of its announcement: `announced`, or the publication making it due."""
        return max(self.due, self.announced) if self.due and self.announced else self.announced

    @property
    def is_dated(self) -> bool:
        """True when the session has a start and end, hence a calendar entry."""
        return self.start is not None and self.end is not None

    @property
    def is_cancelled(self) -> bool:
        """True when the session will not take place."""
        return self.status is Status.CANCELLED

    @property
    def moved_from(self) -> datetime | None:
        """Its start first planned if it was moved; None once cancelled (its revisions keep it)."""
        return None if self.is_cancelled else self.previous_start

    @property
    def duration(self) -> timedelta | None:
        """Time elapsed from start to end, a change of the clocks included; None when undated."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC) if self.is_dated else None

    @property
    def is_known_held(self) -> bool:
        """True when the file itself says the session took place: `held`, or a replay."""
        return self.held or self.replay_url is not None

    def is_over(self, now: datetime) -> bool:
        """True when the session is over at `now`: it has ended, or it is known to be held."""
        return self.is_known_held or (self.end is not None and self.end <= now)

    @property
    def public_video_url(self) -> str | None:
        """The video link when it may be published, none once cancelled; private ones stay here."""
        return self.video_url if self.video_public and not self.is_cancelled else None

    @property
    def lists(self) -> tuple[str, ...]:
        """The lists of sessions it is in, by `list_key` (all, its city's, its series'), and its
        id, for its own documents (they show its announcement)."""
        return list_key(), list_key(city=self.city), list_key(series_id=self.series.id), self.id

    @property
    def logged(self) -> tuple[Revision, ...]:
        """Its change log: its first publication, then its revisions from `appeared` on."""
        told = self.appeared
        return tuple(r for r in self.revisions if r.is_first or told is None or told <= r.at)

    def tells(self, revision: Revision) -> bool:
        """Whether the news feeds announce `revision`: a change after the announcement (which
        shows the session as it then is), unless a correction moved the date back since."""
        return bool(revision.news) and self.appeared is not None and self.appeared < revision.at \
            and (revision.news, revision.previous_start, revision.previous_end) != (
                (Change.RESCHEDULED,), *self.dates_after(revision))

    def dates_after(self, revision: Revision) -> tuple[datetime | None, datetime | None]:
        """Start and end as `revision` left them, with the corrections that followed it."""
        later = self.revisions[self.revisions.index(revision) + 1:]
        move = next((r for r in later if {"start", "end"} & {*r.fields} and not r.correction), None)
        return (move.previous_start, move.previous_end) if move else (self.start, self.end)


@dataclass(frozen=True, slots=True)
class Planned:
    """A date that a series' rhythm plans and no dated session holds yet: « à annoncer »."""

    series: Series
    number: int
    start: datetime
    end: datetime
    uid: str
    sequence: int = 0
    updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """Everything the schedule file says, validated."""

    calendar: CalendarInfo
    series: tuple[Series, ...]
    sessions: tuple[Session, ...]
    contacts: tuple[Contact, ...] = ()
    source: str = field(default="", compare=False)  # where it was read: for messages only
    planned: tuple[Planned, ...] = ()
    # Each session as read (before its history), by a digest of its text and of the beginning of
    # the file: what reading the next text of the file reuses (loader.parse_bytes's `known`).
    parsed: Mapping[bytes, Session] = field(default_factory=dict, compare=False, repr=False)
    # Made from `sessions` by each schedule, replace()'s too: never shared with another.
    _by_id: dict[str, Session] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {s.id: s for s in self.sessions})

    def session(self, session_id: str) -> Session | None:
        """The session with this id, or None."""
        return self._by_id.get(session_id)

    def contacts_for(self, session: Session) -> tuple[Contact, ...]:
        """The press contacts of a session: its own, else the calendar's."""
        return session.contacts or self.contacts

    def series_by_id(self, series_id: str) -> Series | None:
        """The series with this id, or None."""
        return next((s for s in self.series if s.id == series_id), None)

    @property
    def dated_sessions(self) -> tuple[Session, ...]:
        """Sessions with a date, in chronological order."""
        return in_order(self.sessions)

    def planned_at(self, now: datetime | None) -> tuple[Planned, ...]:
        """The planned dates still to come at `now` (all of them without a moment)."""
        return tuple(p for p in self.planned if now is None or p.end > now)

    def ended_ids(self, now: datetime) -> frozenset[str]:
        """Ids of the sessions over at `now`: ended ones, and undated ones known to be held."""
        return frozenset(s.id for s in self.sessions if s.is_over(now))

    def cities(self) -> frozenset[str]:
        """Every city named by a session."""
        return frozenset(s.city for s in self.sessions)


def list_key(city: str | None = None, series_id: str | None = None) -> str:
    """A list of sessions, as `CalendarInfo.listed` names it: "" (all), "city:…" or "series:…"."""
    return f"city:{city}" if city else f"series:{series_id}" if series_id else ""


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset, as JavaScript's Date and every JSON reader expect; or None."""
    return moment.isoformat() if moment is not None else None


def latest_update(sessions: Iterable[Session | Planned], until: datetime | None = None
                  ) -> datetime | None:
    """The latest `updated` of these sessions or planned dates (by `until`: none later), or None."""
    return max((t for s in sessions if (t := s.updated) and (until is None or t <= until)),
               default=None)


def in_order(sessions: Iterable[Session]) -> tuple[Session, ...]:
    """The dated sessions among `sessions`, by start, then number and id as the pages list them."""
    return tuple(sorted((s for s in sessions if s.is_dated),
                        key=lambda s: (s.start, s.number or 0, s.id)))


# Small letters NFKD does not split into a base letter and an accent; apostrophes as letters.
_LIGATURES = str.maketrans("łøđıʼʻ", "lodi''") | str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def city_slug(city: str) -> str:
    """A city's name as a path segment: 'Saint-Étienne' -> 'saint-etienne', '東京' -> 'c-…'.

    A name with letters beyond Latin ones (東京, القاهرة) gets a short, stable digest of the name
    after what transliterates, so that every city has its own working slug."""
    split = unicodedata.normalize("NFKD", city.lower().translate(_LIGATURES))
    # Accents, invisible signs, then letters beyond Latin go (ASCII has none); other signs split.
    bare = split.lower() if split.isascii() else "".join(c for c in split if not (
        unicodedata.combining(c) or unicodedata.category(c) == "Cf")).lower()
    kept = bare if bare.isascii() else "".join(c for c in bare if c.isascii() or not c.isalnum())
    slug = re.sub(r"[^a-z0-9]+", "-", kept).strip("-")
    if slug and len(kept) == len(bare):
        return slug
    digest = hashlib.sha256(unicodedata.normalize("NFC", city).encode("utf-8")).hexdigest()
    return f"{slug or 'c'}-{digest[:8]}"
