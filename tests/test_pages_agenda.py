"""GET /: upcoming then past sessions by series, French dates, status, subscribe box, caching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from flask.testing import FlaskClient

from agenda import create_app
from agenda.loader import parse_schedule
from agenda.model import Schedule, Session
from agenda.render import html
from tests.conftest import LYON_OCTOBER, MINIMAL, SEVERAL

PARIS = ZoneInfo("Europe/Paris")
# Between texte-difficile (16 June 2021) and automne (31 October 2021).
SUMMER_2021 = datetime(2021, 7, 1, 12, 0, tzinfo=PARIS)


def parse(body: bytes) -> lxml.html.HtmlElement:
    """The page as an lxml tree."""
    return lxml.html.fromstring(body)


def section_ids(page: lxml.html.HtmlElement, heading_id: str) -> list[str]:
    """Session ids of the cards in the section headed by `heading_id`, in page order."""
    section = page.get_element_by_id(heading_id).getparent()
    return [h.get("id").removeprefix("seance-") for h in section.xpath(".//h4[@id]")]


def ended(session: Session, now: datetime) -> bool:
    """A session is past once its end has passed, or when the file says it was held."""
    return session.held or (session.end is not None and session.end <= now)


def test_agenda_lists_upcoming_before_past_when_some_sessions_ended(several: Schedule) -> None:
    page = parse(html.agenda_page(several, SUMMER_2021))
    upcoming = section_ids(page, "a-venir")
    past = section_ids(page, "passees")
    over = {s.id for s in several.sessions if ended(s, SUMMER_2021)}
    assert sorted(upcoming) == sorted(s.id for s in several.sessions if s.id not in over)
    assert sorted(past) == sorted(over)
    headings = [h.get("id") for h in page.xpath("//main//h2[@id]")]
    assert headings.index("a-venir") < headings.index("passees")


def test_agenda_orders_each_series_soonest_first_and_past_latest_first(several: Schedule) -> None:
    page = parse(html.agenda_page(several, SUMMER_2021))
    for heading, reverse in (("a-venir", False), ("passees", True)):
        section = page.get_element_by_id(heading).getparent()
        for group in section.xpath(".//section[h3]"):
            ids = [h.get("id").removeprefix("seance-") for h in group.xpath(".//h4[@id]")]
            dated = [several.session(i) for i in ids if several.session(i).is_dated]
            starts = [s.start for s in dated]
            assert starts == sorted(starts, reverse=reverse)
            # Undated sessions ("date à venir") come after the dated ones.
            assert ids[: len(dated)] == [s.id for s in dated]


def test_agenda_groups_sessions_by_series(several: Schedule) -> None:
    page = parse(html.agenda_page(several, SUMMER_2021))
    titles = {s.title: s.id for s in several.series}
    for group in page.xpath("//main//section[h3]"):
        series_id = titles[group.xpath("string(h3)").strip()]
        ids = [h.get("id").removeprefix("seance-") for h in group.xpath(".//h4[@id]")]
        assert ids
        assert {several.session(i).series.id for i in ids} == {series_id}


def test_agenda_shows_everything_before_any_session_ends(several: Schedule) -> None:
    before = min(s.start for s in several.sessions if s.start) - timedelta(days=1)
    page = parse(html.agenda_page(several, before))
    assert sorted(section_ids(page, "a-venir")) == sorted(s.id for s in several.sessions)
    assert page.xpath("//*[@id='passees']") == []


def card_text(page: lxml.html.HtmlElement, session_id: str) -> str:
    """The visible text of one session's card, spaces normalised."""
    card = page.get_element_by_id(f"seance-{session_id}").getparent().getparent()
    return " ".join(card.text_content().replace("\xa0", " ").split())


def test_agenda_card_gives_number_city_mayor_theme_and_french_date(
    client: FlaskClient, shipped: Schedule
) -> None:
    page = parse(client.get("/").data)
    clermont = shipped.session("clermont-ferrand")
    text = card_text(page, "clermont-ferrand")
    assert "mercredi 19 mai 2021, 8 h 45 – 10 h 15, heure de Paris" in text
    assert f"n° {clermont.number} {clermont.city}" in text
    assert clermont.speakers[0].name in text
    assert clermont.title in text
    link = page.xpath("//h4[@id='seance-clermont-ferrand']/a/@href")
    assert link == ["/events/clermont-ferrand"]
    time = page.xpath("//h4[@id='seance-clermont-ferrand']/ancestor::li//time/@datetime")
    assert time == ["2021-05-19T08:45:00+02:00"]


def test_agenda_lists_held_undated_sessions_as_past(client: FlaskClient) -> None:
    # The press release: « Après deux matinales à Biarritz puis Bourges » — held, date unknown.
    page = parse(client.get("/").data)
    assert section_ids(page, "passees") == ["clermont-ferrand", "bourges", "biarritz"]
    assert "date non communiquée" in card_text(page, "biarritz")
    assert "date à venir" not in card_text(page, "biarritz")
    assert page.xpath("//h4[@id='seance-biarritz']/ancestor::li//time") == []


def test_agenda_undated_session_not_held_says_date_a_venir(several: Schedule) -> None:
    page = parse(html.agenda_page(several, SUMMER_2021))
    assert "sans-date" in section_ids(page, "a-venir")
    assert "date à venir" in card_text(page, "sans-date").lower()  # (its badge, once)


def test_agenda_cancelled_session_is_visibly_cancelled(several: Schedule) -> None:
    page = parse(html.agenda_page(several, SUMMER_2021))
    card = page.get_element_by_id("seance-annulee").getparent().getparent().getparent()
    assert "card-cancelled" in card.get("class")
    assert "Annulé" in card_text(page, "annulee")
    assert card.xpath(".//s/time/@datetime") == [several.session("annulee").start.isoformat()]


def test_agenda_tentative_and_rescheduled_sessions_say_so(several: Schedule) -> None:
    page = parse(html.agenda_page(several, SUMMER_2021))
    assert "Non confirmé" in card_text(page, "provisoire")
    assert "Reporté" in card_text(page, "reportee")
    assert "Initialement prévue le mercredi 15 décembre 2021" in card_text(page, "reportee")


def test_agenda_subscribe_box_keeps_subscribe_and_download_apart(
    client: FlaskClient, shipped: Schedule
) -> None:
    page = parse(client.get("/").data)
    box = page.get_element_by_id("abonnement")
    https = shipped.calendar.base_url + "/calendar.ics"
    webcal = "webcal://" + https.removeprefix("https://")
    hrefs = box.xpath(".//a/@href")
    assert webcal in hrefs
    google = [h for h in hrefs if h.startswith("https://calendar.google.com/calendar/render?")]
    assert [parse_qs(urlsplit(h).query) for h in google] == [{"cid": [webcal]}]
    outlook = [h for h in hrefs if h.startswith("https://outlook.live.com/calendar/0/addfromweb?")]
    query = parse_qs(urlsplit(outlook[0]).query)
    assert query["url"] == [https]
    assert query["name"] == [shipped.calendar.name]
    # The plain https address, labelled, with a copy button driven by a served script.
    field = box.xpath(".//input[@readonly]")[0]
    assert field.get("value") == https
    assert box.xpath(f".//label[@for='{field.get('id')}']")
    assert box.xpath(".//button/@data-copy") == [field.get("id")]
    assert page.xpath("//script[@src]/@src") == ["/static/copy.js", "/static/localtime.js"]
    # Downloading once is offered separately, as a download.
    assert box.xpath(".//a[@download]/@href") == ["/calendar.ics"]


def test_agenda_links_and_advertises_the_feeds(client: FlaskClient) -> None:
    page = parse(client.get("/").data)
    alternates = {
        link.get("type"): link.get("href") for link in page.xpath("//head/link[@rel='alternate']")
    }
    assert alternates["application/rss+xml"] == "/rss.xml"
    assert alternates["application/atom+xml"] == "/atom.xml"
    visible = page.xpath("//body//a/@href")
    assert "/rss.xml" in visible
    assert "/atom.xml" in visible


def test_agenda_is_accessible_and_self_contained(client: FlaskClient) -> None:
    page = parse(client.get("/").data)
    assert page.get("lang") == "fr"
    for landmark in ("header", "main", "footer", "nav", "aside"):
        assert page.xpath(f"//{landmark}"), landmark
    assert len(page.xpath("//h1")) == 1
    assert page.xpath("//meta[@name='viewport']")
    # Stylesheet, icon and script all come from this app: nothing from other hosts.
    loaded = page.xpath(
        "//link[@rel='stylesheet' or @rel='icon']/@href | //script/@src | //img/@src"
    )
    assert loaded
    assert all(urlsplit(u).netloc == "" and u.startswith("/") for u in loaded)
    assert page.xpath("//*[@style]") == []


def test_agenda_canonical_and_share_tags_are_absolute(
    client: FlaskClient, shipped: Schedule
) -> None:
    page = parse(client.get("/").data)
    home = shipped.calendar.base_url + "/"
    assert page.xpath("//link[@rel='canonical']/@href") == [home]
    assert page.xpath("//meta[@property='og:url']/@content") == [home]
    (title,) = page.xpath("//meta[@property='og:title']/@content")
    assert title.replace("\xa0", " ") == shipped.calendar.name  # its dash bound to the word


def test_agenda_bytes_change_only_when_a_session_ends(several: Schedule) -> None:
    texte = several.session("texte-difficile")
    automne = several.session("automne")
    just_after = texte.end + timedelta(minutes=1)
    much_later = automne.start - timedelta(hours=1)
    assert html.agenda_page(several, just_after) == html.agenda_page(several, much_later)
    assert html.agenda_page(several, texte.end - timedelta(seconds=1)) != html.agenda_page(
        several, texte.end
    )
    assert several.ended_ids(just_after) == several.ended_ids(much_later)


def test_agenda_is_deterministic(several: Schedule) -> None:
    assert html.agenda_page(several, SUMMER_2021) == html.agenda_page(several, SUMMER_2021)


def pinned_client(now: datetime) -> FlaskClient:
    """A client of the several-sessions app whose pages are rendered for `now`."""
    app = create_app({"AGENDA_DATA": str(SEVERAL), "TESTING": True, "AGENDA_NOW": now})
    return app.test_client()


def test_agenda_etag_changes_when_a_session_ends_and_not_before(several: Schedule) -> None:
    texte = several.session("texte-difficile")
    before = pinned_client(texte.end - timedelta(minutes=5)).get("/")
    earlier = pinned_client(texte.end - timedelta(days=2)).get("/")
    after = pinned_client(texte.end).get("/")
    assert before.headers["ETag"] == earlier.headers["ETag"]
    assert after.headers["ETag"] != before.headers["ETag"]


def test_agenda_last_modified_is_when_the_latest_session_ended(several: Schedule) -> None:
    last = max(several.dated_sessions, key=lambda s: s.end)
    assert all(s.updated < last.end for s in several.sessions if s.updated)
    response = pinned_client(last.end + timedelta(hours=1)).get("/")
    # Last-Modified moves when a session ends, so If-Modified-Since alone cannot keep a
    # stale copy of the page.
    assert response.last_modified == last.end


def test_agenda_conditional_get_gives_304_and_head_has_no_body(client: FlaskClient) -> None:
    first = client.get("/")
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert first.status_code == 200
    assert again.status_code == 304
    assert again.data == b""
    head = client.head("/")
    assert head.status_code == 200
    assert head.headers["ETag"] == first.headers["ETag"]
    assert head.data == b""


@pytest.mark.parametrize("path", ["/", "/events/clermont-ferrand", "/events.json",
                                  "/calendar.ics", "/nowhere"])
def test_responses_refuse_framing_and_inline_script(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_agenda_uses_the_real_clock_without_pin(client: FlaskClient, shipped: Schedule) -> None:
    # Every dated session of the shipped data is in 2021: past for the real clock.
    page = parse(client.get("/").data)
    now = datetime.now(UTC)
    assert sorted(section_ids(page, "passees")) == sorted(
        s.id for s in shipped.sessions if ended(s, now)
    )


def test_agenda_held_sessions_are_past_even_before_any_session_ends(shipped: Schedule) -> None:
    # On 17 May 2021 Clermont-Ferrand is still to come; Biarritz and Bourges were held already.
    page = parse(html.agenda_page(shipped, datetime(2021, 5, 17, 12, tzinfo=UTC)))
    assert section_ids(page, "a-venir") == ["clermont-ferrand"]
    assert section_ids(page, "passees") == ["bourges", "biarritz"]


@pytest.mark.parametrize("now", [datetime(2026, 10, 5, tzinfo=UTC),
                                 datetime(2027, 1, 5, tzinfo=UTC)])
def test_agenda_without_a_description_still_describes_itself(now: datetime) -> None:
    """The calendar's description is optional: without one, search results and link previews
    got « » (content="") for the agenda; they get what its card says, session to come or not."""
    schedule = parse_schedule(MINIMAL + LYON_OCTOBER, "sessions.toml")
    session = schedule.session("lyon")
    assert session is not None and not schedule.calendar.description
    for body in (html.agenda_page(schedule, now), html.session_page(schedule, session, now)):
        page = parse(body)
        described = page.xpath("//meta[contains(@name, 'description') or "
                               "contains(@property, 'description')]/@content")
        assert len(described) == 3 and len(set(described)) == 1 and described[0].strip()
        assert [m.get("property") or m.get("name") for m in page.xpath("//meta")
                if m.get("content") == ""] == []


@pytest.mark.parametrize(("path", "current"), [("/", ["/"]), ("/events/reportee", []),
                                               ("/embed", []), ("/events/inconnue", [])])
def test_pages_mark_the_navigation_link_to_themselves(
    several_client: FlaskClient, path: str, current: list[str]
) -> None:
    # A screen reader says « page actuelle » on the link to the page being read: the agenda's
    # « Agenda » link read as a way elsewhere.
    page = parse(several_client.get(path).data)
    assert page.xpath("//nav//a[@aria-current='page']/@href") == current
