"""The JSON document for the CEPS site: every session with its times, links and status.

Plain dicts serialized deterministically (sorted keys, UTF-8, no clock): the same schedule gives
the same bytes and ETag. A private video link never gets here (`public_video_url`).
schemas/events.json is the hand-written JSON Schema of both: tests check every document with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from importlib import resources
from typing import Any

from agenda.model import CalendarInfo, Planned, Revision, Schedule, Session, iso
from agenda.render import links, wording

FORMAT_VERSION = 1


def ordered(schedule: Schedule) -> tuple[Session, ...]:
    """Dated sessions in chronological order, then undated ones in file order."""
    return schedule.dated_sessions + tuple(s for s in schedule.sessions if not s.is_dated)


def session_document(schedule: Schedule, session: Session, now: datetime | None = None
                     ) -> dict[str, Any]:
    """One session as a JSON-ready dict, over at `now` or, without a moment, when the file says
    so (a held session or one with a replay always is)."""
    calendar = schedule.calendar
    span = session.duration
    over = session.is_over(now) if now is not None else session.is_known_held
    return {
        "id": session.id, "url": links.page_url(calendar, session),
        "json_url": calendar.url(links.session_path(session, ".json")),
        "ics_url": calendar.url(links.session_path(session, ".ics")) if session.is_dated else None,
        "series": {"id": session.series.id, "title": session.series.title},
        "number": session.number, "city": session.city, "title": session.title,
        "headline": wording.headline(session), "status": session.status.value,
        "status_label": wording.shown_status(session, over),
        "rescheduled": session.moved_from is not None, "held": session.held,
        "start": iso(session.start), "end": iso(session.end),
        "previous_start": iso(session.moved_from),
        "duration_minutes": int(span.total_seconds() // 60) if span is not None else None,
        "when": wording.when_in_zone(session, calendar.language, over),
        "speakers": [asdict(p) for p in session.speakers],
        "moderator": asdict(session.moderator) if session.moderator else None,
        "description": session.description,
        "registration_url": None if over or session.is_cancelled else session.registration_url,
        "video_url": session.public_video_url,
        "add_to_calendar": links.add_to_calendar(calendar, session, over),
        "announced": iso(session.appeared),  # the feeds' date
        "updated": iso(session.updated), "replay_url": session.replay_url,
        "uid": session.uid or None, "sequence": session.sequence,
        "changes": [_change(calendar, session, r) for r in session.logged],
        "contacts": [asdict(c) for c in schedule.contacts_for(session)]}


def _change(calendar: CalendarInfo, session: Session, revision: Revision) -> dict[str, Any]:
    """One revision of the change log: when, SEQUENCE after it, what changed, the date before."""
    # A private link's change is said as any change: its name would tell that the room moved;
    # so is a SEQUENCE an older file raised by hand, which no field explains.
    hidden = () if session.public_video_url else ("video_url",)
    return {
        "at": iso(revision.at), "sequence": revision.sequence,
        "fields": list(dict.fromkeys("content" if f in hidden else f
                                     for f in revision.fields or ("content",))),
        "news": [n.value for n in revision.news] if session.tells(revision) else [],
        "summary": wording.change_line(session, revision, calendar),
        "previous_start": iso(revision.previous_start), "previous_end": iso(revision.previous_end),
        "previous_status": revision.previous_status.value if revision.previous_status else None}


def planned_document(calendar: CalendarInfo, planned: Planned) -> dict[str, Any]:
    """A planned date that no session holds yet: tentative, « à annoncer »."""
    return {
        "series": {"id": planned.series.id, "title": planned.series.title},
        "number": planned.number, "headline": wording.planned_headline(planned),
        "status": "planned", "status_label": wording.PLANNED_LABEL,
        "start": iso(planned.start), "end": iso(planned.end),
        "when": wording.when_in_zone(planned, calendar.language),
        "uid": planned.uid, "sequence": planned.sequence}


def schedule_document(schedule: Schedule, now: datetime | None = None, sessions: bool = True
                      ) -> dict[str, Any]:
    """The whole schedule as a JSON-ready dict: calendar, series, contacts, sessions; `now` decides
    which sessions are over and which planned dates gone (None: those the file says are)."""
    calendar = schedule.calendar
    return {
        "version": FORMAT_VERSION,
        "calendar": {
            "name": calendar.name, "description": calendar.description,
            "language": calendar.language, "timezone": calendar.timezone.key,
            "url": calendar.url("/"), "subscribe": links.subscribe_urls(calendar),
            "feeds": {"rss": calendar.url(links.RSS_PATH), "atom": calendar.url(links.ATOM_PATH),
                      "json": calendar.url(links.EVENTS_JSON_PATH)},
            "organizer": asdict(calendar.organizer)},
        "series": [{"id": s.id, "title": s.title, "club": s.club, "description": s.description,
                    "partners": list(s.partners), "url": s.url} for s in schedule.series],
        "contacts": [asdict(c) for c in schedule.contacts],
        "sessions": [session_document(schedule, s, now)
                     for s in ordered(schedule)] if sessions else [],
        "planned": [planned_document(calendar, p) for p in schedule.planned_at(now)]}


def events_bytes(schedule: Schedule, now: datetime | None = None,
                 members: Mapping[str, bytes] | None = None) -> bytes:
    """/events.json at `now` (see `schedule_document`): `json.dumps`'s compact bytes, written a
    member and a session at a time; a session's from `members` (its /events/<id>.json) if there."""
    pieces = []  # joined once: 25 MB at 10,000 sessions, never copied piece by piece
    for key, value in sorted(schedule_document(schedule, now, sessions=False).items()):
        pieces += [b"," if pieces else b"{", _compact(key), b":"]
        if key != "sessions":
            pieces.append(_compact(value))
            continue
        pieces.append(b"[")
        for number, s in enumerate(ordered(schedule)):
            member = (members or {}).get(s.id) or session_bytes(schedule, s, now)
            pieces += [b"," if number else b"", member.removesuffix(b"\n")]
        pieces.append(b"]")
    pieces.append(b"}\n")
    return b"".join(pieces)


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def session_bytes(schedule: Schedule, session: Session, now: datetime | None = None) -> bytes:
    """/events/<id>.json at `now` (see `schedule_document`): its member of /events.json, a line."""
    return _compact(session_document(schedule, session, now)) + b"\n"


def schema_bytes(schedule: Schedule) -> bytes:
    """/schemas/events.json: the JSON Schema of both documents, its $id made absolute."""
    schema = json.loads((resources.files("agenda") / "schemas" / "events.json").read_bytes())
    schema["$id"] = schedule.calendar.url(links.EVENTS_SCHEMA_PATH)
    return (json.dumps(schema, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()
