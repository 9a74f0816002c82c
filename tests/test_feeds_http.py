"""HTTP side of /rss.xml and /atom.xml: content types, validators, 304, HEAD, filters, no clock."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import etree

from agenda import create_app
from agenda.model import Schedule, Session
from agenda.render import feeds
from tests.conftest import SEVERAL

TYPES = {
    "/rss.xml": "application/rss+xml; charset=utf-8",
    "/atom.xml": "application/atom+xml; charset=utf-8",
}
NS = {"a": "http://www.w3.org/2005/Atom"}


def feed_updated(body: bytes) -> datetime:
    """lastBuildDate (RSS) or updated (Atom), read from the XML."""
    root = etree.fromstring(body)
    if root.tag == "rss":
        return parsedate_to_datetime(root.findtext("channel/lastBuildDate"))
    return datetime.fromisoformat(root.findtext("a:updated", namespaces=NS))


def self_link(body: bytes) -> str:
    root = etree.fromstring(body)
    (link,) = root.xpath("//a:link[@rel='self']", namespaces=NS)
    return link.get("href")


@pytest.mark.parametrize("path", TYPES)
def test_feed_content_type_exact(path: str, client: FlaskClient) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == TYPES[path]


@pytest.mark.parametrize("path", TYPES)
def test_feed_etag_strong_and_last_modified_matches_feed(
    path: str, several_client: FlaskClient
) -> None:
    response = several_client.get(path)
    etag, weak = response.get_etag()
    assert etag and not weak
    assert response.last_modified == feed_updated(response.data)


@pytest.mark.parametrize("path", TYPES)
def test_feed_if_none_match_gives_304(path: str, several_client: FlaskClient) -> None:
    first = several_client.get(path)
    again = several_client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    other = several_client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


@pytest.mark.parametrize("path", TYPES)
def test_feed_if_modified_since_gives_304(path: str, several_client: FlaskClient) -> None:
    first = several_client.get(path)
    again = several_client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", TYPES)
def test_feed_head_has_headers_without_body(path: str, client: FlaskClient) -> None:
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == 200
    assert head.data == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Content-Length"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize("path", TYPES)
def test_feed_bytes_same_across_apps_and_time(path: str) -> None:
    first = create_app({"AGENDA_DATA": str(SEVERAL), "TESTING": True}).test_client().get(path)
    time.sleep(1.1)  # a clock-derived value would differ by now
    second = create_app({"AGENDA_DATA": str(SEVERAL), "TESTING": True}).test_client().get(path)
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]


@pytest.mark.parametrize("render", [feeds.rss_bytes, feeds.atom_bytes])
def test_feed_every_date_comes_from_data(
    render: Callable[[Schedule, tuple[Session, ...]], bytes], several: Schedule
) -> None:
    body = render(several, several.sessions)
    root = etree.fromstring(body)
    known = {s.announced for s in several.sessions} | {s.updated for s in several.sessions}
    stamps = [e.text for e in root.iter() if isinstance(e.tag, str)
              and etree.QName(e).localname in ("updated", "published", "pubDate", "lastBuildDate")]
    assert stamps
    for text in stamps:
        moment = (datetime.fromisoformat(text) if re.match(r"\d{4}-", text)
                  else parsedate_to_datetime(text))
        assert moment in known, text


@pytest.mark.parametrize("path", TYPES)
def test_feed_series_filter_keeps_its_announcements(
    path: str, several_client: FlaskClient, several: Schedule
) -> None:
    response = several_client.get(path + "?series=autres")
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    ids = [e.text for e in root.xpath("//guid | //a:entry/a:id", namespaces=NS)]
    # "autres" has "reportee" (announced, then moved) and "provisoire" (not announced).
    assert [i.split("#")[0] for i in ids] == ["https://agenda.example.org/events/reportee"] * 2
    # The query form answers with the file of its path form (what a static host serves).
    assert self_link(response.data) == f"https://agenda.example.org/series/autres{path}"


@pytest.mark.parametrize("path", TYPES)
def test_feed_city_filter_case_insensitive_shares_one_rendering(
    path: str, several_client: FlaskClient
) -> None:
    lower = several_client.get(path + "?city=saint-%C3%A9tienne")
    exact = several_client.get(path + "?city=Saint-%C3%89tienne")
    assert lower.status_code == 200
    assert lower.data == exact.data
    assert self_link(lower.data) == f"https://agenda.example.org/cities/saint-etienne{path}"
    title = etree.fromstring(lower.data).xpath("string(/rss/channel/title | /a:feed/a:title)",
                                               namespaces=NS)
    assert title == "Agenda d’essai – Saint-Étienne"


@pytest.mark.parametrize("path", TYPES)
@pytest.mark.parametrize("query", ["?series=inconnue", "?city=Paris"])
def test_feed_unknown_filter_is_404(path: str, query: str, several_client: FlaskClient) -> None:
    assert several_client.get(path + query).status_code == 404


@pytest.mark.parametrize("path", TYPES)
def test_feed_filtered_etag_differs_from_whole(path: str, several_client: FlaskClient) -> None:
    whole = several_client.get(path).headers["ETag"]
    filtered = several_client.get(path + "?series=essais").headers["ETag"]
    assert whole != filtered


def test_feed_holds_back_announcements_until_their_date(several_app) -> None:
    # texte-difficile is announced on 2021-05-20, automne on 2021-10-04.
    several_app.config["AGENDA_NOW"] = "2021-06-01T12:00:00+02:00"
    early = feedparser.parse(several_app.test_client().get("/rss.xml").data)
    several_app.config["AGENDA_NOW"] = "2021-10-05T12:00:00+02:00"
    later = feedparser.parse(several_app.test_client().get("/rss.xml").data)
    early_ids = {e.id.rsplit("/", 1)[1] for e in early.entries}
    later_ids = {e.id.rsplit("/", 1)[1] for e in later.entries}
    assert early_ids == {"printemps", "texte-difficile"}
    assert later_ids == early_ids | {"automne"}


def test_feed_dated_by_a_withdrawal_in_its_body_as_in_its_header(write_schedule) -> None:
    """A withdrawal dated the feeds' Last-Modified, not their updated / lastBuildDate: these
    went back to the entries left (1970 for a feed left empty), older than the header, as if
    the feed had not changed since."""
    from click.testing import CliRunner

    from agenda.cli import main
    from tests.conftest import LYON_OCTOBER, MINIMAL

    later = LYON_OCTOBER.replace('"lyon"', '"tours"').replace('"Lyon"', '"Tours"').replace(
        "2026-10-01", "2026-10-05")
    path = write_schedule(MINIMAL + LYON_OCTOBER + later)
    runner = CliRunner()
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    path.write_text(MINIMAL + LYON_OCTOBER, encoding="utf-8")
    assert runner.invoke(main, ["publish", "--withdraw", "tours", str(path)]).exit_code == 0
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    for folder in ("/", "/series/s/", "/cities/tours/", "/cities/lyon/"):
        for name in ("rss.xml", "atom.xml"):
            response = client.get(folder + name)
            assert response.status_code == 200
            body = feed_updated(response.data).replace(microsecond=0)  # Atom's has them
            assert body == response.last_modified, folder + name


def test_feed_prepared_ahead_is_not_dated_by_its_announcement_to_come(write_schedule) -> None:
    """A feed whose only session is announced later (a file prepared ahead of the press release)
    was dated by that announcement: updated / lastBuildDate in the future, telling when the
    release comes out, and no Last-Modified (a date to come is none)."""
    from tests.conftest import LYON_OCTOBER, MINIMAL

    ahead = LYON_OCTOBER.replace("announced = 2026-10-01", "announced = 2026-10-10")
    path = write_schedule(MINIMAL + ahead)
    now = datetime.fromisoformat("2026-10-05T12:00:00+00:00")
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": now.isoformat(),
                         "TESTING": True}).test_client()
    for url in ("/rss.xml", "/atom.xml", "/series/s/rss.xml", "/cities/lyon/atom.xml"):
        response = client.get(url)
        assert feedparser.parse(response.data).entries == [], url
        assert feed_updated(response.data) <= now, url
