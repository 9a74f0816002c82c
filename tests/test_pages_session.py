"""GET /events/<id>: content, add-to-calendar links, JSON-LD, share tags, escaping, 404."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from babel.dates import format_date
from click.testing import CliRunner
from flask.testing import FlaskClient

from agenda import create_app
from agenda.cli import main
from agenda.model import Schedule, Session
from agenda.published import from_json, published_path
from agenda.render import html
from tests.conftest import LYON_OCTOBER, MINIMAL, SEVERAL

SCHEMA = "https://schema.org/"


def plain(text: str) -> str:
    """Text with its non-breaking spaces (inside times, between day and month) as plain ones."""
    return text.replace("\u00a0", " ")


def parse(body: bytes) -> lxml.html.HtmlElement:
    """The page as an lxml tree."""
    return lxml.html.fromstring(body)


def text(element: lxml.html.HtmlElement) -> str:
    """Visible text with spaces (non-breaking ones included) normalised."""
    return " ".join(element.text_content().replace("\xa0", " ").split())


def jsonld(page: lxml.html.HtmlElement) -> list[dict]:
    """Every JSON-LD block of the page, parsed by the json module."""
    return [json.loads(s.text) for s in page.xpath("//script[@type='application/ld+json']")]


def page_url(schedule: Schedule, session: Session) -> str:
    """Where the session's page lives, derived from base_url and the id."""
    return f"{schedule.calendar.base_url}/events/{session.id}"


def render(schedule: Schedule, session_id: str, now: datetime) -> lxml.html.HtmlElement:
    """The session's page rendered for `now`, parsed."""
    return parse(html.session_page(schedule, schedule.session(session_id), now))


BEFORE_2021 = datetime(2021, 1, 1, tzinfo=UTC)
AFTER_ALL = datetime(2030, 1, 1, tzinfo=UTC)


def test_session_page_shows_the_clermont_ferrand_matinale(shipped: Schedule) -> None:
    clermont = shipped.session("clermont-ferrand")
    page = render(shipped, "clermont-ferrand", BEFORE_2021)
    main = text(page.xpath("//main")[0])
    assert text(page.xpath("//h1")[0]) == clermont.city
    assert f"{clermont.series.title} n° {clermont.number}" in main
    assert clermont.title in main
    assert "mercredi 19 mai 2021, 8 h 45 – 10 h 15, heure de Paris" in main
    assert "Durée 1 h 30" in main
    for person in (*clermont.speakers, clermont.moderator):
        assert f"{person.name}, {person.role}" in main
    first_words = clermont.description.strip().splitlines()[0]
    assert first_words in main
    for contact in shipped.contacts:
        assert contact.name in main
        assert page.xpath(f"//a[@href='mailto:{contact.email}']")
    assert text(page.xpath("//title")[0]).startswith("Tour des Villes n° 3 : Clermont-Ferrand")


def test_session_page_offers_registration_until_the_session_ends(shipped: Schedule) -> None:
    clermont = shipped.session("clermont-ferrand")
    before = render(shipped, "clermont-ferrand", clermont.start - timedelta(days=1))
    after = render(shipped, "clermont-ferrand", clermont.end)
    assert before.xpath(f"//main//a[@href='{clermont.registration_url}']")
    assert after.xpath(f"//main//a[@href='{clermont.registration_url}']") == []
    assert "Cette séance a eu lieu." in text(after.xpath("//main")[0])


def test_session_page_bytes_depend_on_now_only_through_its_end(shipped: Schedule) -> None:
    clermont = shipped.session("clermont-ferrand")
    render_at = lambda now: html.session_page(shipped, clermont, now)  # noqa: E731
    assert render_at(BEFORE_2021) == render_at(clermont.end - timedelta(seconds=1))
    assert render_at(clermont.end) == render_at(AFTER_ALL)
    assert render_at(BEFORE_2021) != render_at(AFTER_ALL)


def test_session_jsonld_describes_an_online_event(shipped: Schedule) -> None:
    clermont = shipped.session("clermont-ferrand")
    [event] = jsonld(render(shipped, "clermont-ferrand", AFTER_ALL))
    assert event["@context"] == "https://schema.org"
    assert event["@type"] == "Event"
    assert event["startDate"] == "2021-05-19T08:45:00+02:00"
    assert datetime.fromisoformat(event["startDate"]) == clermont.start
    assert datetime.fromisoformat(event["endDate"]) == clermont.end
    assert event["eventAttendanceMode"] == SCHEMA + "OnlineEventAttendanceMode"
    assert event["eventStatus"] == SCHEMA + "EventScheduled"
    # No public video: the page stands in for the join link.
    assert event["location"] == {"@type": "VirtualLocation", "url": page_url(shipped, clermont)}
    assert event["url"] == page_url(shipped, clermont)
    assert event["organizer"]["@type"] == "Organization"
    assert event["organizer"]["name"] == shipped.calendar.organizer.name
    performers = [(p["name"], p.get("jobTitle")) for p in event["performer"]]
    assert performers == [(p.name, p.role) for p in (*clermont.speakers, clermont.moderator)]
    assert "Clermont-Ferrand" in event["name"]


def test_session_jsonld_public_video_is_the_virtual_location(several: Schedule) -> None:
    printemps = several.session("printemps")
    [event] = jsonld(render(several, "printemps", AFTER_ALL))
    assert event["location"]["url"] == printemps.video_url


def test_session_jsonld_cancelled_session_is_event_cancelled(several: Schedule) -> None:
    page = render(several, "annulee", BEFORE_2021)
    [event] = jsonld(page)
    assert event["eventStatus"] == SCHEMA + "EventCancelled"
    assert "Annulé" in text(page.xpath("//main")[0])
    assert "Cette séance est annulée." in text(page.xpath("//main")[0])
    assert page.xpath("//main//s/time")
    # Nothing to add to a calendar nor to register for.
    assert page.get_element_by_id("ajouter", None) is None
    registration = several.session("annulee").registration_url
    assert page.xpath(f"//a[@href='{registration}']") == []


def test_session_jsonld_rescheduled_session_gives_previous_start(several: Schedule) -> None:
    reportee = several.session("reportee")
    page = render(several, "reportee", BEFORE_2021)
    [event] = jsonld(page)
    assert event["eventStatus"] == SCHEMA + "EventRescheduled"
    assert datetime.fromisoformat(event["previousStartDate"]) == reportee.previous_start
    assert "elle était prévue le mercredi 15 décembre 2021" in text(page.xpath("//main")[0])


def test_session_page_tentative_says_non_confirme(several: Schedule) -> None:
    page = render(several, "provisoire", BEFORE_2021)
    assert "Non confirmé" in text(page.xpath("//main")[0])
    [event] = jsonld(page)
    assert event["eventStatus"] == SCHEMA + "EventScheduled"


def utc_stamp(moment: datetime, pattern: str) -> str:
    """`moment` in UTC with strftime's `pattern`."""
    return moment.astimezone(UTC).strftime(pattern)


def test_session_add_to_calendar_links_use_utc(shipped: Schedule) -> None:
    session_id = "clermont-ferrand"
    session = shipped.session(session_id)
    page = render(shipped, session_id, BEFORE_2021)
    box = page.get_element_by_id("ajouter").getparent()
    hrefs = box.xpath(".//a/@href")
    google = parse_qs(urlsplit(next(h for h in hrefs if "calendar.google.com" in h)).query)
    assert google["action"] == ["TEMPLATE"]
    assert google["dates"] == ["20210519T064500Z/20210519T081500Z"]
    assert google["dates"] == [
        f"{utc_stamp(session.start, '%Y%m%dT%H%M%SZ')}/{utc_stamp(session.end, '%Y%m%dT%H%M%SZ')}"
    ]
    assert page_url(shipped, session) in google["details"][0]
    for host in ("outlook.live.com", "outlook.office.com"):
        outlook = parse_qs(urlsplit(next(h for h in hrefs if host in h)).query)
        assert outlook["startdt"] == ["2021-05-19T06:45:00Z"]
        assert outlook["enddt"] == ["2021-05-19T08:15:00Z"]
        assert outlook["rru"] == ["addevent"]
    assert f"/events/{session_id}.ics" in hrefs


def test_session_page_undated_has_no_ics_link_nor_jsonld(client: FlaskClient) -> None:
    response = client.get("/events/biarritz")
    page = parse(response.data)
    assert response.status_code == 200
    assert "date non communiquée" in text(page.xpath("//main")[0])
    assert page.xpath("//a[contains(@href, 'biarritz.ics')]") == []
    assert page.get_element_by_id("ajouter", None) is None
    assert jsonld(page) == []


def test_session_page_has_canonical_and_share_tags(client: FlaskClient, shipped: Schedule) -> None:
    clermont = shipped.session("clermont-ferrand")
    page = parse(client.get("/events/clermont-ferrand").data)
    url = page_url(shipped, clermont)
    assert page.xpath("//link[@rel='canonical']/@href") == [url]
    meta = {m.get("property") or m.get("name"): m.get("content") for m in page.xpath("//meta")}
    assert meta["og:url"] == url
    assert meta["og:type"] == "website"
    title = f"{clermont.series.title} n° {clermont.number} : {clermont.city}"
    assert plain(meta["og:title"]) == title
    assert "mercredi 19 mai 2021" in plain(meta["og:description"])
    assert meta["og:locale"] == "fr_FR"
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["twitter:title"] == meta["og:title"]


def test_session_page_shows_markup_in_data_as_text(several: Schedule) -> None:
    session = several.session("texte-difficile")
    page = render(several, "texte-difficile", AFTER_ALL)
    # The only script elements are the JSON-LD and served files (no inline code).
    assert [s.get("type") for s in page.xpath("//script[not(@src)]")] == ["application/ld+json"]
    assert page.xpath("//main//b") == []
    main = text(page.xpath("//main")[0])
    assert '<script>document.title = "pwned"</script> & <b>gras</b>' in main
    assert "Jean <b>Gras</b> & Fils" in main
    [event] = jsonld(page)
    assert event["description"].endswith(session.description)
    assert event["performer"][1]["name"] == "Jean <b>Gras</b> & Fils"


def test_session_jsonld_cannot_close_its_script_element(several: Schedule) -> None:
    body = html.session_page(several, several.session("texte-difficile"), AFTER_ALL)
    block = body.split(b'<script type="application/ld+json">', 1)[1].split(b"</script>", 1)[0]
    assert b"<" not in block


@pytest.mark.parametrize("suffix", [".ics", ".json", ".png"])
def test_unknown_session_named_in_the_404_of_each_of_its_files(
    client: FlaskClient, suffix: str,
) -> None:
    response = client.get(f"/events/atlantide{suffix}")
    assert response.status_code == 404
    assert "Aucune séance « atlantide » dans l’agenda." in response.get_data(as_text=True)


def test_unknown_session_gives_french_html_404(client: FlaskClient) -> None:
    response = client.get("/events/atlantide", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = parse(response.data)
    assert page.get("lang") == "fr"
    assert text(page.xpath("//h1")[0]) == "Page introuvable"
    assert "Aucune séance « atlantide » dans l’agenda." in text(page.xpath("//main")[0])
    assert page.xpath("//main//a[@href='/']")


def test_unknown_url_gives_french_html_404_to_browsers(client: FlaskClient) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/nulle-part", headers={"Accept": browser})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Cette adresse ne correspond à aucune page" in text(parse(response.data))


@pytest.mark.parametrize("path", ["/events/atlantide.ics", "/events/atlantide.json",
                                  "/nulle-part.xml"])
def test_unknown_data_address_gives_plain_text_404_even_to_browsers(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert response.text.startswith("404 – ")


def test_unknown_url_gives_plain_text_404_to_other_clients(client: FlaskClient) -> None:
    response = client.get("/nulle-part", headers={"Accept": "*/*"})
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert response.text == "404 – Cette adresse ne correspond à aucune page de l’agenda.\n"


def test_session_ics_download_is_still_routed(client: FlaskClient) -> None:
    response = client.get("/events/clermont-ferrand.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"


def test_session_page_conditional_get(client: FlaskClient) -> None:
    first = client.get("/events/clermont-ferrand")
    again = client.get("/events/clermont-ferrand",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert first.headers["Cache-Control"] == "public, max-age=300"


def test_session_page_past_tentative_does_not_claim_it_took_place(several: Schedule) -> None:
    session = several.session("provisoire")
    after = datetime(2023, 1, 1, tzinfo=UTC)
    main = text(parse(html.session_page(several, session, after)).xpath("//main")[0])
    assert "n’ont pas été confirmés" in main
    assert "a eu lieu" not in main


def test_a_withdrawn_session_page_says_so_and_nothing_of_the_session(
    write_schedule: Callable[..., Path], runner: CliRunner,
) -> None:
    """Whoever kept the link to a withdrawn session (a newsletter, a partner's site) reads
    that it was withdrawn, and when, rather than « Page introuvable »; nothing of what it was
    (it may have been published by mistake) is shown, and search engines are told to drop it."""
    raw = SEVERAL.read_text(encoding="utf-8")
    path = write_schedule(raw)
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    start, end = raw.index('[[sessions]]\nid = "provisoire"'), raw.index('[[sessions]]\nid = "sans')
    before = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    title = text(parse(before.get("/events/provisoire").data).xpath("//h1")[0])
    path.write_text(raw[:start] + raw[end:], "utf-8")
    assert runner.invoke(main, ["publish", "--withdraw", "provisoire", str(path)]).exit_code == 0
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    response = client.get("/events/provisoire")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = parse(response.data)
    assert text(page.xpath("//h1")[0]) == "Séance retirée"
    _, history = from_json(published_path(path).read_bytes(), "here")
    day = history.sessions["provisoire"].withdrawn.astimezone(ZoneInfo("Europe/Paris"))
    said = format_date(day, "EEEE d MMMM y", locale="fr").replace(" 1 ", " 1er ")
    assert f"retirée de l’agenda le {said}." in plain(text(page.xpath("//main")[0]))
    assert page.xpath("//meta[@name='robots']/@content") == ["noindex"]
    assert title not in text(page) and "Nantes" not in text(page)
    [home] = page.xpath("//main//a/@href")  # the way back: the agenda
    assert client.get(home).status_code == 200
    # The agenda does not list it; another session's page is untouched.
    assert "/events/provisoire" not in client.get("/").text
    assert client.get("/events/provisoire.json").status_code == 404


def test_session_page_ends_a_name_s_sentence_once(write_schedule) -> None:
    """Names that end with their own point, question or exclamation mark (« Club S.A. », « Et
    demain ? », « Jean Dupont Jr. ») got a second point after it in the page's sentences: its
    footer, partners line, meta description and card's alt text (« S.A.. », « ?. »)."""
    text = (MINIMAL.replace('"Club"', '"Club S.A."').replace('"Série"', '"Et demain ?"')
            + 'partners = ["Cadre de Ville", "SOPIC S.A."]\n'
            + LYON_OCTOBER + 'title = "Quelle ville ?"\n'
            + 'speakers = [{ name = "Jean Dupont Jr." }]\n')
    client = create_app({"AGENDA_DATA": str(write_schedule(text)), "TESTING": True}).test_client()
    for url in ("/events/lyon", "/"):
        page = lxml.html.fromstring(client.get(url).data)
        said = [" ".join(page.xpath("//body")[0].text_content().split())]
        said += page.xpath("//meta/@content")
        doubled = [t for t in said if re.search(r"[.?!…]\s?\.(?!\w)", t)]
        assert doubled == [], (url, doubled)
