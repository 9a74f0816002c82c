"""/events.json and /events/<id>.json, checked field by field against the loaded schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import icalendar
import lxml.html
import pytest
from flask.testing import FlaskClient

from agenda.loader import load_schedule, parse_schedule
from agenda.model import Schedule, Session
from agenda.published import first_version
from agenda.render import html, ical, json_api
from tests.conftest import MINIMAL, SEVERAL, SHIPPED
from tests.test_readers import READERS

NOW = datetime(2026, 1, 6, tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """What a JSON reader gets for a schedule time: ISO 8601 with its offset."""
    return moment.isoformat() if moment is not None else None


def fetch(client: FlaskClient, path: str) -> Any:
    """GET `path`, check it is JSON anyone may read, and parse it with the json module."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return json.loads(response.data.decode("utf-8"))


def built_for(client: FlaskClient) -> datetime:
    """The moment the client's site folder was built for: JSON says what is over then."""
    return client.application.extensions["agenda.store"].site().built_for


def check_session(
    schedule: Schedule, session: Session, entry: dict[str, Any], now: datetime
) -> None:
    """Compare one JSON entry with the session it describes at `now`, field by field."""
    over = session.is_over(now)
    base = schedule.calendar.base_url
    page = f"{base}/events/{session.id}"
    assert entry["id"] == session.id
    assert entry["url"] == page
    assert entry["json_url"] == page + ".json"
    assert entry["ics_url"] == (page + ".ics" if session.is_dated else None)
    assert entry["series"] == {"id": session.series.id, "title": session.series.title}
    assert entry["number"] == session.number
    assert entry["city"] == session.city
    assert entry["title"] == session.title
    assert entry["status"] == session.status.value
    assert entry["rescheduled"] is (session.previous_start is not None)
    assert entry["held"] is session.held
    for key in ("start", "end", "previous_start", "announced", "updated"):
        assert entry[key] == iso(getattr(session, key)), key
        if entry[key] is not None:
            assert datetime.fromisoformat(entry[key]) == getattr(session, key)
            assert datetime.fromisoformat(entry[key]).utcoffset() is not None
    minutes = (session.end - session.start).total_seconds() / 60 if session.is_dated else None
    assert entry["duration_minutes"] == minutes
    assert entry["speakers"] == [{"name": p.name, "role": p.role} for p in session.speakers]
    moderator = session.moderator
    assert entry["moderator"] == (
        {"name": moderator.name, "role": moderator.role} if moderator else None
    )
    assert entry["description"] == session.description
    # Once a session is over or cancelled, nobody registers or adds it to a calendar any more.
    closed = over or session.is_cancelled
    assert entry["registration_url"] == (None if closed else session.registration_url)
    assert entry["video_url"] == (session.video_url if session.video_public else None)
    links = entry["add_to_calendar"]
    if not session.is_dated or session.is_cancelled or over:
        assert links is None
        return
    assert links["ics"] == page + ".ics"
    google = parse_qs(urlsplit(links["google"]).query)
    utc = [t.astimezone(UTC) for t in (session.start, session.end)]
    assert google["dates"] == ["/".join(f"{t:%Y%m%dT%H%M%SZ}" for t in utc)]
    for name, host in (("outlook", "outlook.live.com"), ("office365", "outlook.office.com")):
        parts = urlsplit(links[name])
        assert parts.netloc == host
        query = parse_qs(parts.query)
        assert [query["startdt"][0], query["enddt"][0]] == [f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in utc]


@pytest.mark.parametrize("which", ["shipped", "several"])
def test_events_json_matches_the_schedule_field_by_field(
    which: str, request: pytest.FixtureRequest
) -> None:
    schedule: Schedule = request.getfixturevalue(which)
    client_name = "client" if which == "shipped" else "several_client"
    client: FlaskClient = request.getfixturevalue(client_name)
    document = fetch(client, "/events.json")
    assert document["version"] == 1
    entries = document["sessions"]
    assert sorted(e["id"] for e in entries) == sorted(s.id for s in schedule.sessions)
    for entry in entries:
        check_session(schedule, schedule.session(entry["id"]), entry, built_for(client))
    # Dated sessions in chronological order, then the undated ones.
    starts = [e["start"] for e in entries]
    dated = [s for s in starts if s is not None]
    assert starts == dated + [None] * (len(starts) - len(dated))
    assert [datetime.fromisoformat(s) for s in dated] == sorted(
        datetime.fromisoformat(s) for s in dated
    )


def test_events_json_clermont_ferrand_starts_at_0845_paris(client: FlaskClient) -> None:
    document = fetch(client, "/events.json")
    [clermont] = [e for e in document["sessions"] if e["id"] == "clermont-ferrand"]
    assert clermont["start"] == "2021-05-19T08:45:00+02:00"
    assert clermont["end"] == "2021-05-19T10:15:00+02:00"
    when = clermont["when"].replace("\u00a0", " ")  # non-breaking spaces read as plain ones
    assert when == "mercredi 19 mai 2021, 8 h 45 – 10 h 15, heure de Paris"
    assert clermont["status_label"] == "Tenue"  # served after 19 May 2021, as its page says


def test_events_json_describes_the_calendar(client: FlaskClient, shipped: Schedule) -> None:
    calendar = fetch(client, "/events.json")["calendar"]
    base = shipped.calendar.base_url
    assert calendar["name"] == shipped.calendar.name
    assert calendar["timezone"] == "Europe/Paris"
    assert calendar["url"] == base + "/"
    assert calendar["subscribe"]["https"] == base + "/calendar.ics"
    assert calendar["subscribe"]["webcal"] == "webcal://" + base.split("://")[1] + "/calendar.ics"
    assert calendar["feeds"] == {"rss": base + "/rss.xml", "atom": base + "/atom.xml",
                                 "json": base + "/events.json"}
    assert calendar["organizer"]["name"] == shipped.calendar.organizer.name


def test_events_json_lists_series_and_contacts(client: FlaskClient, shipped: Schedule) -> None:
    document = fetch(client, "/events.json")
    assert [s["id"] for s in document["series"]] == [s.id for s in shipped.series]
    assert document["series"][0]["partners"] == list(shipped.series[0].partners)
    assert document["contacts"] == [
        {"name": c.name, "organization": c.organization, "phone": c.phone, "email": c.email}
        for c in shipped.contacts
    ]


def test_session_json_matches_the_schedule(several_client: FlaskClient, several: Schedule) -> None:
    for session in several.sessions:
        check_session(several, session, fetch(several_client, f"/events/{session.id}.json"),
                      built_for(several_client))


def test_session_json_unknown_id_is_a_plain_text_404(client: FlaskClient) -> None:
    response = client.get("/events/atlantide.json", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "text/plain"


def test_events_json_is_deterministic_utf8_with_sorted_keys(several: Schedule) -> None:
    body = json_api.events_bytes(several)
    assert body == json_api.events_bytes(several)
    assert "L’Haÿ-les-Roses".encode() in body  # not \u escapes
    document = json.loads(body)
    assert list(document) == sorted(document)
    assert list(document["sessions"][0]) == sorted(document["sessions"][0])


def test_events_json_conditional_get(client: FlaskClient) -> None:
    first = client.get("/events.json")
    again = client.get("/events.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Access-Control-Allow-Origin"] == "*"


def test_json_404_is_readable_cross_origin(client: FlaskClient) -> None:
    response = client.get("/events/inconnue.json", headers={"Origin": "https://ceps-oing.org"})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_json_preflight_allows_conditional_fetch(client: FlaskClient) -> None:
    response = client.options(
        "/events.json",
        headers={
            "Origin": "https://ceps-oing.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed_text = response.headers["Access-Control-Allow-Headers"]
    allowed = {h.strip().lower() for h in allowed_text.split(",")}
    assert allowed & {"if-none-match", "*"}  # "*": any header (tests/test_browser_cross_origin)
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("fixture", [SHIPPED, SEVERAL], ids=["shipped", "several"])
def test_events_json_written_a_session_at_a_time_equals_one_serialization(fixture) -> None:
    # /events.json is written a member and a session at a time; the standard library
    # serializing the whole document at once gives the same bytes, and each session is
    # the document /events/<id>.json has.
    schedule = first_version(fixture.read_bytes(), str(fixture)).schedule
    now = datetime(2021, 5, 17, 12, tzinfo=UTC)
    whole = json.dumps(json_api.schedule_document(schedule, now=now), ensure_ascii=False,
                       sort_keys=True, separators=(",", ":"))
    assert json_api.events_bytes(schedule, now) == (whole + "\n").encode("utf-8")
    sessions = json.loads(json_api.events_bytes(schedule, now))["sessions"]
    assert sessions == [json.loads(json_api.session_bytes(schedule, schedule.session(s["id"]), now))
                        for s in sessions]


@pytest.mark.parametrize(("start", "end"), [
    ("2026-10-24T23:30:00", "2026-10-25T04:30:00"),  # the clocks go back an hour in between
    ("2026-03-28T23:00:00", "2026-03-29T05:00:00"),  # they go forward
])
def test_a_session_across_a_change_of_the_clocks_lasts_the_time_that_elapses(
    start: str, end: str
) -> None:
    text = MINIMAL + f"""
[[sessions]]
id = "nuit"
series = "s"
city = "Lyon"
start = {start}
end = {end}
announced = 2026-01-05
"""
    schedule = parse_schedule(text)
    event = icalendar.Calendar.from_ical(ical.feed_bytes(schedule, schedule.sessions)).walk(
        "VEVENT")[0]
    elapsed = event.decoded("DTEND").astimezone(UTC) - event.decoded("DTSTART").astimezone(UTC)
    document = json.loads(json_api.session_bytes(schedule, schedule.sessions[0]))
    assert document["duration_minutes"] * 60 == elapsed.total_seconds()
    page = lxml.html.fromstring(html.session_page(schedule, schedule.sessions[0], NOW))
    hours = elapsed.total_seconds() / 3600
    assert page.xpath("//dt[.='Durée']/following-sibling::dd[1]")[0].text_content() == (
        f"{hours:.0f}\u00a0h")


@pytest.mark.parametrize("path", [SEVERAL, SHIPPED, READERS])
def test_a_session_document_changes_with_the_date_only_as_the_readme_says(path: Any) -> None:
    """The README told the CEPS site's developers that only `registration_url` and
    `add_to_calendar` change once a session has ended; its `status_label` did too (« Tenue »).
    Before, during and after a session, nothing else moves; nor does anything at its start."""
    schedule = load_schedule(path)
    for session in schedule.dated_sessions:
        assert session.start is not None and session.end is not None
        before, during, after = (
            json.loads(json_api.session_bytes(schedule, session, moment))
            for moment in (session.start - timedelta(days=1), session.start + timedelta(
                minutes=1), session.end + timedelta(minutes=1)))
        assert before == during
        moved = {key for key in before if before[key] != after[key]}
        assert moved <= {"registration_url", "add_to_calendar", "status_label"}, session.id
        assert after["registration_url"] is after["add_to_calendar"] is None
        if "status_label" in moved:
            assert after["status_label"] == "Tenue" and session.status.value == "confirmed"
