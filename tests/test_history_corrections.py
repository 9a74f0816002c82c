"""Corrections: a fix reaches calendars (SEQUENCE + 1) but no news feed, label or title.

Calendars are read back with icalendar, feeds with feedparser, pages with lxml,
the published file with json; the clock is the `now` given to each publication.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import icalendar
import lxml.html
from click.testing import CliRunner

from agenda.cli import main
from agenda.history import is_correction
from agenda.model import Revision
from agenda.published import Version, from_json, next_version
from agenda.render import feeds, html, ical, json_api
from agenda.store import VersionStore
from tests.conftest import to_json
from tests.test_history_revisions import BASE, NOW, moved_text
from tests.test_store_versions import touch_later

LYON = "lyon@agenda.example.org"


def publish(text: str, current: Version | None, now: datetime = NOW,
            correction: bool | None = None, editor: str | None = None) -> Version:
    version, _ = next_version(current, text.encode(), "sessions.toml", now,
                              correction=correction, editor=editor)
    return version


def lyon_event(version: Version) -> icalendar.Event:
    data = ical.feed_bytes(version.schedule, version.schedule.sessions)
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}[LYON]


def rss_titles(version: Version) -> list[str]:
    parsed = feedparser.parse(feeds.rss_bytes(version.schedule, version.schedule.sessions))
    assert parsed.bozo == 0
    # The spaces binding French punctuation (« n° 1 : ») read as plain ones; times keep theirs.
    return [e.title.replace("\u00a0:", " :").replace("n°\u00a0", "n° ").replace("\u00a0–", " –")
            for e in parsed.entries]


def announced() -> Version:
    """BASE published once from the file, then again at NOW with a new description."""
    first = publish(BASE, None)
    return publish(BASE.replace("Une matinale sur la ville.", "Une matinale."), first)


def test_correction_within_15_minutes_bumps_sequence_without_news() -> None:
    before = announced()
    later = NOW + timedelta(minutes=5)
    fixed = publish(moved_text().replace("Une matinale sur la ville.", "Une matinale."),
                    before, later, editor="anne@example.org")
    event = lyon_event(fixed)
    assert int(event["SEQUENCE"]) == int(lyon_event(before)["SEQUENCE"]) + 1
    assert event.decoded("DTSTAMP") == later
    assert event.decoded("LAST-MODIFIED") == later
    assert event.decoded("DTSTART") == datetime(2021, 6, 23, 7, 30, tzinfo=UTC)
    assert "report" not in str(event["DESCRIPTION"]).lower()
    titles = rss_titles(fixed)
    assert len(titles) == len(rss_titles(before))
    assert "Série n° 1 : Lyon, mercredi 23\u00a0juin 2021, 9\u00a0h\u00a030 – 11\u00a0h" in titles
    assert [t for t in titles if t.startswith(("Reporté", "Nouvelle date"))] == []
    lyon = fixed.schedule.session("lyon")
    page = lxml.html.fromstring(html.session_page(fixed.schedule, lyon, NOW))
    assert page.xpath("//p[contains(@class, 'notice')]") == []
    assert page.xpath("//ol[@class='history']/li")[-1].text_content().endswith(": correction")
    # The history says it was a correction, and by whom; read back from the file.
    document = json.loads(to_json(fixed, "sessions.toml"))
    laid_out = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    assert to_json(fixed, "sessions.toml") == laid_out.encode()
    last = document["sessions"]["lyon"]["revisions"][-1]
    assert (last["correction"], last["by"]) == (True, "anne@example.org")
    _, history = from_json(to_json(fixed, "sessions.toml"), "published.json")
    assert history.sessions["lyon"].revisions[-1].correction is True
    # Who published is never shown.
    public = [ical.feed_bytes(fixed.schedule, fixed.schedule.sessions),
              feeds.rss_bytes(fixed.schedule, fixed.schedule.sessions),
              html.session_page(fixed.schedule, lyon, NOW),
              json.dumps(json_api.session_document(fixed.schedule, lyon)).encode()]
    assert [b"anne@example.org" in body for body in public] == [False] * 4


def test_change_after_15_minutes_is_announced() -> None:
    before = announced()
    moved = publish(moved_text().replace("Une matinale sur la ville.", "Une matinale."),
                    before, NOW + timedelta(minutes=16))
    assert int(lyon_event(moved)["SEQUENCE"]) == int(lyon_event(before)["SEQUENCE"]) + 1
    titles = rss_titles(moved)
    assert len(titles) == len(rss_titles(before)) + 1
    assert [t for t in titles if t.startswith("Nouvelle date : Série n° 1 : Lyon")] != []
    assert [t for t in titles if t.startswith("Reporté : Série n° 1 : Lyon")] != []
    revision = json.loads(to_json(moved, "x"))["sessions"]["lyon"]["revisions"][-1]
    assert "correction" not in revision and "by" not in revision


def test_a_move_undone_by_a_correction_leaves_no_news_entry() -> None:
    # The wrong session moved, then put back 5 minutes later: no entry says « Nouvelle date :
    # 16 juin (au lieu du 16 juin) », and nothing anywhere says « Reporté ».
    first = publish(BASE, None)
    moved = publish(moved_text(), first, NOW)
    back = publish(BASE, moved, NOW + timedelta(minutes=5))
    assert int(lyon_event(back)["SEQUENCE"]) == 2
    assert rss_titles(back) == rss_titles(first)
    lyon = back.schedule.session("lyon")
    page = lxml.html.fromstring(html.session_page(back.schedule, lyon, NOW))
    assert page.xpath("//p[contains(@class, 'notice')]") == []
    assert json.loads(json_api.session_bytes(back.schedule, lyon))["rescheduled"] is False


def test_announce_overrides_the_15_minute_rule() -> None:
    before = announced()
    moved = publish(moved_text().replace("Une matinale sur la ville.", "Une matinale."),
                    before, NOW + timedelta(minutes=1), correction=False)
    assert len(rss_titles(moved)) == len(rss_titles(before)) + 1


def test_any_change_can_be_marked_a_correction() -> None:
    first = publish(BASE, None)
    fixed = publish(moved_text(), first, NOW + timedelta(days=3), correction=True)
    assert int(lyon_event(fixed)["SEQUENCE"]) == 1
    assert len(rss_titles(fixed)) == len(rss_titles(first))


def test_cancellation_within_15_minutes_is_still_announced() -> None:
    before = announced()
    text = BASE.replace("Une matinale sur la ville.", "Une matinale.").replace(
        'city = "Lyon"', 'city = "Lyon"\nstatus = "cancelled"')
    cancelled = publish(text, before, NOW + timedelta(minutes=2), correction=True)
    assert [t for t in rss_titles(cancelled) if t.startswith("Annulé : Série n° 1 : Lyon")] != []


def test_a_session_moved_earlier_is_avancee() -> None:
    first = publish(BASE, None)
    earlier = BASE.replace("2021-06-16T08:45", "2021-06-09T08:45").replace(
        "2021-06-16T10:15", "2021-06-09T10:15")
    moved = publish(earlier, first, NOW + timedelta(days=1))
    lyon = moved.schedule.session("lyon")
    page = lxml.html.fromstring(html.session_page(moved.schedule, lyon, NOW))
    notice = " ".join(page.xpath("//p[contains(@class, 'notice')]")[0].text_content().split())
    assert notice.startswith("Séance avancée : elle était prévue le mercredi 16 juin 2021")
    titles = rss_titles(moved)
    assert [t for t in titles if t.startswith("Avancé : Série n° 1 : Lyon")] != []
    assert not any(t.startswith("Reporté") for t in titles)
    assert str(lyon_event(moved)["DESCRIPTION"]).startswith("Séance avancée")
    document = json_api.session_document(moved.schedule, lyon)
    assert document["status_label"] == "Avancé"


def published_revision(path: Path) -> dict:
    document = json.loads(path.with_name("sessions.published.json").read_text())
    return document["sessions"]["lyon"]["revisions"][-1]


def test_publish_correction_and_announce_options(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "sessions.toml"
    path.write_text(BASE, encoding="utf-8")
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    # Days after the last publication: announced unless --correction says otherwise.
    path.write_text(moved_text(), encoding="utf-8")
    result = runner.invoke(main, ["publish", "--correction", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "  lyon : start 2021-06-16 08:45 → 2021-06-23 09:30, end 2021-06-16 10:15 → "
        "2021-06-23 11:00, correction sans annonce (SEQUENCE 0 → 1)"
    ]
    assert published_revision(path)["correction"] is True
    # Seconds after it: a correction unless --announce says otherwise.
    path.write_text(moved_text().replace("T09:30", "T09:45"), encoding="utf-8")
    result = runner.invoke(main, ["publish", "--announce", str(path)])
    assert result.exit_code == 0, result.output
    revision = published_revision(path)
    assert "correction" not in revision and revision["news"] == ["rescheduled"]
    path.write_text(moved_text().replace("T09:30", "T10:00"), encoding="utf-8")
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    assert published_revision(path)["correction"] is True


def test_hand_edits_follow_the_15_minute_rule(tmp_path: Path) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text(BASE, encoding="utf-8")
    clock = [NOW]
    store = VersionStore(path, watch=False, settle=0, clock=lambda: clock[0])
    for minutes, text, correction in [
        (0, moved_text(), None), (10, BASE, True), (30, moved_text(), None)
    ]:
        clock[0] = NOW + timedelta(minutes=minutes)
        path.write_text(text, encoding="utf-8")
        touch_later(path)
        store.current()
        assert published_revision(path).get("correction") == correction


def test_a_previous_revision_dated_in_the_future_makes_no_correction() -> None:
    ahead = Revision(at=NOW + timedelta(hours=1), sequence=0, fields=("published",))
    assert not is_correction(None, (), ahead, NOW)
    assert is_correction(None, (), ahead, NOW + timedelta(hours=1, minutes=15))
