"""An operator's life across a move to a new `base_url`: what subscribers' clients keep.

The shipped schedule is published, then published again with another `base_url` (the
service moved to a new domain), as `agenda publish` does. A calendar client that keeps events
by UID and replaces them only when SEQUENCE grows (tests/test_year_of_changes.py's) and
feedparser, as a feed reader keeping entries by id, read what the app serves after each.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import icalendar
import pytest
import vobject
from flask.testing import FlaskClient

from agenda import create_app
from agenda.published import publish
from tests.conftest import LYON, SHIPPED
from tests.test_year_of_changes import Client

OLD, NEW = "https://agenda.ceps-oing.org", "https://evenements.ceps.eu"
FIRST = datetime(2021, 6, 2, 9, tzinfo=UTC)  # after Lyon's announcement
MOVED = FIRST + timedelta(days=3)


def published(folder: Path, text: str, at: datetime) -> FlaskClient:
    """`text` published at `at` in `folder`, and a client of the app serving it then."""
    schedule = folder / "sessions.toml"
    schedule.write_text(text, encoding="utf-8")
    assert publish(schedule, folder / "sessions.published.json", at).written
    app = create_app({"AGENDA_DATA": str(schedule), "AGENDA_NOW": at + timedelta(minutes=1),
                      "TESTING": True})
    return app.test_client()


def events(data: bytes) -> dict[str, icalendar.Event]:
    found = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}
    assert sorted(v.uid.value for v in vobject.readOne(data.decode()).vevent_list) == sorted(found)
    return found


def entries(data: bytes) -> dict[str, feedparser.FeedParserDict]:
    feed = feedparser.parse(data)
    assert not feed.bozo
    return {e.id: e for e in feed.entries}


PATHS = ("/calendar.ics", "/rss.xml", "/atom.xml", "/cities/lyon/atom.xml")


def moved(folder: Path, new: str = NEW) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """What subscribers fetch before and after the shipped schedule moves to `new`."""
    shutil.copy(SHIPPED.with_name("sessions.published.json"), folder)
    text = SHIPPED.read_text(encoding="utf-8") + LYON
    published(folder, text, FIRST)
    text += 'status = "cancelled"\n'
    client = published(folder, text, FIRST + timedelta(days=1))
    before = {path: client.get(path).data for path in PATHS}
    client = published(folder, text.replace(OLD, new), MOVED)
    return before, {path: client.get(path).data for path in PATHS}


@pytest.mark.parametrize("address", [NEW, "http://agenda.ceps-oing.org",
                                     "https://agenda.ceps-oing.org:8443",
                                     "http://evenements.ceps.eu:80"])
def test_a_new_base_url_keeps_the_ids_of_the_news_feeds_entries(tmp_path: Path,
                                                                address: str) -> None:
    # Another scheme or port only (TLS added, a proxy's port) is a move too: every id was the
    # page's URL with them, and a reader showed every announcement a second time.
    before, after = moved(tmp_path, address)
    for path in PATHS[1:]:
        old, new = entries(before[path]), entries(after[path])
        # A feed reader keeps entries by id: the same ids, no entry shown a second time.
        assert list(new) == list(old), path
        assert sum("/events/lyon" in i for i in new) == 2, path  # announced, then cancelled
        for entry in new.values():
            assert entry.link.startswith(address + "/events/"), path


def test_a_new_base_url_keeps_the_uids_and_reaches_every_calendar(tmp_path: Path) -> None:
    before, after = moved(tmp_path)
    calendar = Client()
    calendar.refresh(events(before["/calendar.ics"]))
    calendar.refresh(events(after["/calendar.ics"]))
    served = events(after["/calendar.ics"])
    # The same UIDs: no event twice.
    assert set(served) == set(calendar.held) == set(events(before["/calendar.ics"]))
    # The page's URL in every event is the new one, in what the client keeps too.
    for uid, event in served.items():
        assert str(event["URL"]).startswith(NEW + "/events/"), uid
        assert calendar.held[uid].to_ical() == event.to_ical(), uid


def test_a_base_url_given_its_final_slash_changes_nothing_subscribers_see(tmp_path: Path) -> None:
    # « https://example.org/ », as the loader's own example writes it: the same address, the same
    # URLs in every event, so no SEQUENCE raised and no revision for every dated session.
    shutil.copy(SHIPPED.with_name("sessions.published.json"), tmp_path)
    text = SHIPPED.read_text(encoding="utf-8") + LYON
    client = published(tmp_path, text, FIRST)
    before = {path: client.get(path).data for path in PATHS}
    client = published(tmp_path, text.replace(f'"{OLD}"', f'"{OLD}/"'), MOVED)
    assert f'"{OLD}/"' in (tmp_path / "sessions.toml").read_text(encoding="utf-8")
    after = {path: client.get(path).data for path in PATHS}
    assert {uid: e["SEQUENCE"] for uid, e in events(after["/calendar.ics"]).items()} == {
        uid: e["SEQUENCE"] for uid, e in events(before["/calendar.ics"]).items()}
    for path in PATHS:
        assert after[path] == before[path], path
