"""Another organisation adopts agenda: its own host, time zone and words, read back by clients.

The shipped data is the CEPS's (Paris, a French host); a second adopter writes its schedule from
the README alone. Every document is read with an independent parser (json, icalendar,
feedparser, lxml) and what it says is compared with the schedule as written, through the
standards' own libraries (idna for host names), never with our functions' output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import icalendar
import idna
import lxml.html
import pytest
from flask.testing import FlaskClient

from agenda import create_app

SCHEDULE = """
[calendar]
name = "Réseau des villes – Causeries"
timezone = "America/Toronto"
language = "fr-CA"
base_url = "https://agenda.ville.québec"
organizer = { name = "Réseau des villes", url = "https://réseau-villes.example/" }

[[series]]
id = "causeries"
title = "Causeries"

[[sessions]]
id = "levis"
series = "causeries"
city = "Lévis"
start = 2026-10-21T19:00:00
end = 2026-10-21T20:30:00
announced = 2026-10-01
replay_url = "https://vidéo.example/levis"

[[sessions]]
id = "gatineau"
series = "causeries"
city = "Gatineau"
start = 2099-10-21T19:00:00
end = 2099-10-21T20:30:00
announced = 2026-10-01
registration_url = "https://inscription.société.example/gatineau"
"""
# Every host as the schedule writes it.
HOSTS = {"agenda.ville.québec", "réseau-villes.example", "vidéo.example",
         "inscription.société.example"}
DOCUMENTS = ("/events.json", "/calendar.ics", "/events/levis.ics", "/events/gatineau.ics",
             "/rss.xml", "/atom.xml", "/", "/events/levis", "/events/gatineau", "/embed",
             "/sitemap.xml", "/robots.txt")


@pytest.fixture
def adopter(tmp_path: Path) -> FlaskClient:
    """The app serving another organisation's schedule."""
    path = tmp_path / "sessions.toml"
    path.write_text(SCHEDULE, encoding="utf-8")
    return create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()


def urls(path: str, body: bytes) -> Iterator[str]:
    """Every absolute http(s) URL a client reads in a document, each by that format's parser."""
    if path.endswith(".json"):
        def walk(value: Any) -> Iterator[str]:
            if isinstance(value, dict | list):
                for item in value.values() if isinstance(value, dict) else value:
                    yield from walk(item)
            elif isinstance(value, str) and value.startswith("http"):
                yield value
        yield from walk(json.loads(body))
    elif path.endswith(".ics"):
        for component in icalendar.Calendar.from_ical(body).walk():
            for name in ("URL", "CONFERENCE"):
                if name in component:
                    yield str(component[name])
            yield from re.findall(r"https?://\S+", str(component.get("DESCRIPTION", "")))
    elif path.endswith(".xml") and path != "/sitemap.xml":
        feed = feedparser.parse(body)
        for entry in [feed.feed, *feed.entries]:
            yield from (link["href"] for link in entry.get("links", []))
            for content in entry.get("content", []):
                yield from lxml.html.fromstring(content["value"]).xpath("//a/@href")
    elif path == "/robots.txt":
        yield from re.findall(r"^Sitemap: (\S+)$", body.decode(), re.MULTILINE)
    elif path == "/sitemap.xml":
        yield from lxml.etree.fromstring(body).xpath("//*[local-name()='loc']/text()")
    else:
        page = lxml.html.fromstring(body)
        yield from page.xpath("//a/@href | //link/@href | //meta/@content")
        for block in page.xpath("//script[@type='application/ld+json']/text()"):
            yield from urls(".json", block.encode())


def test_a_host_with_accents_is_written_as_dns_and_clients_look_it_up(
    adopter: FlaskClient,
) -> None:
    """« agenda.ville.québec » came out as « agenda.ville.qu%C3%A9bec » in every link, UID and
    redirect: browsers decode it, but curl, Python's urllib and requests, calendar apps and
    the organisation's own scripts looked up the host « …qu%C3%A9bec » and found none (RFC
    3986, 3.2.2: a host for DNS is written in IDNA). Hosts are now written as DNS reads them."""
    seen: set[str] = set()
    for path in DOCUMENTS:
        answer = adopter.get(path)
        assert answer.status_code == 200, path
        for url in urls(path, answer.data):
            if not url.startswith("http"):
                continue
            host = urlsplit(url).hostname or ""
            assert host.isascii(), (path, url)
            seen.add(idna.decode(host))  # raises on « %C3%A9 »: no DNS name has a « % »
    assert HOSTS <= seen
    uids = {str(event["UID"]) for event in
            icalendar.Calendar.from_ical(adopter.get("/calendar.ics").data).walk("VEVENT")}
    assert {uid.partition("@")[2] for uid in uids} == {idna.encode("agenda.ville.québec").decode()}


def words(path: str, body: bytes) -> str:
    """What a reader of the document sees, as that format's parser gives it."""
    if path.endswith(".json"):
        return json.dumps(json.loads(body), ensure_ascii=False)
    if path.endswith(".ics"):
        return "\n".join(str(value) for component in icalendar.Calendar.from_ical(body).walk()
                         for _name, value in component.property_items(recursive=False))
    if path in ("/rss.xml", "/atom.xml"):
        feed = feedparser.parse(body)
        return "\n".join(f"{entry.title}\n{entry.summary}\n{entry.content[0].value}"
                         for entry in feed.entries)
    page = lxml.html.fromstring(body)
    return page.text_content() + "\n".join(page.xpath("//@content | //@title | //@alt"))


def test_an_organisation_elsewhere_is_told_nothing_of_the_ceps(adopter: FlaskClient) -> None:
    """The CEPS's own word for its sessions, « matinale », was on every replay link (page
    button, calendar DESCRIPTION, feeds) of an organisation whose causeries are held at 19 h.
    Outputs now say « séance », as they do everywhere else."""
    for path in DOCUMENTS:
        if path not in ("/sitemap.xml", "/robots.txt"):
            assert "matinale" not in words(path, adopter.get(path).data).lower(), path


@pytest.mark.parametrize(("zone", "currency"), [("America/Toronto", "CAD"),
                                              ("Asia/Kolkata", "INR"), ("UTC", None)])
def test_a_free_registration_is_priced_in_the_calendars_country(
    tmp_path: Path, zone: str, currency: str | None
) -> None:
    """The registration offer (schema.org JSON-LD, which search engines show) was priced in
    euros whatever the calendar's zone: 0 EUR in Canada. It is now in the money of the zone's
    country (and none in UTC, which has no country)."""
    path = tmp_path / "sessions.toml"
    path.write_text(SCHEDULE.replace("America/Toronto", zone), encoding="utf-8")
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    page = lxml.html.fromstring(client.get("/events/gatineau").data)
    (event,) = [json.loads(block) for block in
                page.xpath("//script[@type='application/ld+json']/text()")]
    assert (event["offers"]["price"], event["offers"].get("priceCurrency")) == (0, currency)
