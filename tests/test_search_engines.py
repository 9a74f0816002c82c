"""The site as crawlers read it: robots.txt, the sitemap, noindex, canonical addresses, JSON-LD.

Parsed with urllib.robotparser, lxml and json, and compared with what our own JSON says of each
session: a search engine finds every page meant for it, and only those, each at one address.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.robotparser import RobotFileParser

import feedparser
import lxml.etree
import lxml.html
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from agenda import create_app
from agenda.cli import main
from tests.conftest import MINIMAL
from tests.test_clients import NOW, withdrawn
from tests.test_json_schema import LYON

SITEMAPS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
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


def sitemap(client: FlaskClient) -> dict[str, datetime | None]:
    """The sitemap's URLs and their lastmod (None: not given), as lxml reads them."""
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = lxml.etree.fromstring(response.data)
    assert root.tag == f"{SITEMAPS}urlset"
    return {u.findtext(f"{SITEMAPS}loc"): lastmod and datetime.fromisoformat(lastmod)
            for u in root.iter(f"{SITEMAPS}url")
            for lastmod in [u.findtext(f"{SITEMAPS}lastmod")]}


def test_robots_txt_lets_every_page_be_crawled_and_names_the_sitemap(crawled: FlaskClient) -> None:
    response = crawled.get("/robots.txt")
    assert (response.status_code, response.mimetype) == (200, "text/plain")
    robots = RobotFileParser()
    robots.parse(response.get_data(as_text=True).splitlines())
    assert robots.site_maps() == [f"{BASE}/sitemap.xml"]
    for url in sitemap(crawled):
        assert robots.can_fetch("Googlebot", url), url


def test_sitemap_dates_each_page_as_it_is_served(crawled: FlaskClient) -> None:
    """Google recrawls a page whose lastmod is later than its last visit: a session moved or
    cancelled is read again soon, and its lastmod is its Last-Modified."""
    packed = crawled.get("/sitemap.xml", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"  # 1 MB at 10,000 sessions, plain
    for url, lastmod in sitemap(crawled).items():
        served = crawled.get(url.removeprefix(BASE), headers=HTML)
        assert served.status_code == 200, url
        modified = served.headers.get("Last-Modified")  # none for « sans-date »
        assert lastmod == (modified and parsedate_to_datetime(modified)), url
    assert None in sitemap(crawled).values()


def test_every_page_is_indexed_at_its_canonical_or_says_noindex(
    crawled: FlaskClient, tmp_path: Path
) -> None:
    """Each HTML file of the folder (every page the site has) names itself as its canonical
    address, or tells search engines not to index it; those indexed are the agenda and each
    session our JSON lists (the withdrawn one and the embed are not): the sitemap's pages."""
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
    assert indexed == {f"{BASE}/", *(s["url"] for s in sessions)} == set(sitemap(crawled))
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


@pytest.mark.parametrize(("language", "og_locale"),
                         [("fr-CA", "fr_CA"), ("fr-BE", "fr_BE"), ("fr-SN", "fr_SN"),
                          ("fr", "fr_FR")])
def test_pages_say_the_language_the_feeds_and_json_ld_say(
    write_schedule, language: str, og_locale: str
) -> None:
    """`language`, a tag of French, is what the feeds, the JSON-LD and the dates follow;
    `<html lang>` said « fr » whatever it was, and a search engine had two answers.
    og:locale (language_TERRITORY) made up a territory of the language's letters (« en_EN »,
    « ja_JA » when other languages were accepted): CLDR's likeliest territory."""
    text = MINIMAL.replace('name = "Essai"', f'name = "Essai"\nlanguage = "{language}"')
    client = create_app({"AGENDA_DATA": str(write_schedule(text + LYON)),
                         "TESTING": True}).test_client()
    session = lxml.html.fromstring(client.get("/events/lyon").data)
    (jsonld,) = session.xpath("//script[@type='application/ld+json']/text()")
    said = {lxml.html.fromstring(client.get(path, headers=HTML).data).get("lang")
            for path in ("/", "/embed", "/nulle-part")} | {session.get("lang")}
    assert said == {json.loads(jsonld)["inLanguage"],
                    feedparser.parse(client.get("/rss.xml").data).feed.language} == {language}
    assert session.xpath("//meta[@property='og:locale']/@content") == [og_locale]
