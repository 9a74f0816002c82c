"""Every page kind's JSON-LD against Google's Event structured data documentation.

The field lists below are written from Google Search Central's « Event
(Event) structured data » page: what it marks required, what it recommends,
and the nested properties it names for offers, organizer, performer and a
VirtualLocation. A recommended field may be missing only when the schedule
does not know it (no speakers: no performer; no registration link: no offers).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import lxml.html
import pytest

from agenda.model import Schedule, Session, Status
from agenda.render import html

REQUIRED = ("name", "startDate", "location")
RECOMMENDED = (
    "description", "endDate", "eventAttendanceMode", "eventStatus", "image",
    "offers", "organizer", "performer", "previousStartDate",
)
OFFER_RECOMMENDED = ("availability", "price", "priceCurrency", "url", "validFrom")
ORGANIZER_RECOMMENDED = ("name", "url")
PERFORMER_RECOMMENDED = ("name",)
VIRTUAL_LOCATION_REQUIRED = ("url",)
# Google reads these three availabilities on an event's offer.
AVAILABILITIES = {"https://schema.org/InStock", "https://schema.org/SoldOut",
                  "https://schema.org/PreOrder"}
STATUSES = {"https://schema.org/EventScheduled", "https://schema.org/EventCancelled",
            "https://schema.org/EventRescheduled", "https://schema.org/EventPostponed",
            "https://schema.org/EventMovedOnline"}

BEFORE_ALL = datetime(2021, 1, 1, tzinfo=UTC)
AFTER_ALL = datetime(2030, 1, 1, tzinfo=UTC)
# Every kind of session page: (schedule fixture, session id, clock).
KINDS = [
    ("shipped", "clermont-ferrand", BEFORE_ALL),  # upcoming, speakers, moderator, registration
    ("shipped", "clermont-ferrand", AFTER_ALL),  # past
    ("shipped", "biarritz", AFTER_ALL),  # held, undated
    ("several", "printemps", BEFORE_ALL),  # public video link
    ("several", "automne", BEFORE_ALL),  # private video link
    ("several", "texte-difficile", BEFORE_ALL),  # markup in the text
    ("several", "annulee", BEFORE_ALL),  # cancelled
    ("several", "reportee", BEFORE_ALL),  # rescheduled, no number, no registration
    ("several", "provisoire", BEFORE_ALL),  # tentative, no theme, no speakers
    ("several", "sans-date", BEFORE_ALL),  # undated, to come
]


def blocks(body: bytes) -> list[dict[str, Any]]:
    """Every JSON-LD block of a page, parsed by the json module."""
    page = lxml.html.fromstring(body)
    return [json.loads(s.text) for s in page.xpath("//script[@type='application/ld+json']")]


def empties(value: Any, path: str = "$") -> list[str]:
    """Paths of every empty string, list or object inside `value`."""
    if value in ("", [], {}):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empties(v, f"{path}[{i}]")]
    return []


def expected_missing(session: Session) -> set[str]:
    """Recommended fields the schedule cannot fill for this session."""
    missing = set()
    if not session.speakers and session.moderator is None:
        missing.add("performer")
    if session.registration_url is None:
        missing.add("offers")
    if session.previous_start is None or session.is_cancelled:
        missing.add("previousStartDate")
    return missing


@pytest.mark.parametrize(("fixture", "session_id", "now"), KINDS,
                         ids=[f"{k[1]}-{k[2].year}" for k in KINDS])
def test_jsonld_google_event_fields(
    request: pytest.FixtureRequest, fixture: str, session_id: str, now: datetime
) -> None:
    schedule: Schedule = request.getfixturevalue(fixture)
    session = schedule.session(session_id)
    found = blocks(html.session_page(schedule, session, now))
    if not session.is_dated:
        assert found == []  # Google requires startDate: no date, no Event
        return
    [event] = found
    assert event["@type"] == "Event"
    assert [f for f in REQUIRED if f not in event] == []
    assert {f for f in RECOMMENDED if f not in event} == expected_missing(session)
    assert empties(event) == []
    assert event["location"]["@type"] == "VirtualLocation"
    assert [f for f in VIRTUAL_LOCATION_REQUIRED if f not in event["location"]] == []
    assert event["eventStatus"] in STATUSES
    assert [f for f in ORGANIZER_RECOMMENDED if f not in event["organizer"]] == []
    for performer in event.get("performer", []):
        assert [f for f in PERFORMER_RECOMMENDED if f not in performer] == []
    if "offers" in event:
        offer = event["offers"]
        assert [f for f in OFFER_RECOMMENDED if f not in offer] == []
        assert offer["availability"] in AVAILABILITIES
        assert (offer["price"], offer["priceCurrency"]) == (0, "EUR")
        assert offer["url"] == session.registration_url
    assert all(url.startswith(schedule.calendar.base_url + "/") for url in event["image"])


def test_jsonld_offer_availability_follows_status_and_date(several: Schedule) -> None:
    def availability(session_id: str, now: datetime) -> str:
        [event] = blocks(html.session_page(several, several.session(session_id), now))
        return event["offers"]["availability"]

    assert availability("texte-difficile", BEFORE_ALL) == "https://schema.org/InStock"
    assert availability("texte-difficile", AFTER_ALL) == "https://schema.org/SoldOut"
    assert availability("annulee", BEFORE_ALL) == "https://schema.org/SoldOut"


def test_jsonld_tentative_session_with_registration_is_a_preorder(several: Schedule) -> None:
    session = replace(several.session("automne"), status=Status.TENTATIVE)
    event = html.event_jsonld(several.calendar, session, past=False)
    assert event is not None
    assert event["offers"]["availability"] == "https://schema.org/PreOrder"


def test_jsonld_performer_absent_without_speakers(several: Schedule) -> None:
    [event] = blocks(html.session_page(several, several.session("reportee"), BEFORE_ALL))
    assert "performer" not in event


@pytest.mark.parametrize("fixture", ["shipped", "several"])
def test_jsonld_agenda_and_embed_carry_no_event(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    schedule: Schedule = request.getfixturevalue(fixture)
    assert blocks(html.agenda_page(schedule, BEFORE_ALL)) == []
    assert blocks(html.embed_page(schedule, BEFORE_ALL)) == []


def test_jsonld_without_theme_nor_text_is_described_as_its_page_is(several: Schedule) -> None:
    # « provisoire » has neither: Google would warn of a missing description, which the
    # page's own meta description (series, number, city, date) gives.
    body = html.session_page(several, several.session("provisoire"), BEFORE_ALL)
    [event] = blocks(body)
    [meta] = lxml.html.fromstring(body).xpath("//meta[@name='description']/@content")
    def spaced(text: str) -> str:  # pages make French spaces non-breaking, JSON-LD need not
        return text.replace("\u00a0", " ")

    assert spaced(event["description"]) == spaced(meta)
