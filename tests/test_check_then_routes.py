"""Values `agenda check` accepted while the routes did not (issue 16): each is now either
refused by `check` (and the schema) with a French sentence, or served by every route."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner

from agenda import create_app
from agenda.cli import main
from agenda.loader import load_schedule
from agenda.published import publish, published_path
from agenda.render import ical, links
from tests.conftest import MINIMAL
from tests.routes import check_every_route
from tests.test_schema_file import schema_accepts

SESSION = """
[[sessions]]
id = "{id}"
series = "s"
city = "{city}"
start = 2027-06-16T08:45:00
end = 2027-06-16T10:15:00
announced = {announced}
"""


def schedule(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sessions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def checked(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", str(path)])
    return result.exit_code, result.output


def served_everywhere(path: Path) -> None:
    """`check` says OK, then every route answers, city feeds included, below 500."""
    code, output = checked(path)
    assert code == 0, output
    loaded = load_schedule(path)
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    check_every_route(client, loaded)
    for city in loaded.cities():
        for name in links.FILTERED_NAMES:
            response = client.get(links.city_doc_path(city, name))
            assert response.status_code == 200, (city, name)


@pytest.mark.parametrize("announced", [
    "2027-06-01T08:00:00Z", "2027-06-01T08:00:00+05:30", "2027-06-01T08:00:00-03:00",
])
def test_an_announcement_with_an_offset_is_an_instant(tmp_path: Path, announced: str) -> None:
    text = MINIMAL.replace('organizer = { name = "Club" }',
                           f'organizer = {{ name = "Club" }}\nupdated = {announced}')
    text += SESSION.format(id="lyon", city="Lyon", announced=announced)
    assert schema_accepts(text)
    path = schedule(tmp_path, text)
    served_everywhere(path)
    version = create_app({"AGENDA_DATA": str(path)}).extensions["agenda.store"].current()
    (event,) = icalendar.Calendar.from_ical(
        ical.feed_bytes(version.schedule, version.schedule.sessions)).walk("VEVENT")
    assert event.decoded("DTSTAMP") == datetime.fromisoformat(announced).astimezone(UTC)


@pytest.mark.parametrize(("first", "rule"), [
    ("9999-12-30", "FREQ=DAILY;COUNT=2"), ("2199-12-30", "FREQ=DAILY;COUNT=5"),
    ("1969-12-30", "FREQ=DAILY;COUNT=5"),
])
def test_planned_dates_obey_the_year_bounds(tmp_path: Path, first: str, rule: str) -> None:
    text = MINIMAL + (f'rhythm = {{ rule = "{rule}", first = {first}, start = 08:45:00, '
                      "end = 10:15:00 }\n")
    code, output = checked(schedule(tmp_path, text))
    assert code == 1
    assert "champ rhythm.rule" in output and "les dates vont de 1970 à 2199" in output


def test_a_rhythm_inside_the_bounds_is_served(tmp_path: Path) -> None:
    text = MINIMAL + ('rhythm = { rule = "FREQ=DAILY;COUNT=3", first = 2199-12-29, '
                      "start = 08:45:00, end = 10:15:00 }\n")
    served_everywhere(schedule(tmp_path, text))


def test_a_planned_date_taken_over_then_left_never_shares_its_uid(tmp_path: Path) -> None:
    rhythm = ('rhythm = { rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=6", first = 2027-01-20, '
              "start = 08:45:00, end = 10:15:00 }\n")
    taking = """
[[sessions]]
id = "lyon"
series = "s"
number = 5
city = "Lyon"
start = 2027-05-19T08:45:00
end = 2027-05-19T10:15:00
announced = 2027-05-01
"""
    path = schedule(tmp_path, MINIMAL + rhythm)
    target = published_path(path)
    publish(path, target, datetime(2027, 1, 1, tzinfo=UTC))
    path.write_text(MINIMAL + rhythm + taking, encoding="utf-8")
    publish(path, target, datetime(2027, 5, 1, tzinfo=UTC))
    # Lyon becomes n° 6, on n° 6's day: n° 5's date is planned again, on its own day.
    path.write_text(MINIMAL + rhythm + taking.replace("number = 5", "number = 6").replace(
        "2027-05-19", "2027-06-16"), encoding="utf-8")
    code, output = checked(path)
    assert code == 0, output
    assert ("date prévue, à annoncer, nouvel UID s.5.2@agenda.example.org : son premier UID "
            "reste à la séance qui a pris cette date") in output
    outcome = publish(path, target, datetime(2027, 5, 2, tzinfo=UTC))
    version = outcome.version
    calendar = icalendar.Calendar.from_ical(
        ical.feed_bytes(version.schedule, version.schedule.sessions))
    uids = [str(e["UID"]) for e in calendar.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    assert "s.5@agenda.example.org" in uids  # still Lyon's, as calendars know it
    served_everywhere(path)


@pytest.mark.parametrize("city", ["東京", "القاهرة", "Ly\u200bon", "Łódź", "Αθήνα"])
def test_every_city_gets_a_working_slug(tmp_path: Path, city: str) -> None:
    text = MINIMAL + SESSION.format(id="ici", city=city, announced="2027-06-01")
    text += SESSION.format(id="autre", city="Paris", announced="2027-06-01")
    slug = links.city_slug(city)
    assert slug and slug != links.city_slug("Paris")
    served_everywhere(schedule(tmp_path, text))


def test_two_spellings_of_one_slug_are_refused_with_did_you_mean(tmp_path: Path) -> None:
    text = MINIMAL + SESSION.format(id="un", city="Saint-Étienne", announced="2027-06-01")
    text += SESSION.format(id="deux", city="Saint Etienne", announced="2027-06-01")
    code, output = checked(schedule(tmp_path, text))
    assert code == 1
    assert ("séance « deux », champ city : « Saint Etienne » et « Saint-Étienne » auraient "
            "la même adresse (/cities/saint-etienne/) : vouliez-vous dire « Saint-Étienne » ?"
            ) in output


@pytest.mark.parametrize("secret", [" " * 16, "a" * 40, "abababababababab"])
def test_a_secret_with_little_entropy_is_refused(tmp_path: Path, secret: str) -> None:
    path = schedule(tmp_path, MINIMAL + SESSION.format(id="lyon", city="Lyon",
                                                       announced="2027-06-01"))
    result = CliRunner().invoke(main, ["link", "lyon", "--data", str(path)],
                                env={"AGENDA_SECRET": secret})
    assert result.exit_code == 1
    assert "AGENDA_SECRET est trop prévisible" in result.output
    assert "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'" in result.output


@pytest.mark.parametrize("typed", ["Saint-Étienne", "Saint-Etienne", "saint etienne"])
def test_a_city_query_finds_the_city_by_its_slug(tmp_path: Path, typed: str) -> None:
    text = MINIMAL + SESSION.format(id="un", city="Saint-Étienne", announced="2027-06-01")
    client = create_app({"AGENDA_DATA": str(schedule(tmp_path, text))}).test_client()
    feed = client.get("/cities/saint-etienne/calendar.ics")
    assert feed.status_code == 200
    response = client.get("/calendar.ics", query_string={"city": typed}, follow_redirects=True)
    assert response.status_code == 200
    assert response.data == feed.data
