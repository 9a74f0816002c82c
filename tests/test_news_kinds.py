"""Which changes of a session the news feeds announce: every one that matters to someone who
planned to attend, once, and none that does not.

Each case publishes a session announced on 1 June, edits it days later as an editor would,
and reads the RSS feed back with feedparser, the JSON with jsonschema and the page's
« Historique » with lxml.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import feedparser
import lxml.html
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from agenda.published import Version, from_json, next_version
from agenda.render import feeds, html, json_api
from tests.conftest import MINIMAL, to_json
from tests.test_feeds_consumers import BASE

SESSION = BASE.removeprefix(MINIMAL) + """video_url = "https://visio.example.org/prive"
registration_url = "https://inscription.example.org/lyon"
"""  # Lyon, announced on 1 June for the 16th
BEFORE = datetime(2021, 6, 10, 9, 30, tzinfo=UTC)  # days after the announcement, before the date
AFTER = datetime(2021, 6, 20, 9, 30, tzinfo=UTC)  # once it took place
CANCELLED = 'status = "cancelled"\ncity'
TENTATIVE = 'status = "tentative"\ncity'
PUBLIC = 'video_public = true\nvideo_url'
SPEAKER = 'speakers = [{ name = "Anne Martin" }]\ncity'
REPLAY = 'replay_url = "https://video.example.org/lyon"\ncity'
NO_REGISTRATION = ('registration_url = "https://inscription.example.org/lyon"\n', "")


def edit(*changes: tuple[str, str]) -> str:
    """The schedule with SESSION's text edited: each (old, new) replaced."""
    text = SESSION
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    return MINIMAL + text + "# fin\n"  # a line cut off is never taken for a save in progress


def publish(before: str, after: str, now: datetime, *between: tuple[str, datetime]) -> Version:
    """`before` published the day before `now` (after its announcement), then any edits
    `between`, then `after` at `now`."""
    version, _ = next_version(None, MINIMAL.encode(), "s.toml", datetime(2021, 5, 1, tzinfo=UTC))
    for text, at in ((before, now - timedelta(days=1)), *between, (after, now)):
        version, _ = next_version(version, text.encode(), "s.toml", at)
    return version


def change_titles(version: Version, now: datetime) -> list[str]:
    """The titles of the RSS feed's change entries, newest first, read by feedparser."""
    schedule = version.schedule
    parsed = feedparser.parse(feeds.rss_bytes(schedule, schedule.sessions, until=now))
    assert parsed.bozo == 0
    return [e.title.replace("\u00a0", " ") for e in parsed.entries if "#revision-" in e.id]


def json_news(version: Version, now: datetime) -> list[list[str]]:
    """Each revision's `news` in /events.json, the document first checked against its schema."""
    schedule = version.schedule
    document = json.loads(json_api.events_bytes(schedule, now))
    schema = json.loads(json_api.schema_bytes(schedule))
    errors = Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(document)
    assert [f"{e.json_path}: {e.message}" for e in errors] == []
    (session,) = document["sessions"]
    return [c["news"] for c in session["changes"]]


def history(version: Version, now: datetime) -> list[str]:
    """The lines of the session page's « Historique », read by lxml."""
    schedule = version.schedule
    page = lxml.html.fromstring(html.session_page(schedule, schedule.sessions[0], now))
    lines = page.xpath("//section[h2='Historique']//li")
    return [li.text_content().replace("\u00a0", " ") for li in lines]


NEWS_TITLES = {"confirmed": "Séance confirmée", "unconfirmed": "Séance non confirmée",
               "replay": "Replay disponible", "replay_removed": "Replay retiré"}
ACCESS = "Modalités de participation"  # the public video link or the registration link
TOLD = [  # before, after, when, news, the entry's title, the Historique's phrase
    (edit(), edit(("city", TENTATIVE)), BEFORE,
     ["unconfirmed"], "Séance non confirmée", "séance non confirmée"),
    (edit(("city", CANCELLED)), edit(("city", TENTATIVE)), BEFORE,
     ["reinstated", "unconfirmed"], "Rétabli", "séance rétablie, séance non confirmée"),
    (edit(), edit(("video_url", PUBLIC)), BEFORE,
     ["access"], ACCESS, "modalités de participation modifiées"),
    (edit(("video_url", PUBLIC)), edit(), BEFORE,
     ["access"], ACCESS, "modalités de participation modifiées"),
    (edit(("video_url", PUBLIC)), edit(("video_url", PUBLIC), ("prive", "public")), BEFORE,
     ["access"], ACCESS, "modalités de participation modifiées"),
    (edit(NO_REGISTRATION), edit(), BEFORE,
     ["access"], ACCESS, "modalités de participation modifiées"),
    (edit(), edit(NO_REGISTRATION), BEFORE,
     ["access"], ACCESS, "modalités de participation modifiées"),
    (edit(("city", REPLAY)), edit(), AFTER,
     ["replay_removed"], "Replay retiré", "replay retiré"),
    (edit(), edit(("city", CANCELLED), NO_REGISTRATION), BEFORE,  # its link: no matter now
     ["cancelled"], "Annulé", "séance annulée"),
]


@pytest.mark.parametrize(("before", "after", "now", "news", "title", "phrase"), TOLD, ids=[
    "unconfirmed", "cancelled-to-tentative", "video-public", "video-private",
    "video-link", "registration-opened", "registration-closed", "replay-removed",
    "cancelled-link-removed"])
def test_a_change_that_matters_is_one_entry(before: str, after: str, now: datetime,
                                            news: list[str], title: str, phrase: str) -> None:
    version = publish(before, after, now)
    titles = change_titles(version, now + timedelta(hours=1))
    assert len(titles) == 1 and titles[0].startswith(f"{title} : Série n° 1 : ")
    assert json_news(version, now)[-1] == news
    assert history(version, now)[-1].endswith(f" : {phrase}")


QUIET = [  # a cancelled session edited, a private link, another registration form, a past
    # session's links, a city alone (a spelling: another city brings other speakers, news)
    (edit(("city", CANCELLED)), edit(("city", CANCELLED), ("06-16T", "06-23T")), BEFORE),
    (edit(("city", CANCELLED)), edit(("city", CANCELLED), ("city", SPEAKER)), BEFORE),
    (edit(), edit(("prive", "autre")), BEFORE),
    (edit(), edit(("inscription.example.org/lyon", "inscription.example.org/lyon-2")), BEFORE),
    (edit(), edit(NO_REGISTRATION), AFTER),
    (edit(("video_url", PUBLIC)), edit(), AFTER),
    (edit(), edit(('"Lyon"', '"Villeurbanne"')), BEFORE),
]


@pytest.mark.parametrize(("before", "after", "now"), QUIET, ids=[
    "cancelled-moved", "cancelled-speakers", "private-link", "registration-link",
    "registration-closed-after",
    "video-private-after", "city"])
def test_a_change_that_matters_to_no_attendee_is_quiet(before: str, after: str,
                                                       now: datetime) -> None:
    version = publish(before, after, now)
    assert change_titles(version, now + timedelta(hours=1)) == []
    assert json_news(version, now)[-1] == []
    assert history(version, now)[-1].endswith(" : précisions")


@pytest.mark.parametrize(("before", "told", "now", "news"), [
    (edit(("city", TENTATIVE)), edit(), BEFORE, ["confirmed", "unconfirmed"]),
    (edit(), edit(("city", REPLAY)), AFTER, ["replay", "replay_removed"]),
])
def test_taking_news_back_within_minutes_is_news_too(before: str, told: str, now: datetime,
                                                     news: list[str]) -> None:
    """A confirmation or a replay is news however soon it follows; so is taking it back five
    minutes later, or the feed's last word would stay « Séance confirmée » or « Replay
    disponible »."""
    version = publish(before, before, now, (told, now - timedelta(minutes=5)))
    assert [n[0] for n in json_news(version, now) if n] == news
    assert [t.split(" : ")[0] for t in change_titles(version, now)] == [
        NEWS_TITLES[n] for n in reversed(news)]
    (*_, written) = [r.news for r in from_json(to_json(version, "s.toml"), "here")[1]
                  .sessions["lyon"].revisions if r.news]
    assert [n.value for n in written] == news[-1:]  # the history file reads it back


def test_a_session_moved_while_cancelled_then_reinstated_says_it_was_moved() -> None:
    """Moved while cancelled (quiet: it was not to take place), then reinstated: readers of the
    first date hear « Rétabli » at the new one, and its JSON says it was moved, as for a move."""
    moved = ("06-16T", "06-23T")
    version = publish(edit(), edit(moved), BEFORE,
                      (edit(("city", CANCELLED)), BEFORE - timedelta(hours=12)),
                      (edit(("city", CANCELLED), moved), BEFORE - timedelta(hours=6)))
    assert change_titles(version, BEFORE)[0].startswith("Rétabli : Série n° 1 : Lyon, mercredi 23")
    assert json_news(version, BEFORE) == [[], ["cancelled"], [], ["reinstated"]]
    session = json.loads(json_api.session_bytes(version.schedule, version.schedule.sessions[0]))
    assert (session["status_label"], session["previous_start"]) == (
        "Reporté", "2021-06-16T08:45:00+02:00")


def test_a_session_reinstated_at_another_date_says_the_date_it_replaces() -> None:
    """Cancelled, then reinstated at a new date in one publication: the entry says « Rétabli »
    and, as a move's entry does, the date readers had (they may have planned around it)."""
    moved = ("06-16T", "06-23T")
    version = publish(edit(("city", CANCELLED)), edit(moved), BEFORE)
    (title, *_) = change_titles(version, BEFORE)
    assert title.startswith("Rétabli : Série n° 1 : Lyon, mercredi 23"), title
    assert title.endswith("(au lieu du mercredi 16 juin 2021 à 8 h 45)"), title
