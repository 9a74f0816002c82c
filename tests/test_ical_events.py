"""What each event and the feed carry, read back with icalendar and vobject."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
import vobject

from agenda import create_app
from agenda.loader import parse_schedule
from agenda.model import Planned, Schedule, Session, in_order
from agenda.published import first_version, next_version
from agenda.render.ical import (
    _head,
    _timezones,
    build_event,
    build_planned,
    event_bytes,
    feed_bytes,
    from_window,
    session_bytes,
)
from tests.conftest import LYON_OCTOBER, MINIMAL, SEVERAL, SHIPPED
from tests.test_planned_dates import TEXT as PLANNED_TEXT


def build_calendar(schedule: Schedule, sessions: list[Session] | tuple[Session, ...],
                   name: str | None = None, subscription: bool = True,
                   planned: tuple[Planned, ...] = ()) -> icalendar.Calendar:
    """What our calendars must serialize as: one icalendar Calendar of their components, made by
    icalendar's own tree (our feeds are assembled from serialized parts instead)."""
    cal, dated = _head(schedule.calendar, name, subscription), in_order(sessions)
    for component in (*(from_window(*w) for w in _timezones(schedule, dated, planned)),
                      *(build_event(schedule.calendar, s) for s in dated),
                      *(build_planned(schedule.calendar, p) for p in planned)):
        cal.add_component(component)
    return cal


def events_by_id(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}


def test_uid_is_session_id_at_base_url_host(several: Schedule) -> None:
    events = events_by_id(feed_bytes(several, several.sessions))
    assert {str(e["UID"]) for e in events.values()} == {
        f"{s.id}@agenda.example.org" for s in several.dated_sessions
    }


def test_uid_survives_a_date_change(several: Schedule) -> None:
    source = (
        open(several.source, encoding="utf-8").read()
        .replace("2021-06-16T08:45:00", "2021-06-23T08:45:00")
        .replace("2021-06-16T10:15:00", "2021-06-23T10:15:00")
    )
    moved = parse_schedule(source)
    before = events_by_id(feed_bytes(several, several.sessions))["texte-difficile"]
    after = events_by_id(feed_bytes(moved, moved.sessions))["texte-difficile"]
    assert before["UID"] == after["UID"]
    assert before.decoded("DTSTART") != after.decoded("DTSTART")


def test_dtstamp_and_last_modified_come_from_updated(several: Schedule) -> None:
    events = events_by_id(feed_bytes(several, several.sessions))
    for session in several.dated_sessions:
        assert session.updated is not None
        event = events[session.id]
        assert event.decoded("DTSTAMP") == session.updated.astimezone(UTC)
        assert event.decoded("LAST-MODIFIED") == session.updated.astimezone(UTC)
        assert event.decoded("SEQUENCE") == session.sequence


def test_cancelled_event_is_kept_marked_and_bumped(several: Schedule) -> None:
    event = events_by_id(feed_bytes(several, several.sessions))["annulee"]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]).startswith("Annulé : ")
    assert event.decoded("SEQUENCE") == 1
    assert "Inscription" not in str(event["DESCRIPTION"])


def test_statuses_map_to_rfc_values(several: Schedule) -> None:
    events = events_by_id(feed_bytes(several, several.sessions))
    assert {k: str(e["STATUS"]) for k, e in events.items()} == {
        "printemps": "CONFIRMED", "automne": "CONFIRMED", "texte-difficile": "CONFIRMED",
        "annulee": "CANCELLED", "reportee": "CONFIRMED", "provisoire": "TENTATIVE",
    }


def test_public_video_link_is_in_conference_description_and_location(several: Schedule) -> None:
    session = several.session("printemps")
    assert session is not None and session.video_url
    event = events_by_id(session_bytes(several, session))["printemps"]
    conference = event["CONFERENCE"]
    assert str(conference) == session.video_url
    assert conference.params["FEATURE"] == "VIDEO"
    assert conference.params["LABEL"] == "Visioconférence"
    assert session.video_url in str(event["DESCRIPTION"])
    assert session.video_url in str(event["LOCATION"])


def test_private_video_link_never_leaves(several: Schedule) -> None:
    session = several.session("automne")
    assert session is not None and session.video_url and not session.video_public
    for data in (feed_bytes(several, several.sessions), session_bytes(several, session)):
        assert b"SECRET" not in data.replace(b"\r\n ", b"")
        assert "CONFERENCE" not in events_by_id(data)["automne"]


def test_shipped_event_carries_what_people_need(shipped: Schedule) -> None:
    session = shipped.session("clermont-ferrand")
    assert session is not None
    data = session_bytes(shipped, session)
    event = vobject.readOne(data.decode("utf-8")).vevent
    assert event.summary.value == "Tour des Villes n° 3 : Clermont-Ferrand"
    assert event.url.value == "https://agenda.ceps-oing.org/events/clermont-ferrand"
    assert event.organizer.value == "mailto:helene.pichon@ceps-oing.org"
    assert event.organizer.params["CN"] == [shipped.calendar.organizer.name]
    assert event.categories.value == ["Tour des Villes", "Club Villes de demain du CEPS"]
    text = event.description.value
    assert session.title in text
    assert "Intervenant : Olivier Bianchi, Maire de Clermont-Ferrand" in text
    assert "Animation : Loïc Tribot La Spière, Délégué général du CEPS" in text
    assert "Inscription : https://oandb.typeform.com/to/kjo9UbK5" in text.splitlines()
    assert event.location.value.startswith("Visioconférence")


def test_feed_carries_name_refresh_and_timezone(shipped: Schedule) -> None:
    calendar = icalendar.Calendar.from_ical(feed_bytes(shipped, shipped.sessions))
    assert str(calendar["X-WR-CALNAME"]) == shipped.calendar.name
    assert str(calendar["NAME"]) == shipped.calendar.name
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Paris"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT6H"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT6H"
    assert str(calendar["DESCRIPTION"]) == shipped.calendar.description
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]


def test_single_download_has_no_calendar_name(shipped: Schedule) -> None:
    session = shipped.session("clermont-ferrand")
    assert session is not None
    calendar = icalendar.Calendar.from_ical(session_bytes(shipped, session))
    assert "X-WR-CALNAME" not in calendar and "NAME" not in calendar
    assert len(calendar.walk("VTIMEZONE")) == 1


def test_feed_without_event_still_has_a_component(several: Schedule) -> None:
    # RFC 5545: a VCALENDAR holds at least one component. Brest's session has no date.
    data = feed_bytes(several, [s for s in several.sessions if s.city == "Brest"])
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar.walk("VEVENT") == []
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]


UNDATED = '[[sessions]]\nid = "lyon"\nseries = "s"\ncity = "Lyon"\n'


@pytest.mark.parametrize("sessions", ["", UNDATED], ids=["no-session", "undated-only"])
def test_feed_of_a_schedule_without_any_date_still_has_a_component(write_schedule,
                                                                   sessions: str) -> None:
    """The calendar's VTIMEZONE came from the schedule's dates: without any, every feed was a
    VCALENDAR without a component, which RFC 5545 (1*component) and strict readers refuse."""
    app = create_app({"AGENDA_DATA": str(write_schedule(MINIMAL + sessions)), "TESTING": True})
    for url in ("/calendar.ics", "/series/s/calendar.ics"):
        data = app.test_client().get(url).data
        calendar = icalendar.Calendar.from_ical(data)
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"], url
        assert vobject.readOne(data.decode("utf-8")).contents["vtimezone"], url


def test_calendar_name_is_escaped_text(several: Schedule) -> None:
    data = feed_bytes(several, several.sessions, name="Agenda ; spécial, deux")
    assert "\r\nNAME:Agenda \\; spécial\\, deux\r\n" in data.decode("utf-8")
    calendar = vobject.readOne(data.decode("utf-8"))
    assert calendar.contents["name"][0].value == "Agenda ; spécial, deux"




@pytest.mark.parametrize("text", [SHIPPED.read_text("utf-8"), SEVERAL.read_text("utf-8"),
                                  PLANNED_TEXT], ids=["shipped", "several", "planned"])
def test_feed_from_events_serialized_before_is_icalendars_own_serialization(text: str) -> None:
    # The builder hands each session's VEVENT serialized once; the feed assembled
    # from them must be the very bytes icalendar writes for the whole calendar.
    schedule = first_version(text.encode("utf-8"), "sessions.toml").schedule
    everything = [s.id for s in schedule.series]
    events = {s.id: event_bytes(schedule.calendar, s) for s in schedule.dated_sessions}
    for ids in (everything, everything[:1], ()):
        planned = [p for p in schedule.planned if p.series.id in ids]
        whole = build_calendar(schedule, schedule.sessions, "Nom", planned=planned).to_ical()
        assert feed_bytes(schedule, schedule.sessions, "Nom", ids, events) == whole
        assert feed_bytes(schedule, schedule.sessions, "Nom", ids, {}) == whole
    for session in schedule.dated_sessions:  # and so are the single downloads
        assert session_bytes(schedule, session, events[session.id]) == \
            build_calendar(schedule, [session], subscription=False).to_ical()


def test_created_is_never_after_last_modified_for_a_session_prepared_ahead() -> None:
    # Added to the published file on 3 October, announced on the 10th: calendars get it on the
    # 3rd, so it was created then, not a week after its own LAST-MODIFIED.
    text = MINIMAL + LYON_OCTOBER
    first = first_version(text.encode(), "s.toml")
    ahead = text + text[len(MINIMAL):].replace("lyon", "metz").replace("2026-10-01", "2026-10-10")
    added = datetime(2026, 10, 3, 9, tzinfo=UTC)
    version, _ = next_version(first, ahead.encode(), "s.toml", added)
    found = events_by_id(feed_bytes(version.schedule, version.schedule.sessions))
    for event in found.values():
        assert event.decoded("CREATED") <= event.decoded("LAST-MODIFIED")
    assert found["metz"].decoded("CREATED") == added
    # A session of the first publication was created when it was announced.
    assert found["lyon"].decoded("CREATED") == datetime(2026, 9, 30, 22, tzinfo=UTC)
