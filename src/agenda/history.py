"""Revisions, derived: what each published version changed, session by session.

For every session the history keeps what iCalendar's update rules need: its UID (fixed when
first published), a fingerprint of what subscribers see, its SEQUENCE (which grows when the
fingerprint, or base_url, changes) and its revisions (when, which fields, the values before).
Pure functions: the clock comes in as `now`, once per publication; a first version takes its
times from the file (`announced`, the older `updated`): services given one file agree.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from agenda.errors import Problem, ScheduleError
from agenda.i18n import _
from agenda.model import CalendarInfo, Change, Planned, Revision, Schedule, Series, Session, Status
from agenda.planning import on_clock, open_occurrences

FIRST = ("published",)
DATE_FIELDS = ("start", "end")
# A change published this soon after the session's previous one fixes a mistake.
CORRECTION_WINDOW = timedelta(minutes=15)
# The news a correction may keep quiet; the others (status, replay, either way) are news always.
CORRECTABLE = frozenset((Change.RESCHEDULED, Change.DATED, Change.SPEAKERS, Change.ACCESS))


@dataclass(frozen=True, slots=True)
class Entry:
    """What the history knows of one session (or one planned date)."""

    uid: str
    sequence: int
    fingerprint: str
    revisions: tuple[Revision, ...] = ()
    in_calendar: bool = False  # has had a calendar event: its UID is then fixed for good
    due: datetime | None = None  # when a publication brought its announcement due, still to come
    withdrawn: datetime | None = None


@dataclass(frozen=True, slots=True)
class History:
    """The revision history of a published version: one Entry per session and planned date."""

    version: int
    published: datetime | None
    sessions: Mapping[str, Entry]
    planned: Mapping[str, Entry] = field(default_factory=dict)
    shared: datetime | None = None  # the last publication changing calendar, contacts or series
    # Cities and series (id: title) gone since they had feeds: these stay, empty (not a 404).
    gone_cities: tuple[str, ...] = ()
    gone_series: Mapping[str, str] = field(default_factory=dict)
    listed: Mapping[str, datetime] = field(default_factory=dict)  # CalendarInfo.listed's


@dataclass(frozen=True, slots=True)
class SessionChange:
    """How one session differs between two versions, for `agenda check` and `publish`."""

    id: str
    details: tuple[str, ...]
    sequence_before: int | None
    sequence_after: int | None

    def __str__(self) -> str:
        what, before, after = ", ".join(self.details), self.sequence_before, self.sequence_after
        if after is not None and before != after:  # a new session: its first SEQUENCE alone
            what += f" (SEQUENCE {after})" if before is None else f" (SEQUENCE {before} → {after})"
        return _("{place}: {message}", place=self.id, message=what)


def series_view(calendar: CalendarInfo, series: Series) -> dict[str, str]:
    """What every event of `series` shows of it and of the organizer, sessions' and planned."""
    organizer = calendar.organizer
    return {"series": f"{series.title}\n{series.club}",
            "organizer": f"{organizer.name}\n{organizer.email or ''}\n{organizer.url or ''}"}


def visible(calendar: CalendarInfo, session: Session) -> dict[str, str]:
    """What subscribers see of a session, field by field, as text: the fingerprint's input.

    Not the announcement date nor older files' revision fields (they say when, not what); the
    private video link is in, because registered people's personal links carry it."""
    return {**series_view(calendar, session.series),
        "number": "" if session.number is None else str(session.number),
        "city": session.city, "title": session.title,
        "start": session.start.isoformat() if session.start else "",
        "end": session.end.isoformat() if session.end else "",
        "status": session.status.value, "held": "yes" if session.held else "",
        "speakers": "\n".join(f"{p.name}, {p.role}" for p in session.speakers),
        "moderator": f"{session.moderator.name}, {session.moderator.role}"
        if session.moderator else "",
        "description": session.description,
        "video_url": session.video_url or "", "video_public": "yes" if session.video_public else "",
        "registration_url": session.registration_url or "", "replay_url": session.replay_url or ""}


def fingerprint(view: Mapping[str, str]) -> str:
    """A short, stable digest of a `visible` view."""
    text = json.dumps(dict(view), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def planned_key(series_id: str, number: int) -> str:
    """The history's key of a planned date: 'series-id/5'."""
    return f"{series_id}/{number}"


def planned_uid(calendar: CalendarInfo, series_id: str, number: int | str) -> str:
    """UID of a planned date; a '.' never occurs in a session id, so no session can clash."""
    return f"{series_id}.{number}@{calendar.host}"


def session_uid(calendar: CalendarInfo, session: Session) -> str:
    """UID of a session first published on its own: its id at the service's host."""
    return f"{session.id}@{calendar.host}"


def news_of(before: Session, after: Session, at: datetime) -> tuple[Change, ...]:
    """What a change from `before` to `after` at `at` tells its followers, most important first."""
    if before.is_cancelled and after.is_cancelled:  # nothing more until it is reinstated
        return ()
    moved = (before.start, before.end) != (after.start, after.end)
    join = [(s.video_public and s.video_url, bool(s.registration_url)) for s in (before, after)]
    told = {
        Change.CANCELLED: after.is_cancelled and not before.is_cancelled,
        Change.REINSTATED: before.is_cancelled and not after.is_cancelled,
        Change.RESCHEDULED: before.is_dated and after.is_dated and moved,
        Change.DATED: after.is_dated and not before.is_dated,
        Change.CONFIRMED: before.status is Status.TENTATIVE and after.status is Status.CONFIRMED,
        Change.UNCONFIRMED: before.status != after.status is Status.TENTATIVE,  # cancelled too
        Change.SPEAKERS: (before.speakers, before.moderator) != (after.speakers, after.moderator),
        Change.ACCESS: join[0] != join[1] and not (after.is_cancelled or after.is_over(at)),
        Change.REPLAY: bool(after.replay_url) and after.replay_url != before.replay_url,
        Change.REPLAY_REMOVED: bool(before.replay_url) and not after.replay_url}
    return tuple(change for change, happened in told.items() if happened)


def is_correction(asked: bool | None, news: Collection[Change], last: Revision | None,
                  now: datetime) -> bool:
    """Whether a change is published as a correction (to calendars, not news feeds): as `asked`
    (None: the 15-minute rule); only news of a CORRECTABLE kind can be."""
    if asked is False or not CORRECTABLE.issuperset(news):
        return False
    return asked or (last is not None and timedelta(0) <= now - last.at <= CORRECTION_WINDOW)


def _revision(at: datetime, sequence: int, fields: tuple[str, ...], before: Session | None,
              after: Session, correction: bool | None = False, last: Revision | None = None,
              by: str | None = None) -> Revision:
    """The revision that publishes `after`; `before` is None for a first publication."""
    if before is None:
        return Revision(at=at, sequence=sequence, fields=fields, by=by)
    news = news_of(before, after, at)
    fixed = is_correction(correction, news, last, at)
    moved = any(f in fields for f in DATE_FIELDS)
    return Revision(
        at=at, sequence=sequence, fields=fields, news=() if fixed else news,
        previous_start=before.start if moved else None, previous_end=before.end if moved else None,
        previous_status=before.status if "status" in fields else None, correction=fixed, by=by)


def _first_entry(calendar: CalendarInfo, session: Session) -> Entry:
    """A session's entry at its first publication, from the file alone: older files' hand-written
    `sequence`, `updated` and `previous_start` seed it, as a revision at `updated`, read no more."""
    revisions: list[Revision] = []
    if session.announced is not None:
        revisions.append(Revision(at=session.announced, sequence=0, fields=FIRST))
    at = session.updated or session.announced
    if at is not None and (session.sequence > 0 or session.announced is None):
        moved, span = session.previous_start, session.duration
        end = on_clock(span + moved.astimezone(UTC), calendar.timezone) if moved and span else None
        told = {Change.CANCELLED: session.is_cancelled, Change.RESCHEDULED: moved is not None}
        fields = (DATE_FIELDS if moved else ()) + (("status",) if session.is_cancelled else ())
        revisions.append(Revision(
            at=at, sequence=session.sequence, fields=fields or (() if revisions else FIRST),
            news=tuple(c for c in told if told[c] and session.sequence > 0), previous_start=moved,
            previous_end=end, previous_status=Status.CONFIRMED if session.is_cancelled else None))
    return Entry(uid=session_uid(calendar, session), sequence=session.sequence,
                 fingerprint=fingerprint(visible(calendar, session)),
                 revisions=tuple(revisions), in_calendar=session.is_dated)


def _planned_entries(schedule: Schedule, old: Mapping[str, Entry], now: datetime | None,
                     taken: Collection[str] = (), held: Collection[str] = ()) -> dict[str, Entry]:
    """Entries of the open planned dates: kept, revised when they move, new ones added. A
    new entry never takes a UID in `held` (a session's: one that took over this date, then
    changed its number): it gets the next free one, 's.5.2@host'."""
    calendar = schedule.calendar
    at = now or calendar.updated
    found: dict[str, Entry] = {}
    for series in schedule.series:
        for number, start, end in open_occurrences(series, schedule.sessions):
            key = planned_key(series.id, number)
            if key in taken:
                continue
            digest = fingerprint({**series_view(calendar, series), "zone": calendar.timezone.key,
                                  "start": start.isoformat(), "end": end.isoformat()})
            entry = old.get(key)
            if entry is None:
                revisions = (Revision(at=at, sequence=0, fields=FIRST),) if at else ()
                uid, again = planned_uid(calendar, series.id, number), 1
                while uid in held:
                    again += 1
                    uid = planned_uid(calendar, series.id, f"{number}.{again}")
                entry = Entry(uid, 0, digest, revisions, True)
            elif entry.fingerprint != digest:
                sequence = entry.sequence + 1
                moved = (Revision(at=at, sequence=sequence, fields=DATE_FIELDS),) if at else ()
                entry = dataclasses.replace(entry, sequence=sequence, fingerprint=digest,
                                            revisions=entry.revisions + moved)
            found[key] = entry
    # One filled or dropped keeps its entry (not shown): back, its SEQUENCE goes on, not from 0.
    return {k: e for k, e in old.items() if k not in taken} | found


def first_history(schedule: Schedule) -> History:
    """The history of a schedule's first publication, taken from the file alone, not the clock."""
    sessions = {s.id: _first_entry(schedule.calendar, s) for s in schedule.sessions}
    times = [r.at for e in sessions.values() for r in e.revisions] + [schedule.calendar.updated]
    published = max((t for t in times if t is not None), default=None)
    return History(1, published, sessions, _planned_entries(schedule, {}, published))


# What revise says of a published session missing from the file, and of one losing its date
# (msgids): the desk (agenda.desk.preview) knows them by these names, and says them its way.
MISSING = ("was published and is missing from the file, so subscribers would never learn that "
           "it is off. To call it off, put it back with status = \"cancelled\"; if you renamed "
           "it, give it back its id '{id}': its calendar UID, address and news entries derive "
           "from it (a new id makes a second event for whoever added it); to withdraw it on "
           "purpose, run `agenda publish --withdraw {id}`")
DATELESS = ("calendars already have this session; it cannot lose its date. To call it off, "
            "keep its date and write status = \"cancelled\"")


def revise(history: History, previous: Schedule | None, schedule: Schedule, now: datetime,
           withdraw: Collection[str] = (), correction: bool | None = None,
           editor: str | None = None, read: Mapping[str, Session] | None = None
           ) -> tuple[History, list[SessionChange]]:
    """The history of publishing `schedule` at `now` after the version `history` describes.

    `previous` is that version's schedule, for the values before a change (None: unreadable, the
    fields show as "content"). `correction`: are changes corrections (None: those within
    CORRECTION_WINDOW of the session's last revision); `editor` is each revision's `by`. `read`:
    `previous.parsed` when this release made `history`: a session of it keeps its fingerprint.
    Raises ScheduleError when the schedule would drop a published session, or undate one
    calendars have."""
    # A first version's time comes from the file (an announcement may be dated ahead); a later
    # one's is the clock, or a second after it with a clock stepped back: DTSTAMP moves on.
    if history.version > 1 and history.published is not None and now <= history.published:
        now = history.published + timedelta(seconds=1)
    calendar = schedule.calendar
    problems: list[Problem] = []
    changes: list[SessionChange] = []
    sessions: dict[str, Entry] = {}
    taken: set[str] = set()

    def refuse(session_id: str, field: str, text: str) -> None:
        problems.append(Problem(schedule.source, _("session '{id}'", id=session_id), field, text))

    regrouped: set[str] = set()  # the lists of sessions whose announcement, city or series changed
    # What every dated event shows (URLs, its dates' words, TZID) that no fingerprint holds.
    moved = previous is not None and any(getattr(previous.calendar, k) != getattr(calendar, k)
                                         for k in ("base_url", "language", "timezone"))
    same = {s.id: s for s in read.values()} if read else {}  # the very objects, not equal ones
    for session in schedule.sessions:
        entry = history.sessions.get(session.id)
        before = previous.session(session.id) if previous is not None else None
        if before is not None and (before.announced, before.city, before.series.id) \
                != (session.announced, session.city, session.series.id):
            regrouped.update(before.lists + session.lists)
        was = before.announced if before is not None else now  # unknown: as if already due
        due = now if (entry is None or was is None or was > now) and not session.is_over(now) \
            and session.announced and session.announced <= now else entry.due if entry else None
        digest = entry.fingerprint if entry and same.get(session.id) is session else fingerprint(
            visible(calendar, session))
        key = planned_key(session.series.id, session.number) if session.number else ""  # "": none
        takeover = history.planned.get(key) if session.is_dated and (
            entry is None or not entry.in_calendar) else None
        if entry is not None and entry.withdrawn is None and entry.fingerprint == digest \
                and not (moved and session.is_dated):
            sessions[session.id] = entry if due == entry.due else dataclasses.replace(entry,
                                                                                      due=due)
            continue
        if entry is None:
            sequence, uid, prior = max(session.sequence, 0), session_uid(calendar, session), ()
        else:
            sequence, uid, prior = entry.sequence + 1, entry.uid, entry.revisions
        if entry is None or entry.withdrawn is not None:
            fields = FIRST
            details = [_("new session") if entry is None else _("published again")]
        elif entry.in_calendar and not session.is_dated:
            refuse(session.id, "start", _(DATELESS))
            continue
        else:
            seen = visible(calendar, before) if before is not None else None
            fields = tuple(k for k, v in visible(calendar, session).items()
                           if seen and seen.get(k) != v) or ("content",)
            details = [_detail(f, before, session) for f in fields]
        if takeover is not None:
            uid, sequence = takeover.uid, max(sequence, takeover.sequence + 1)
            taken.add(key)
            details.append(_("takes over planned date n° {number} ({uid})",
                             number=session.number, uid=uid))
        revision = _revision(now, sequence, fields, before if fields != FIRST else None, session,
                             correction, prior[-1] if prior else None, editor)
        if revision.correction:
            details.append(_("correction"))
        in_calendar = (entry is not None and entry.in_calendar) or session.is_dated
        sessions[session.id] = Entry(uid, sequence, digest, (*prior, revision), in_calendar, due)
        changes.append(SessionChange(session.id, tuple(details),
                                     entry.sequence if entry else None, sequence))
    for session_id in sorted(withdraw):
        if schedule.session(session_id) is not None:
            refuse(session_id, "", _(
                "is still in the file; remove it from the file before withdrawing it"))
        elif session_id not in history.sessions or history.sessions[session_id].withdrawn:
            refuse(session_id, "", _("was never published; nothing to withdraw"))
    for session_id, entry in history.sessions.items():
        if schedule.session(session_id) is not None:
            continue
        if entry.withdrawn is not None:
            sessions[session_id] = entry
        elif session_id in withdraw:
            sessions[session_id] = dataclasses.replace(entry, withdrawn=now)
            if previous is not None and (off := previous.session(session_id)) is not None:
                regrouped.update(off.lists)  # (else shared moves: it dates every list)
            changes.append(SessionChange(session_id, (_("withdrawn"),), entry.sequence, None))
        else:
            refuse(session_id, "", _(MISSING, id=session_id))
    if problems:
        raise ScheduleError(problems)
    held = {e.uid for e in sessions.values()}
    planned = _planned_entries(schedule, history.planned, now, taken, held)
    for key in sorted(planned):
        old, new = history.planned.get(key), planned[key]
        if old is None or old.sequence != new.sequence:
            what = _("planned date, to be announced") if old is None else _("planned date changed")
            if old is None and new.uid != planned_uid(calendar, *key.rsplit("/", 1)):
                what = _("planned date, to be announced, new UID {uid}: its first UID stays "
                         "with the session that took over this date", uid=new.uid)
            changes.append(SessionChange(_("planned {key}", key=key), (what,),
                                         old.sequence if old else None, new.sequence))
    # Every document shows the calendar, contacts and series (shared); lists alone lose what is
    # withdrawn, feeds what is announced later or goes to another city or series (listed).
    seen = [(dataclasses.replace(s.calendar, updated=None, listed={}), s.contacts, s.series)
            for s in (previous, schedule) if s is not None]
    were = {s.id: s.title for s in previous.series} if previous else {}
    gone = (tuple(sorted(set(history.gone_cities).union(previous.cities() if previous else ())
                         - schedule.cities())),
            {k: v for k, v in (history.gone_series | were).items() if not schedule.series_by_id(k)})
    shared = history.shared if previous is not None and seen[0] == seen[-1] else now
    listed = {**history.listed, **dict.fromkeys(regrouped, now)}
    return History(history.version + 1, now, sessions, planned, shared, *gone, listed), changes


def caught_up(history: History, newest: int, now: datetime) -> History:
    """`history`, older than version `newest` published here and lost (`--new-history`), as it:
    every SEQUENCE above the lost ones' (no #revision-N id again), every document dated `now`."""
    def up(entries: Mapping[str, Entry]) -> dict[str, Entry]:
        return {k: dataclasses.replace(e, sequence=e.sequence + newest + 1 - history.version)
                for k, e in entries.items()}
    return dataclasses.replace(history, version=newest, sessions=up(history.sessions),
                               planned=up(history.planned), shared=now)


def _detail(name: str, before: Session | None, after: Session) -> str:
    """One field's change in words for the editor: 'start 08:45 → 09:30'."""
    if name == "content" or before is None:  # no field of the file says what changed
        return _("content")
    if name in DATE_FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        old = old.astimezone(new.tzinfo) if old and new else old  # another zone: the same clock
        shown = "%H:%M" if old and new and old.date() == new.date() else "%Y-%m-%d %H:%M"
        return f"{name} " + " → ".join(f"{t:{shown}}" if t else _("none") for t in (old, new))
    return f"status {before.status.value} → {after.status.value}" if name == "status" else name


def apply(schedule: Schedule, history: History, previous: Schedule | None = None) -> Schedule:
    """The schedule with its derived revision fields: UID, SEQUENCE, times, change log, plans.
    A session read (loader's `parsed`) and revised as in `previous` is the one it holds."""
    zone = schedule.calendar.timezone
    sessions = []
    read = {s.id: s for s in previous.parsed.values()} if previous else {}
    for session in schedule.sessions:
        entry = history.sessions.get(session.id)
        if entry is None:  # not in this history yet: read_version's new_text (stricter rules)
            sessions.append(session)
            continue
        if read.get(session.id) is session and (done := previous.session(session.id)) and (
                done.uid, done.sequence, done.revisions, done.due) == (  # instants, any zone
                entry.uid, entry.sequence, entry.revisions, entry.due):
            sessions.append(done)
            continue
        revisions = tuple(_in_zone(r, zone) for r in entry.revisions)
        original = next((r.previous_start for r in revisions  # where it was first planned
                         if r.previous_start and not r.correction), None)  # (cancelled: quiet)
        sessions.append(dataclasses.replace(
            session, uid=entry.uid, sequence=entry.sequence, revisions=revisions,
            updated=max((r.at for r in revisions), default=session.updated),
            due=on_clock(entry.due, zone) if entry.due else None,  # Session.appeared
            previous_start=original if session.is_dated and original != session.start else None))
    planned = []
    for key, entry in history.planned.items():
        series_id, _, number = key.rpartition("/")
        series = schedule.series_by_id(series_id)
        if series is None or series.rhythm is None:
            continue
        # Its DTSTAMP: its revision's, else the version's, else (no date at all) the rhythm's start.
        stamp = max((r.at for r in entry.revisions), default=None) or history.published
        updated = on_clock(stamp or series.rhythm.first, zone)
        planned.extend(
            Planned(series=series, number=n, start=start, end=end, uid=entry.uid,
                    sequence=entry.sequence, updated=updated)
            for n, start, end in open_occurrences(series, schedule.sessions) if n == int(number))
    planned.sort(key=lambda p: (p.start, p.series.id, p.number))
    updated = max((t for t in (schedule.calendar.updated, history.shared) if t), default=None)
    calendar = dataclasses.replace(schedule.calendar, updated=updated, listed=dict(history.listed))
    return dataclasses.replace(schedule, calendar=calendar, sessions=tuple(sessions),
                               planned=tuple(planned))


def _in_zone(revision: Revision, zone: ZoneInfo) -> Revision:
    """The revision with its times in the calendar's zone, as pages show them."""
    times = {name: getattr(revision, name) for name in ("at", "previous_start", "previous_end")}
    moved = {name: on_clock(moment, zone) for name, moment in times.items() if moment is not None}
    return dataclasses.replace(revision, **moved)
