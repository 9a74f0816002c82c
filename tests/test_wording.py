"""French dates and times as readers expect them, for 'fr' and regional tags alike."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import feedparser
import lxml.html
import pytest

from agenda import create_app
from agenda.errors import ScheduleError
from agenda.loader import parse_schedule
from agenda.render import html, json_api, wording
from tests.conftest import LYON_OCTOBER, MINIMAL, SEVERAL

PARIS = ZoneInfo("Europe/Paris")


def test_long_date_writes_first_of_month_as_1er() -> None:
    assert wording.long_date(datetime(2022, 6, 1, 9, tzinfo=PARIS)) == "mercredi 1er\u00a0juin 2022"
    assert wording.long_date(datetime(2021, 5, 19, 9, tzinfo=PARIS)) == "mercredi 19\u00a0mai 2021"


def test_clock_time_uses_french_hour_sign() -> None:
    assert wording.clock_time(datetime(2021, 5, 19, 8, 45, tzinfo=PARIS)) == "8\u00a0h\u00a045"
    regional = wording.clock_time(datetime(2021, 5, 19, 8, 45, tzinfo=PARIS), "fr-FR")
    assert regional == "8\u00a0h\u00a045"
    assert wording.clock_time(datetime(2021, 10, 31, 9, 0, tzinfo=PARIS)) == "9\u00a0h"


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
    [("ko", "오후\u00a06:45"), ("ar", "6:45\u00a0م"), ("hi", "6:45\u00a0pm"),
     ("en", "6:45\u202fPM"), ("de", "18:45")],
)
def test_clock_time_keeps_the_whole_cldr_short_time(language: str, expected: str) -> None:
    assert wording.clock_time(datetime(2021, 5, 19, 18, 45, tzinfo=NEW_YORK), language) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(1, "1_min"), (45, "45_min"), (90, "1_h_30"), (120, "2_h"), (24 * 60, "1_jour"),
     (20 * 24 * 60, "20_jours"), (2 * 24 * 60 + 210, "2_jours 3_h_30"),
     (24 * 60 + 5, "1_jour 5_min")],
)
def test_duration_reads_minutes_hours_and_days(minutes: int, expected: str) -> None:
    # "_" stands for a non-breaking space: a number never ends a line apart from its unit.
    assert wording.duration(timedelta(minutes=minutes)) == expected.replace("_", "\u00a0")


@pytest.mark.parametrize(("zone", "label"), [
    ("Europe/Brussels", "heure de Bruxelles"), ("Pacific/Noumea", "heure de Nouméa"),
    ("Indian/Reunion", "heure de La Réunion"), ("America/Sao_Paulo", "heure de São Paulo"),
    ("Europe/Paris", "heure de Paris"),
    # French elides and contracts: « d’Alger », « du Caire », « des Açores ».
    ("Africa/Algiers", "heure d’Alger"), ("Europe/Amsterdam", "heure d’Amsterdam"),
    ("Africa/Cairo", "heure du Caire"), ("Atlantic/Azores", "heure des Açores"),
    ("Atlantic/Canary", "heure des îles Canaries"), ("Europe/Helsinki", "heure de Helsinki"),
    # Named after no place: by the offset, whose sign Etc/ writes the POSIX way round.
    ("UTC", "heure UTC"), ("Etc/GMT+3", "heure UTC−3"), ("Etc/GMT-14", "heure UTC+14"),
])
def test_time_zone_is_named_as_the_french_write_its_city(zone: str, label: str) -> None:
    """The zone's city came from its IANA key: « heure de Brussels », « heure de Noumea »;
    then « heure de Alger », « heure de UTC », and « heure de GMT+3 » for three hours behind."""
    said, event = _said(zone)
    assert f"10 h 15, {label} Durée" in said
    assert event["when"].replace("\xa0", " ").endswith(f"10 h 15, {label}")


def _said(zone: str) -> tuple[str, dict[str, str]]:
    """The text of Lyon's page and its /events.json entry, the calendar in `zone`."""
    text = MINIMAL.replace("[calendar]\n", f'[calendar]\ntimezone = "{zone}"\n') + LYON_OCTOBER
    schedule = parse_schedule(text, "sessions.toml")
    session = schedule.session("lyon")
    assert session is not None
    now = datetime(2026, 10, 5, tzinfo=UTC)
    page = lxml.html.fromstring(html.session_page(schedule, session, now))
    said = " ".join(page.xpath("//main")[0].text_content().replace("\xa0", " ").split())
    (event,) = json.loads(json_api.events_bytes(schedule, now))["sessions"]
    return said, event


def test_every_time_zone_the_loader_takes_is_named_right_on_pages() -> None:
    # Factory and localtime load in zoneinfo but Babel cannot name them: pages were a
    # traceback. A zone named after no place was « heure de GMT+3 » for UTC−3.
    for zone in sorted(zoneinfo.available_timezones()):
        try:
            said, _ = _said(zone)
        except ScheduleError as error:
            assert "[calendar], champ timezone : " in str(error), zone
            continue
        label = re.search(r"10 h 15, heure (?:UTC(?:([+−])(\d+)(?::(\d\d))?)? Durée"
                          r"|(?:de |d’|du |des )\w)", said)
        assert label is not None and "GMT" not in said, zone
        if label[0].endswith("Durée"):  # by its offset, which must be zoneinfo's
            sign, hours, minutes = label.groups()
            said_offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
            offset = ZoneInfo(zone).utcoffset(datetime(2026, 10, 21, 10, 15))
            assert (-said_offset if sign == "−" else said_offset) == offset, zone


@pytest.mark.parametrize(("city", "said"), [
    ("Le Havre", "n° 1 au Havre"), ("Le Puy-en-Velay", "n° 1 au Puy-en-Velay"),
    ("Les Sables-d’Olonne", "n° 1 aux Sables-d’Olonne"), ("La Rochelle", "n° 1 à La Rochelle"),
    ("L’Haÿ-les-Roses", "n° 1 à L’Haÿ-les-Roses"), ("Lens", "n° 1 à Lens"),
])
def test_a_city_named_with_le_or_les_is_au_or_aux_in_sentences(
    write_schedule, city: str, said: str,
) -> None:
    """« Tour des Villes n° 4 à Le Havre » stood in every news entry, page description and
    search result of a session at Le Havre, Le Mans or Les Sables-d’Olonne: French says
    « au Havre », « aux Sables-d’Olonne »."""
    session = LYON_OCTOBER.replace('"Lyon"', f'"{city}"').replace('city =', 'number = 1\ncity =')
    client = create_app({"AGENDA_DATA": str(write_schedule(MINIMAL + session)),
                         "TESTING": True}).test_client()
    page = lxml.html.fromstring(client.get("/events/lyon").data)
    (meta,) = page.xpath("//meta[@name='description']/@content")
    (ld,) = page.xpath("//script[@type='application/ld+json']/text()")
    (entry,) = feedparser.parse(client.get("/rss.xml").data).entries
    for text in (meta, json.loads(ld)["description"], entry.summary):
        assert said in " ".join(text.split()), text
