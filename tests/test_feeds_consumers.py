"""What automated consumers of the news feeds do with them: RSS-to-email (Mailchimp, FeedBlitz),
Zapier / IFTTT / Make, the RSS apps of Slack and Teams, Feedly, Inoreader, Thunderbird.

The feeds are rendered from versions published through `next_version`, or served by the app,
and read back with feedparser and lxml, checked against what the same JSON and pages say."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser
import lxml.html
import pytest
from flask.testing import FlaskClient
from lxml import etree

from agenda.published import Version, from_json, next_version
from agenda.render import feeds, html, json_api
from tests.conftest import MINIMAL, to_json

BASE = MINIMAL + """
[[sessions]]
id = "lyon"
series = "s"
number = 1
city = "Lyon"
start = 2021-06-16T08:45:00
end = 2021-06-16T10:15:00
announced = 2021-06-01
"""
# Written as the day of the press release, as editors do (the shipped file's announced).
NANTES = """
[[sessions]]
id = "nantes"
series = "s"
number = 2
city = "Nantes"
start = 2021-07-21T08:45:00
end = 2021-07-21T10:15:00
announced = 2021-06-10
"""
BASE_URL = "https://agenda.example.org"  # MINIMAL's
FIRST = datetime(2021, 6, 9, 7, 0, tzinfo=UTC)
# Published in the afternoon of the day its announcement names.
AFTERNOON = datetime(2021, 6, 10, 14, 30, tzinfo=UTC)


def publish(text: str, current: Version | None, now: datetime) -> Version:
    version, _ = next_version(current, text.encode(), "sessions.toml", now)
    return version


def parsed_time(value: tuple[int, ...]) -> datetime:
    return datetime(*value[:6], tzinfo=UTC)


@pytest.mark.parametrize("render", [feeds.rss_bytes, feeds.atom_bytes])
@pytest.mark.parametrize("before", ["", NANTES.replace("2021-06-10", "2021-07-01")],
                         ids=["new", "brought-forward"])
def test_an_announcement_is_dated_when_it_appeared(render: Callable[..., bytes],
                                                   before: str) -> None:
    """RSS-to-email services send the items dated after their last send (FeedBlitz: the last
    24 hours): an announcement written as the day and published that afternoon, new or
    announced ahead then brought forward, dated at midnight, came already too old to be sent.
    Its date is the publication that brought it, as the JSON's `announced` says."""
    version = publish(BASE + NANTES, publish(BASE + before, None, FIRST), AFTERNOON)
    # The date is the history's: it survives the published file, where the next build reads it.
    assert from_json(to_json(version, "sessions.toml"), "here")[1] == version.history
    schedule = version.schedule
    until = AFTERNOON + timedelta(minutes=1)
    entries = feedparser.parse(render(schedule, schedule.sessions, until=until)).entries
    assert [e.id.rpartition("/")[2] for e in entries] == ["nantes", "lyon"]
    for entry, appeared in zip(entries, (AFTERNOON, datetime(2021, 5, 31, 22, tzinfo=UTC)),
                               strict=True):
        assert parsed_time(entry.published_parsed) == appeared, entry.id
        data = json.loads(json_api.session_bytes(schedule, schedule.session(entry.link.rpartition(
            "/")[2]), until))
        # The schema: "When the session was announced (the feeds' publication date)", "with the
        # UTC offset of the calendar's zone", as every date of the document.
        announced = datetime.fromisoformat(data["announced"])
        assert announced == appeared, entry.id
        assert announced.utcoffset() == datetime.fromisoformat(data["start"]).utcoffset()


@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml"])
def test_every_entry_carries_its_session_share_card(several_client: FlaskClient,
                                                    path: str) -> None:
    """Feedly and Inoreader show an entry's picture, an RSS-to-email campaign its item image,
    from Media RSS: each entry's is its session's share card, the page's og:image."""
    entries = feedparser.parse(several_client.get(path).data).entries
    assert entries
    for entry in entries:
        page = lxml.html.fromstring(several_client.get(urlsplit(entry.link).path).data)
        og = {m.get("property"): m.get("content") for m in page.xpath("//meta[@property]")}
        (image,) = entry.media_content
        assert (image["url"], image["type"], image["medium"]) == (og["og:image"], og[
            "og:image:type"], "image")
        assert (image["width"], image["height"]) == (og["og:image:width"], og["og:image:height"])


@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml"])
def test_readers_without_media_rss_show_the_card_atop_the_body(several_client: FlaskClient,
                                                              path: str) -> None:
    """NetNewsWire reads neither Media RSS nor enclosures (NetNewsWire #2380, #2538, #3131:
    « the images should be in the body »), and Thunderbird and Outlook show the body: none
    showed the card. The body opens with it, described as the page's og:image is."""
    for entry in feedparser.parse(several_client.get(path).data).entries:
        page = lxml.html.fromstring(several_client.get(urlsplit(entry.link).path).data)
        og = {m.get("property"): m.get("content") for m in page.xpath("//meta[@property]")}
        body = lxml.html.fragment_fromstring(entry.content[0].value, create_parent="div")
        image = body[0]
        assert (image.tag, image.get("src"), image.get("alt")) == ("img", og["og:image"],
                                                                   og["og:image:alt"]), entry.id
        assert (image.get("width"), image.get("height")) == (og["og:image:width"],
                                                             og["og:image:height"])


def test_rss_items_enclose_the_card_with_its_size(several_client: FlaskClient) -> None:
    """Feedly's story view, Reeder, Newsify, Liferea and tt-rss show an image enclosure, and
    Thunderbird lists it: RSS 2.0 wants its url, type and length in bytes (the file served)."""
    raw = several_client.get("/rss.xml").data
    for entry in feedparser.parse(raw).entries:
        (enclosure,) = entry.enclosures
        card = several_client.get(enclosure.href)
        assert card.status_code == 200 and enclosure.href == entry.media_content[0]["url"]
        assert (enclosure.type, int(enclosure.length)) == (card.content_type, len(card.data))
    items = etree.fromstring(raw).findall("channel/item")
    assert items and all(i.find("enclosure").get("length").isdigit() for i in items)


@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml"])
def test_every_entry_has_a_link_of_its_own_into_its_page(several_client: FlaskClient,
                                                         path: str) -> None:
    """WordPress's RSS aggregator imports an item only if its permalink is new: a change (« Annulé
    : … », « Nouvelle date : … ») linked to the page its announcement had was never imported. Each
    entry's link is its own, a change's to its line in the page's history."""
    entries = feedparser.parse(several_client.get(path).data).entries
    links = [e.link for e in entries]
    assert len(set(links)) == len(links) > len(
        {urlsplit(link).path for link in links})  # some changes are in the feed
    for entry in entries:
        address = urlsplit(entry.link)
        page = lxml.html.fromstring(several_client.get(address.path).data)
        if address.fragment:
            (line,) = page.xpath("//section[@aria-labelledby='historique']//li[@id=$id]",
                                 id=address.fragment)
            assert line.text_content()


@pytest.mark.parametrize("render", [feeds.rss_bytes, feeds.atom_bytes])
def test_no_change_is_dated_before_its_session_announcement(render: Callable[..., bytes]) -> None:
    """A session prepared with its announcement ahead, moved while nobody had heard of it, then
    announced at once (its announced brought to a past day): the feeds dated its announcement at
    that publication but kept « Nouvelle date » of the move, dated before it, about a date
    journalists were never told. A change is news only after the announcement appeared."""
    ahead = NANTES.replace("2021-06-10", "2021-12-01")
    moved = datetime(2021, 6, 12, 9, tzinfo=UTC)
    version = publish(BASE + NANTES.replace("2021-07-21T", "2021-07-28T"), publish(
        BASE + ahead.replace("2021-07-21T", "2021-07-28T"), publish(BASE + ahead, None, FIRST),
        moved), AFTERNOON + timedelta(days=10))
    schedule = version.schedule
    entries = feedparser.parse(render(schedule, schedule.sessions,
                                      until=AFTERNOON + timedelta(days=11))).entries
    announced = {e.link: parsed_time(e.published_parsed) for e in entries if "#" not in e.link}
    assert announced[f"{BASE_URL}/events/nantes"] == AFTERNOON + timedelta(days=10)
    for entry in entries:
        page, _, change = entry.link.partition("#")
        if change:
            assert parsed_time(entry.published_parsed) > announced[page], entry.link
    assert [e.link for e in entries if "nantes" in e.link] == [f"{BASE_URL}/events/nantes"]


def test_a_session_history_starts_at_its_announcement() -> None:
    """The page's history dated its first line (« annonce ») by the announcement, the feeds' date,
    and listed below it the move made before it, dated earlier: « 20 juin : annonce », then
    « 12 juin : nouvelle date ». It gives what changed after the announcement, as the feeds do:
    each line but the first is one a change entry links to, or a quiet edit made after."""
    ahead = NANTES.replace("2021-06-10", "2021-12-01")
    moved = ahead.replace("2021-07-21T", "2021-07-28T")
    announced = AFTERNOON + timedelta(days=10)
    version = publish(BASE + moved.replace("2021-12-01", "2021-06-10") + 'status = "cancelled"\n',
                      publish(BASE + moved.replace("2021-12-01", "2021-06-10"), publish(
                          BASE + moved, publish(BASE + ahead, None, FIRST),
                          datetime(2021, 6, 12, 9, tzinfo=UTC)), announced),
                      announced + timedelta(days=2))
    schedule = version.schedule
    until = announced + timedelta(days=3)
    page = lxml.html.fromstring(html.session_page(schedule, schedule.session("nantes"), until))
    lines = page.xpath("//section[@aria-labelledby='historique']//li/@id")
    entries = feedparser.parse(feeds.rss_bytes(schedule, schedule.sessions, until=until)).entries
    changes = [e.link.partition("#")[2] for e in reversed(entries) if "/nantes#" in e.link]
    assert lines == ["revision-0", *changes] == ["revision-0", "revision-2"]
    data = json.loads(json_api.session_bytes(schedule, schedule.session("nantes"), until))
    assert [f"revision-{c['sequence']}" for c in data["changes"]] == lines  # the same log


def test_an_older_file_s_change_at_its_announcement_stays_in_the_log() -> None:
    """A first version from an older file, its session cancelled with a hand-written SEQUENCE
    and no `updated`: its cancellation is dated at its announcement, and is still a line of the
    page's history; the feeds tell it once, in the announcement's title, not in a second item
    at the same instant (an RSS-to-e-mail service would send two mails)."""
    version = publish(BASE + NANTES + 'status = "cancelled"\nsequence = 1\n', None, FIRST)
    schedule = version.schedule
    until = AFTERNOON + timedelta(days=1)
    page = lxml.html.fromstring(html.session_page(schedule, schedule.session("nantes"), until))
    lines = page.xpath("//section[@aria-labelledby='historique']//li/@id")
    entries = feedparser.parse(feeds.rss_bytes(schedule, schedule.sessions, until=until)).entries
    assert lines == ["revision-0", "revision-1"]
    (told,) = [e for e in entries if "/nantes" in e.link]
    assert told.title.startswith("Annulé") and "#" not in told.link


@pytest.mark.parametrize("render", [feeds.rss_bytes, feeds.atom_bytes])
def test_a_session_added_once_over_is_not_announced_as_new(render: Callable[..., bytes]) -> None:
    """An editor adds, for the record, the session of a month ago that the file lacked: its
    announcement was dated at that publication, the newest of the feed, and RSS-to-email
    services (Mailchimp's RSS campaigns) mailed a past session to every journalist as news.
    It keeps the date of its announcement, in the feeds and the JSON, as the first version's."""
    over = NANTES.replace("2021-07-21T", "2021-06-02T").replace("2021-06-10", "2021-05-20")
    version = publish(BASE + over, publish(BASE, None, FIRST), AFTERNOON)
    schedule = version.schedule
    until = AFTERNOON + timedelta(minutes=1)
    entries = feedparser.parse(render(schedule, schedule.sessions, until=until)).entries
    assert [e.id.rpartition("/")[2] for e in entries] == ["lyon", "nantes"]
    announced = datetime(2021, 5, 19, 22, tzinfo=UTC)  # 20 May at midnight in Paris
    assert parsed_time(entries[1].published_parsed) == announced
    data = json.loads(json_api.session_bytes(schedule, schedule.session("nantes"), until))
    assert datetime.fromisoformat(data["announced"]) == announced
