"""GET /embed: upcoming sessions only, compact, and the one page other sites may frame."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import lxml.html
from babel.dates import format_date
from flask.testing import FlaskClient

from agenda import create_app
from agenda.model import Schedule
from agenda.render import html, json_api
from tests.conftest import SEVERAL

SUMMER_2021 = datetime(2021, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_embed_lists_only_upcoming_sessions_soonest_first(several: Schedule) -> None:
    page = lxml.html.fromstring(html.embed_page(several, SUMMER_2021))
    hrefs = page.xpath("//li/a/@href")
    upcoming = [s for s in several.sessions if s.end is None or s.end > SUMMER_2021]
    assert sorted(hrefs) == sorted(f"/events/{s.id}" for s in upcoming)
    dated = [several.session(h.removeprefix("/events/")) for h in hrefs]
    starts = [s.start for s in dated if s.start]
    assert starts == sorted(starts)
    assert page.get("lang") == "fr"
    assert page.xpath("//main")


def test_embed_links_open_outside_the_frame_and_say_so(several: Schedule) -> None:
    # A screen reader was not told that every link of the list opens a new tab.
    page = lxml.html.fromstring(html.embed_page(several, SUMMER_2021))
    for link in page.xpath("//a"):
        assert link.get("target") == "_blank"
        assert "noopener" in link.get("rel")
        described = [page.get_element_by_id(i).text_content()
                     for i in (link.get("aria-describedby") or "").split()]
        assert described == ["S’ouvre dans un nouvel onglet."], link.text_content()


def test_embed_marks_cancelled_and_tentative(several: Schedule) -> None:
    page = lxml.html.fromstring(html.embed_page(several, SUMMER_2021))
    words = " ".join(page.text_content().split())
    assert "Annulé" in words
    assert "Non confirmé" in words


def test_embed_says_when_a_moved_session_was_planned_and_in_which_zone(
    several: Schedule,
) -> None:
    """« Reporté » alone left the CEPS site's readers asking: from when? The agenda's card says
    it; so does the embed, and every date it gives (a cancelled one too) says its zone."""
    page = lxml.html.fromstring(html.embed_page(several, SUMMER_2021))
    items = {item.xpath("a/@href")[0]: " ".join(item.text_content().replace("\xa0", " ").split())
             for item in page.xpath("//li[a]")}
    document = json.loads(json_api.events_bytes(several, SUMMER_2021))
    moved = [s for s in document["sessions"] if s["previous_start"] and s["url"].endswith(
        tuple(items))]
    assert moved
    for session in moved:
        former = datetime.fromisoformat(session["previous_start"])
        words = items[session["url"].removeprefix(several.calendar.base_url)]
        assert f"prévue le {format_date(former, 'EEEE d MMMM y', locale='fr')}" in words
    dated = [words for href, words in items.items() if several.session(href.split("/")[-1]).start]
    assert dated and all("heure de Paris" in words for words in dated)


def test_embed_may_be_framed_by_any_site(client: FlaskClient) -> None:
    response = client.get("/embed")
    assert response.status_code == 200
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_embed_says_so_when_nothing_is_upcoming() -> None:
    late = create_app({"AGENDA_DATA": str(SEVERAL), "TESTING": True,
                       "AGENDA_NOW": "2030-01-01T00:00:00+01:00"}).test_client()
    page = lxml.html.fromstring(late.get("/embed").data)
    # Only the undated session remains "upcoming".
    assert page.xpath("//li/a/@href") == ["/events/sans-date"]
