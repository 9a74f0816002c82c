"""iCalendar (RFC 5545) output: the subscription feed and single-session downloads.

Building the calendar (`build_event`, `build_calendar`) is kept apart from
turning it into bytes (`feed_bytes`, `session_bytes`). Every value comes from
the published version: UID and SEQUENCE from its history, DTSTAMP and
LAST-MODIFIED from the session's latest revision, so the same version always
gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vDuration, vText, vUri

from agenda.model import CalendarInfo, Planned, Schedule, Session, Status
from agenda.render import links, wording
from agenda.render.vtimezone import build_vtimezone

PRODID = "-//agenda//agenda calendar publisher//FR"
REFRESH = timedelta(hours=6)  # Apple and Nextcloud honour it; Google ignores it
ICAL_STATUS = {
    Status.CONFIRMED: "CONFIRMED",
    Status.TENTATIVE: "TENTATIVE",
    Status.CANCELLED: "CANCELLED",
}


def uid(calendar: CalendarInfo, session: Session) -> str:
    """The event's permanent UID, as the history fixed it (else the session id at the host)."""
    return session.uid or f"{session.id}@{calendar.host}"


def location(session: Session) -> str:
    """LOCATION text: the video conference, with its link when the link is public."""
    if session.public_video_url:
        return f"Visioconférence : {session.public_video_url}"
    return "Visioconférence (lien communiqué aux inscrits)"


def description(calendar: CalendarInfo, session: Session) -> str:
    """DESCRIPTION text: theme, people, links as raw URLs (every client makes them clickable)."""
    locale = calendar.language
    lines: list[str] = []
    if session.replay_url:
        # What a reader wants once the session is over comes first.
        lines += [f"Revoir la matinale : {session.replay_url}", ""]
    if session.is_cancelled:
        lines += ["Séance annulée.", ""]
    elif session.previous_start is not None:
        former = wording.long_date(session.previous_start, locale)
        lines += [f"Séance {wording.moved_word(session)} (initialement prévue le {former}).", ""]
    if session.title:
        lines += [session.title, ""]
    for speaker in session.speakers:
        lines.append("Intervenant : " + wording.person_line(speaker.name, speaker.role))
    if session.moderator:
        moderator = session.moderator
        lines.append("Animation : " + wording.person_line(moderator.name, moderator.role))
    if session.speakers or session.moderator:
        lines.append("")
    if session.description:
        lines += [session.description, ""]
    if session.public_video_url:
        lines.append(f"Visioconférence : {session.public_video_url}")
    elif not session.is_cancelled and not session.is_known_held:
        lines.append("Visioconférence : le lien de connexion est communiqué aux inscrits.")
    if session.registration_url and not session.is_cancelled and not session.is_known_held:
        lines.append(f"Inscription : {session.registration_url}")
    lines.append(f"Page de la séance : {links.page_url(calendar, session)}")
    return "\n".join(lines)


def build_event(calendar: CalendarInfo, session: Session) -> Event:
    """The VEVENT of one dated session."""
    assert session.start is not None and session.end is not None and session.updated is not None
    event = Event()
    event.add("uid", uid(calendar, session))
    stamp = session.updated.astimezone(UTC)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    if session.announced is not None:
        event.add("created", session.announced.astimezone(UTC))
    event.add("sequence", session.sequence)
    event.add("status", ICAL_STATUS[session.status])
    event.add("dtstart", session.start)
    event.add("dtend", session.end)
    event.add("summary", wording.headline(session))
    event.add("description", description(calendar, session))
    event.add("location", location(session))
    event.add("url", links.page_url(calendar, session), parameters={"VALUE": "URI"})
    if session.public_video_url:
        event.add(
            "conference",
            vUri(session.public_video_url),
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Visioconférence"},
        )
    event.add("organizer", _organizer(calendar))
    event.add("categories", [c for c in (session.series.title, session.series.club) if c])
    event.add("class", "PUBLIC")
    # A cancelled session no longer blocks the subscriber's time.
    event.add("transp", "TRANSPARENT" if session.is_cancelled else "OPAQUE")
    return event


def build_planned(calendar: CalendarInfo, planned: Planned) -> Event:
    """The TENTATIVE VEVENT of a planned date that no session holds yet."""
    assert planned.updated is not None
    event = Event()
    event.add("uid", planned.uid)
    stamp = planned.updated.astimezone(UTC)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("sequence", planned.sequence)
    event.add("status", "TENTATIVE")
    event.add("dtstart", planned.start)
    event.add("dtend", planned.end)
    event.add("summary", wording.planned_headline(planned))
    event.add("description", wording.PLANNED_NOTE)
    event.add("location", "Visioconférence")
    event.add("organizer", _organizer(calendar))
    event.add("categories", [c for c in (planned.series.title, planned.series.club) if c])
    event.add("class", "PUBLIC")
    event.add("transp", "TRANSPARENT")  # a placeholder should not block anyone's day
    return event


def _organizer(calendar: CalendarInfo) -> vCalAddress:
    organizer = calendar.organizer
    if organizer.email:
        address = f"mailto:{organizer.email}"
    else:  # RFC 5545 wants a URI; libical wants an ORGANIZER at all with METHOD:PUBLISH
        address = organizer.url or calendar.base_url
    value = vCalAddress(address)
    value.params["CN"] = vText(organizer.name)
    return value


def _head(info: CalendarInfo, name: str | None, subscription: bool) -> Calendar:
    """The VCALENDAR's own properties, without components."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if subscription:
        title = name or info.name
        cal.add("name", vText(title))
        cal.add("x-wr-calname", vText(title))
        if info.description:
            cal.add("description", info.description)
            cal.add("x-wr-caldesc", vText(info.description))
        cal.add("x-wr-timezone", vText(info.timezone.key))
        cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(REFRESH))
    return cal


def _timezones(
    schedule: Schedule, span: Sequence[Session | Planned]
) -> list[tuple[ZoneInfo, datetime, datetime, frozenset[int] | None]]:
    """The VTIMEZONEs a calendar of `span` needs: (zone, first, last, years) of each."""
    info = schedule.calendar
    if span:
        first = min(s.start for s in span if s.start)
        last = max(s.end for s in span if s.end)
        zones = {s.start.tzinfo for s in span if s.start}
        found = []
        for zone in sorted(zones, key=lambda z: getattr(z, "key", "")):
            # Only the years that hold a session: sessions centuries apart stay cheap.
            years = frozenset(
                t.astimezone(zone).year for s in span for t in (s.start, s.end) if t
            )
            found.append((zone, first, last, years))  # type: ignore[arg-type]
        return found
    if schedule.last_modified is not None:
        moment = schedule.last_modified.astimezone(info.timezone)
        return [(info.timezone, moment, moment, None)]
    return []


def _parts(
    schedule: Schedule,
    sessions: Sequence[Session],
    subscription: bool,
    series_ids: Collection[str],
) -> tuple[list[Session], list[Planned], list[Session | Planned]]:
    dated = sorted((s for s in sessions if s.is_dated), key=lambda s: (s.start, s.id))
    planned = [p for p in schedule.planned if p.series.id in series_ids] if subscription else []
    # RFC 5545 wants at least one component: a feed with no event yet (a city
    # whose session has no date) still carries the calendar's VTIMEZONE.
    span: list[Session | Planned] = [*dated, *planned] or [*schedule.dated_sessions]
    return dated, planned, span


def build_calendar(
    schedule: Schedule,
    sessions: Sequence[Session],
    name: str | None = None,
    subscription: bool = True,
    series_ids: Collection[str] = (),
    with_events: bool = True,
) -> Calendar:
    """A VCALENDAR holding the dated sessions among `sessions`, with the VTIMEZONE they need.

    A subscription feed is named (NAME, X-WR-CALNAME) and says how often to
    refresh; a single download must not be named, or Outlook files it into a
    new calendar of its own. A subscription feed also carries the planned dates
    of the series in `series_ids`. `with_events` false leaves the sessions out
    (their VTIMEZONEs stay): feed_bytes puts them in, serialized before.
    """
    info = schedule.calendar
    dated, planned, span = _parts(schedule, sessions, subscription, series_ids)
    cal = _head(info, name, subscription)
    for zone, first, last, years in _timezones(schedule, span):
        cal.add_component(build_vtimezone(zone, first, last, years))
    for session in dated if with_events else ():
        cal.add_component(build_event(info, session))
    for plan in planned:
        cal.add_component(build_planned(info, plan))
    return cal


def event_bytes(calendar: CalendarInfo, session: Session) -> bytes:
    """The VEVENT of one dated session, serialized: the unit a feed is made of."""
    return build_event(calendar, session).to_ical()


END = b"END:VCALENDAR\r\n"


def feed_bytes(
    schedule: Schedule,
    sessions: Sequence[Session],
    name: str | None = None,
    series_ids: Collection[str] | None = None,
    events: Mapping[str, bytes] | None = None,
) -> bytes:
    """The subscription feed for `sessions` and the planned dates of `series_ids` (default all).

    `events` gives sessions' VEVENTs already serialized (event_bytes), by session id:
    a VCALENDAR's bytes are its own lines, then each component's bytes, so the feed is
    `build_calendar(...).to_ical()` byte for byte (a test compares both) without
    serializing again the events that a builder made before.
    """
    if series_ids is None:
        series_ids = [s.id for s in schedule.series]
    if events is None:
        return build_calendar(schedule, sessions, name, True, series_ids).to_ical()
    return _assembled(schedule, sessions, name, True, series_ids, events)


def _assembled(
    schedule: Schedule, sessions: Sequence[Session], name: str | None, subscription: bool,
    series_ids: Collection[str], events: Mapping[str, bytes],
) -> bytes:
    """`build_calendar(...).to_ical()`, the sessions' VEVENTs taken from `events`."""
    dated, planned, _ = _parts(schedule, sessions, subscription, series_ids)
    cal = build_calendar(schedule, sessions, name, subscription, series_ids, with_events=False)
    # The dated events come before the planned ones, after the timezones.
    cut = b"BEGIN:VEVENT\r\n" if planned else END
    head, _, tail = cal.to_ical().partition(cut)
    middle = b"".join(events.get(s.id) or event_bytes(schedule.calendar, s) for s in dated)
    return head + middle + cut + tail


def session_bytes(schedule: Schedule, session: Session, event: bytes | None = None) -> bytes:
    """One session as a stand-alone download, as bytes; `event` is its VEVENT serialized
    before (event_bytes), when the caller has it."""
    if event is None:
        return build_calendar(schedule, [session], subscription=False).to_ical()
    return _assembled(schedule, [session], None, False, (), {session.id: event})
