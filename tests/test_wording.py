"""French dates and times as readers expect them, for 'fr' and regional tags alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agenda import create_app
from agenda.render import wording
from tests.conftest import SEVERAL

PARIS = ZoneInfo("Europe/Paris")


def test_long_date_writes_first_of_month_as_1er() -> None:
    assert wording.long_date(datetime(2022, 6, 1, 9, tzinfo=PARIS)) == "mercredi 1er juin 2022"
    assert wording.long_date(datetime(2021, 5, 19, 9, tzinfo=PARIS)) == "mercredi 19 mai 2021"


def test_clock_time_uses_french_hour_sign() -> None:
    assert wording.clock_time(datetime(2021, 5, 19, 8, 45, tzinfo=PARIS)) == "8 h 45"
    assert wording.clock_time(datetime(2021, 5, 19, 8, 45, tzinfo=PARIS), "fr-FR") == "8 h 45"
    assert wording.clock_time(datetime(2021, 10, 31, 9, 0, tzinfo=PARIS)) == "9 h"


@pytest.mark.parametrize(
    "path", ["/", "/events/printemps", "/calendar.ics", "/rss.xml", "/atom.xml", "/events.json"]
)
def test_regional_language_tag_renders_every_route(write_schedule, path: str) -> None:
    text = SEVERAL.read_text(encoding="utf-8").replace('language = "fr"', 'language = "fr-FR"')
    client = create_app({"AGENDA_DATA": str(write_schedule(text))}).test_client()
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ko", "오후 6:45"), ("ar", "6:45 م"), ("hi", "6:45 pm"), ("en", "6:45\u202fPM"),
     ("de", "18:45")],
)
def test_clock_time_keeps_the_whole_cldr_short_time(language: str, expected: str) -> None:
    assert wording.clock_time(datetime(2021, 5, 19, 18, 45, tzinfo=NEW_YORK), language) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(1, "1 min"), (45, "45 min"), (90, "1 h 30"), (120, "2 h"), (24 * 60, "1 jour"),
     (20 * 24 * 60, "20 jours"), (2 * 24 * 60 + 210, "2 jours 3 h 30"),
     (24 * 60 + 5, "1 jour 5 min")],
)
def test_duration_reads_minutes_hours_and_days(minutes: int, expected: str) -> None:
    assert wording.duration(timedelta(minutes=minutes)) == expected
