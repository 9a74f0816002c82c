"""The site as crawlers read it: noindex, canonical addresses and JSON-LD.

Parsed with lxml and json, and compared with what our own JSON says of each session: a search
engine indexes every page meant for it, and only those, each at one address.
"""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from agenda import create_app
from agenda.cli import main
from tests.test_clients import NOW, withdrawn

BASE = "https://agenda.example.org"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """The app on the several-sessions fixture with « provisoire » withdrawn, « automne » moved."""
    path = withdrawn(tmp_path_factory.mktemp("crawled"), CliRunner())
    return create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": NOW}).test_client()


def noindex(client: FlaskClient, path: str) -> bool:
    response = client.get(path, headers=HTML)
    page = lxml.html.fromstring(response.data)
    robots = page.xpath("//meta[@name='robots']/@content") + \
        [response.headers.get("X-Robots-Tag", "")]
    return any("noindex" in r for r in robots)


def test_every_page_is_indexed_at_its_canonical_or_says_noindex(
    crawled: FlaskClient, tmp_path: Path
) -> None:
    """Each HTML file of the folder (every page the site has) names itself as its canonical
    address, or tells search engines not to index it; those indexed are the agenda and each
    session our JSON lists, the withdrawn one and the embed are not."""
    built = CliRunner().invoke(main, [
        "build", "--now", NOW, "--data", crawled.application.config["AGENDA_DATA"],
        str(tmp_path / "site")])
    assert built.exit_code == 0, built.output
    pages = ["/" + str(f.relative_to(tmp_path / "site")).removesuffix(".html")
             for f in (tmp_path / "site").rglob("*.html")]
    assert {"/404", "/embed", "/events/provisoire"} <= set(pages)
    indexed = set()
    for path in ("/" if p == "/index" else p for p in pages if p != "/404"):
        page = lxml.html.fromstring(crawled.get(path, headers=HTML).data)
        if not noindex(crawled, path):
            assert page.xpath("//link[@rel='canonical']/@href") == [BASE + path], path
            indexed.add(BASE + path)
    sessions = crawled.get("/events.json").get_json()["sessions"]
    assert indexed == {f"{BASE}/", *(s["url"] for s in sessions)}
    assert noindex(crawled, "/404")


@pytest.mark.parametrize("asked", ["?utm_source=linkedin", "?fbclid=x&utm_medium=social", "/"])
def test_a_shared_address_in_another_form_gives_the_same_canonical(
    crawled: FlaskClient, asked: str
) -> None:
    sessions = crawled.get("/events.json").get_json()["sessions"]
    for url in (f"{BASE}/", *(s["url"] for s in sessions)):
        path = url.removeprefix(BASE)
        asked_for = path + asked if asked.startswith("?") else path.rstrip("/") + asked
        response = crawled.get(asked_for, base_url=BASE, headers=HTML, follow_redirects=True)
        page = lxml.html.fromstring(response.data)
        assert response.status_code == 200, path + asked
        assert page.xpath("//link[@rel='canonical']/@href") == [url], path + asked
        assert page.xpath("//meta[@property='og:url']/@content") == [url], path + asked


def test_event_jsonld_says_what_our_json_says(crawled: FlaskClient) -> None:
    for session in crawled.get("/events.json").get_json()["sessions"]:
        page = lxml.html.fromstring(crawled.get(session["url"].removeprefix(BASE)).data)
        blocks = [json.loads(s.text) for s in page.xpath("//script[@type='application/ld+json']")]
        if session["start"] is None:
            assert blocks == [], session["id"]
            continue
        [event] = blocks
        status = ("EventCancelled" if session["status"] == "cancelled"
                  else "EventRescheduled" if session["rescheduled"] else "EventScheduled")
        assert (event["startDate"], event["endDate"], event["url"], event["eventStatus"]) == (
            session["start"], session["end"], session["url"], f"https://schema.org/{status}")
        assert event.get("previousStartDate") == (
            None if session["status"] == "cancelled" else session["previous_start"])
        assert event["location"]["url"] == (session["video_url"] or session["url"])
        assert event["image"] == page.xpath("//meta[@property='og:image']/@content")
