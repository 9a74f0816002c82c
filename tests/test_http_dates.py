"""Last-Modified tells the truth: calendar-level edits move it, the future never appears."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from click.testing import CliRunner

from agenda import create_app
from agenda.cli import main
from agenda.published import next_version, published_path, write_version
from tests.conftest import LYON, LYON_OCTOBER, MINIMAL, SEVERAL
from tests.routes import html_text
from tests.test_planned_dates import RHYTHM
from tests.test_store_versions import touch_later

ROUTES = ["/calendar.ics", "/rss.xml", "/atom.xml", "/events.json"]


@pytest.mark.parametrize("path", ROUTES)
def test_calendar_updated_moves_last_modified(write_schedule, path: str) -> None:
    text = SEVERAL.read_text(encoding="utf-8")
    edited = text.replace(
        'name = "Agenda d’essai"', 'name = "Agenda renommé"\nupdated = 2022-03-01T12:00:00'
    )
    before = create_app({"AGENDA_DATA": str(write_schedule(text, "a.toml"))}).test_client()
    after = create_app({"AGENDA_DATA": str(write_schedule(edited, "b.toml"))}).test_client()
    old = before.get(path)
    new = after.get(path)
    stamp = parsedate_to_datetime(new.headers["Last-Modified"])
    assert stamp == datetime(2022, 3, 1, 11, tzinfo=UTC)  # noon in Paris
    # A client that only sends If-Modified-Since gets the renamed calendar, not a 304.
    revalidated = after.get(path, headers={"If-Modified-Since": old.headers["Last-Modified"]})
    assert revalidated.status_code == 200


def test_last_modified_is_never_in_the_future(write_schedule) -> None:
    text = SEVERAL.read_text(encoding="utf-8").replace(
        "updated = 2022-01-05", "updated = 2199-01-05"
    )
    client = create_app({"AGENDA_DATA": str(write_schedule(text))}).test_client()
    response = client.get("/calendar.ics")
    stamp = parsedate_to_datetime(response.headers["Last-Modified"])
    assert stamp <= datetime.now(UTC)


@pytest.mark.parametrize("path", ["/", "/embed", "/events.json"])
def test_a_rhythm_edit_moves_last_modified_of_what_lists_planned_dates(
    write_schedule, path: str
) -> None:
    # Two more planned dates, the sessions untouched: a client revalidating by date alone
    # must get the documents that now list them.
    text = MINIMAL + RHYTHM.replace("2021-03-17", "2199-01-21") + LYON.replace(
        '"tour-des-villes"', '"s"')
    schedule = write_schedule(text)
    assert CliRunner().invoke(main, ["publish", str(schedule)]).exit_code == 0
    client = create_app({"AGENDA_DATA": str(schedule)}).test_client()
    old = client.get(path)
    schedule.write_text(text.replace("COUNT=6", "COUNT=8"), encoding="utf-8")
    touch_later(schedule)
    new = client.get(path, headers={"If-Modified-Since": old.headers["Last-Modified"]})
    assert new.status_code == 200
    assert new.data != old.data
    assert parsedate_to_datetime(new.headers["Last-Modified"]) > parsedate_to_datetime(
        old.headers["Last-Modified"])


TWO_IN_LYON = MINIMAL + """
[[series]]
id = "t"
title = "Autre série"
""" + LYON_OCTOBER + LYON_OCTOBER.replace('id = "lyon"', 'id = "lyon-bis"').replace(
    "2026-10-21", "2026-11-18").replace("announced = 2026-10-01", "announced = 2026-10-05")


TO_NICE = ('city = "Lyon"\nstart = 2026-11', 'city = "Nice"\nstart = 2026-11')
TO_T = ('series = "s"\ncity = "Lyon"\nstart = 2026-11',
        'series = "t"\ncity = "Lyon"\nstart = 2026-11')


@pytest.mark.parametrize(("path", "edit"), [
    ("/cities/lyon/calendar.ics", TO_NICE), ("/cities/lyon/rss.xml", TO_NICE),
    ("/cities/lyon/atom.xml", TO_NICE), ("/series/s/calendar.ics", TO_T),
    ("/series/s/rss.xml", TO_T),
])
def test_a_feed_losing_a_session_to_another_city_or_series_moves_last_modified(
    write_schedule, path: str, edit: tuple[str, str]
) -> None:
    # Its latest session goes elsewhere: what is left is older, yet a client revalidating by
    # date alone must get the feed without it, not a 304 keeping it in its calendar.
    schedule = write_schedule(TWO_IN_LYON)
    assert CliRunner().invoke(main, ["publish", str(schedule)]).exit_code == 0
    client = create_app({"AGENDA_DATA": str(schedule)}).test_client()
    old = client.get(path)
    assert b"lyon-bis" in old.data
    schedule.write_text(TWO_IN_LYON.replace(*edit), encoding="utf-8")
    touch_later(schedule)
    new = client.get(path, headers={"If-Modified-Since": old.headers["Last-Modified"]})
    assert new.status_code == 200
    assert b"lyon-bis" not in new.data
    assert parsedate_to_datetime(new.headers["Last-Modified"]) > parsedate_to_datetime(
        old.headers["Last-Modified"])


def test_a_withdrawn_sessions_address_moves_last_modified_with_the_calendar(tmp_path) -> None:
    # Its page shows the calendar's name: renamed after the withdrawal, the page says so, and a
    # client revalidating by date alone gets it.
    schedule = tmp_path / "sessions.toml"
    kept = TWO_IN_LYON[:TWO_IN_LYON.rindex("[[sessions]]")]
    version, answers = None, []
    for day, text, withdraw in ((10, TWO_IN_LYON, ()), (11, kept, ("lyon-bis",)),
                                (12, kept.replace('name = "Essai"', 'name = "Essai bis"'), ())):
        now = datetime(2026, 10, day, 9, tzinfo=UTC)
        version, _ = next_version(version, text.encode(), "sessions.toml", now, withdraw)
        schedule.write_text(text, encoding="utf-8")
        write_version(version, published_path(schedule), "sessions.toml")
        client = create_app({"AGENDA_DATA": str(schedule), "AGENDA_NOW": now.isoformat(),
                             "AGENDA_SITE": str(tmp_path / "site")}).test_client()
        since = {"If-Modified-Since": answers[-1].headers["Last-Modified"]} if answers else {}
        answers.append(client.get("/events/lyon-bis", headers=since))
    assert [a.status_code for a in answers[1:]] == [200, 200]
    assert "Essai bis" in html_text(answers[-1].data)
