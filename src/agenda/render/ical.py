"""iCalendar (RFC 5545) output: the subscription feed and single-session downloads.

Every value comes from the published version: UID and SEQUENCE from its history, DTSTAMP
and LAST-MODIFIED from the session's latest revision, so a version always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from icalendar import Calendar, Event, vCalAddress, vCategory, vDuration, vText, vUri

from agenda.model import CalendarInfo, Planned, Schedule, Session, in_order, latest_update
from agenda.render import links, wording
from agenda.render.vtimezone import Known, Window, from_window, transitions, window

PRODID = "-//agenda//agenda calendar publisher//FR"
REFRESH = timedelta(hours=6)  # Apple and Nextcloud honour it; Google ignores it


class _Text(vText):
    """TEXT escaped as RFC 5545 (3.3.11) says. icalendar's escaper reads a backslash written
    before an N (« C:\\Nouveau ») as a line break: the text would change in calendars."""

    def to_ical(self) -> bytes:
        text = str(self).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n").encode()


def description(calendar: CalendarInfo, session: Session) -> str:
    """DESCRIPTION text: theme, people, links as raw URLs (every client makes them clickable)."""
    former = wording.former_start(session, calendar.language)  # with its time: moved within a day
    paragraphs = (  # the replay first: what a reader wants once the session is over
        f"Revoir la séance : {session.replay_url}" if session.replay_url else "",
        "Séance annulée." if session.is_cancelled else former and
        f"Séance {wording.moved_word(session)} (initialement prévue le {former}).",
        session.title,
        "\n".join(f"{label} : {line}" for label, line in wording.people(session)),
        session.description)
    lines = [f"{paragraph}\n" for paragraph in paragraphs if paragraph]  # then a blank line
    if session.public_video_url:
        lines.append(f"Visioconférence : {session.public_video_url}")
    elif not session.is_cancelled and not session.is_known_held:
        lines.append("Visioconférence : le lien de connexion est communiqué aux inscrits.")
    if session.registration_url and not session.is_cancelled and not session.is_known_held:
        lines.append(f"Inscription : {session.registration_url}")
    lines.append(f"Page de la séance : {links.page_url(calendar, session)}")
    return "\n".join(lines)


def _event(calendar: CalendarInfo, item: Session | Planned, **properties: object) -> Event:
    """A VEVENT with what sessions and planned dates share, and their own `properties`."""
    assert item.start is not None and item.end is not None and item.updated is not None
    stamp, organizer = item.updated.astimezone(UTC), calendar.organizer
    # ORGANIZER: RFC 5545 wants a URI; libical wants one at all with METHOD:PUBLISH.
    address = f"mailto:{organizer.email}" if organizer.email else organizer.url or calendar.base_url
    categories = vCategory([])  # each name escaped as _Text (vCategory makes its own vText of each)
    categories.cats = [_Text(n) for n in (item.series.title, item.series.club) if n]
    shared = {"dtstamp": stamp, "last-modified": stamp, "sequence": item.sequence,
              "dtstart": item.start, "dtend": item.end,
              "organizer": vCalAddress(address, params={"CN": vText(organizer.name)}),
              "categories": categories, "class": "PUBLIC"}
    event = Event()
    for name, value in {**shared, **properties}.items():
        event.add(name, _Text(value) if type(value) is str else value)  # not vCalAddress
    return event


def build_event(calendar: CalendarInfo, session: Session) -> Event:
    """The VEVENT of one dated session; its UID as the history fixed it, else id@host."""
    video, off = session.public_video_url, session.is_cancelled or session.is_known_held  # no room
    event = _event(
        calendar, session, uid=session.uid or f"{session.id}@{calendar.host}",
        # The schedule file's words are RFC 5545's; one the file says took place was definite.
        status="CONFIRMED" if session.is_known_held else session.status.upper(),
        summary=wording.headline(session), description=description(calendar, session),
        location="Visioconférence" + (f" : {video}" if video else "" if off
                                      else " (lien communiqué aux inscrits)"),
        # A cancelled session no longer blocks the subscriber's time.
        transp="TRANSPARENT" if session.is_cancelled else "OPAQUE")
    # When it was first published (a session prepared ahead is announced later), else announced.
    created = session.revisions[0].at if session.revisions else session.announced
    if created is not None:
        event.add("created", created.astimezone(UTC))
    event.add("url", links.page_url(calendar, session), parameters={"VALUE": "URI"})
    if video:
        event.add("conference", vUri(video),
                  parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Visioconférence"})
    return event


def build_planned(calendar: CalendarInfo, planned: Planned) -> Event:
    """The TENTATIVE VEVENT of a planned date that no session holds yet."""
    return _event(calendar, planned, uid=planned.uid, status="TENTATIVE",
                  summary=wording.planned_headline(planned),
                  description=wording.PLANNED_NOTE, location="Visioconférence",
                  transp="TRANSPARENT")  # a placeholder should not block anyone's day


def _head(info: CalendarInfo, name: str | None, subscription: bool) -> Calendar:
    """The VCALENDAR's own properties, without components. A subscription feed is named (NAME,
    X-WR-CALNAME) and says how often to refresh; a single download must not be named, or Outlook
    files it into a new calendar of its own."""
    cal = Calendar()
    for prop, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"),
                        ("method", "PUBLISH")):
        cal.add(prop, value)
    if subscription:
        for prop in ("name", "x-wr-calname"):  # RFC 7986's, and the one Apple and Google read
            cal.add(prop, _Text(name or info.name))
        for prop in ("description", "x-wr-caldesc") if info.description else ():
            cal.add(prop, _Text(info.description))
        cal.add("x-wr-timezone", vText(info.timezone.key))
        cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(REFRESH))
    return cal


def zone_changes(schedule: Schedule, before: Mapping[tzinfo, Known] | None = None
                 ) -> dict[tzinfo, Known]:
    """Each zone's changes in every year (UTC) the calendars of `schedule` look at (a year before
    a time's to two after): what a builder works out once for all of them (`known`), 4 ms a year;
    those of a year in `before` (a build's before, of this release: the same) taken from it."""
    times = [t for s in (*schedule.sessions, *schedule.planned) for t in (s.start, s.end) if t]
    years = {t.year + i for t in times for i in range(-2, 4)}  # in another zone: a year off at most
    old = before or {}
    return {zone: {y: old[zone][y] if y in old.get(zone, ()) else transitions(zone, y)
                   for y in years} for zone in {t.tzinfo for t in times}}


def _timezones(schedule: Schedule, dated: Sequence[Session],
               planned: Sequence[Planned]) -> Iterator[Window]:
    """The windows of the VTIMEZONEs a calendar of `dated` and `planned` needs: each zone's, with
    only the years that hold a time. RFC 5545 wants a component: a feed with no event yet (a
    city whose session has no date) has the schedule's VTIMEZONE, or its zone's at a moment."""
    span = [*dated, *planned] or schedule.dated_sessions
    if not span:  # no dated session at all: the zone at a fixed moment of the data
        zone = schedule.calendar.timezone
        latest = latest_update(schedule.sessions + schedule.planned)  # a moment of the data
        moment = (latest or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(zone)
        yield window(zone, moment, moment)
        return
    first, last = min(s.start for s in span if s.start), max(s.end for s in span if s.end)
    for zone in sorted({s.start.tzinfo for s in span if s.start},
                       key=lambda z: getattr(z, "key", "")):
        years = (t.astimezone(zone).year for s in span for t in (s.start, s.end) if t)
        yield window(zone, first, last, years)  # type: ignore[arg-type]


def event_bytes(calendar: CalendarInfo, session: Session) -> bytes:
    """The VEVENT of one dated session, serialized: the unit a feed is made of."""
    return build_event(calendar, session).to_ical()


def feed_bytes(schedule: Schedule, sessions: Sequence[Session], name: str | None = None,
               series_ids: Collection[str] | None = None, events: Mapping[str, bytes] | None = None,
               now: datetime | None = None, zones: Callable[[Window], bytes] | None = None
               ) -> bytes:
    """The subscription feed for `sessions` and the planned dates of `series_ids` (default all)
    to come at `now`; `events`, `zones`: a builder's VEVENTs (by session id) and VTIMEZONEs."""
    plans = [p for p in schedule.planned_at(now) if series_ids is None or p.series.id in series_ids]
    return _assembled(schedule, sessions, name, True, plans, events or {}, zones)


def session_bytes(schedule: Schedule, session: Session, event: bytes | None = None,
                  zones: Callable[[Window], bytes] | None = None) -> bytes:
    """One session as a stand-alone download, as bytes; `event` (its VEVENT, event_bytes) and
    `zones` (VTIMEZONEs by window): what the caller made before, if it did."""
    return _assembled(schedule, [session], None, False, (), {session.id: event}, zones)


def _assembled(schedule: Schedule, sessions: Sequence[Session], name: str | None,
               subscription: bool, planned: Sequence[Planned], events: Mapping[str, bytes | None],
               zones: Callable[[Window], bytes] | None) -> bytes:
    """A Calendar of these components' `to_ical()` byte for byte (tests compare), with the VEVENTs
    of `events` and the VTIMEZONEs of `zones` where given: a VCALENDAR is its own content lines
    (BEGIN, its properties; END) around its components, the timezones first."""
    cal, dated = _head(schedule.calendar, name, subscription), in_order(sessions)
    *head, end = (cal.content_line(prop, value).to_ical() + b"\r\n"
                  for prop, value in cal.property_items(recursive=False))
    zones = zones or (lambda zone_window: from_window(*zone_window).to_ical())
    return b"".join((*head, *map(zones, _timezones(schedule, dated, planned)),
                     *(events.get(s.id) or event_bytes(schedule.calendar, s) for s in dated),
                     *(build_planned(schedule.calendar, p).to_ical() for p in planned), end))
