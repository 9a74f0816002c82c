"""The shipped schedule holds the press release's facts, and valid files load into the model."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agenda.loader import load_schedule
from agenda.model import Schedule, Status
from tests.conftest import MINIMAL

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "communique-2021-05-14.txt"


def test_shipped_clermont_ferrand_is_19_may_2021_0645_utc(shipped: Schedule) -> None:
    session = shipped.session("clermont-ferrand")
    assert session is not None
    assert session.start is not None and session.end is not None
    assert session.start.astimezone(UTC) == datetime(2021, 5, 19, 6, 45, tzinfo=UTC)
    assert session.end.astimezone(UTC) == datetime(2021, 5, 19, 8, 15, tzinfo=UTC)
    assert session.number == 3
    assert session.status is Status.CONFIRMED


def test_shipped_sessions_are_the_three_the_release_names(shipped: Schedule) -> None:
    assert [(s.number, s.city) for s in shipped.sessions] == [
        (1, "Biarritz"), (2, "Bourges"), (3, "Clermont-Ferrand"),
    ]
    # The release gives no date for Biarritz and Bourges: nothing may be invented.
    assert [s.id for s in shipped.dated_sessions] == ["clermont-ferrand"]


def test_shipped_links_and_people_appear_in_the_press_release(shipped: Schedule) -> None:
    if not SEED.exists():
        pytest.skip(f"the press release is not beside the repository ({SEED})")
    release = plain(SEED.read_text(encoding="utf-8"))
    session = shipped.session("clermont-ferrand")
    assert session is not None and session.registration_url is not None
    assert session.registration_url.casefold() in release
    for person in (*session.speakers, session.moderator):
        assert person is not None
        for word in person.name.split():
            assert plain(word) in release
    for contact in shipped.contacts:
        assert contact.phone in SEED.read_text(encoding="utf-8")
        assert plain(contact.email) in release


def plain(text: str) -> str:
    """Case- and accent-insensitive form: the release writes names in capitals without accents."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_announced_date_becomes_aware_midnight_in_calendar_zone(shipped: Schedule) -> None:
    session = shipped.session("clermont-ferrand")
    assert session is not None and session.announced is not None
    assert session.announced.isoformat() == "2021-05-14T00:00:00+02:00"
    assert session.updated == session.announced


def test_session_without_start_is_valid(write_schedule) -> None:
    path = write_schedule(MINIMAL + '[[sessions]]\nid = "plus-tard"\nseries = "s"\ncity = "Pau"\n')
    schedule = load_schedule(path)
    assert schedule.session("plus-tard") is not None
    assert schedule.dated_sessions == ()


def test_default_timezone_is_europe_paris(write_schedule) -> None:
    schedule = load_schedule(write_schedule(MINIMAL))
    assert schedule.calendar.timezone.key == "Europe/Paris"
    assert schedule.calendar.language == "fr"



def test_schedule_replaced_finds_its_own_sessions_only(shipped: Schedule) -> None:
    # dataclasses.replace (as history.apply and the desk do) makes a schedule of other sessions:
    # each one's lookup by id is its own, neither sharing nor changing the other's.
    first = shipped.sessions[0]
    fewer = dataclasses.replace(shipped, sessions=(dataclasses.replace(first, title="Autre"),))
    assert fewer.session(first.id) == fewer.sessions[0]
    assert fewer.session("clermont-ferrand") is None
    assert shipped.session(first.id) == first
