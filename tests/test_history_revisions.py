"""Derived revisions: what each kind of edit does to UIDs, SEQUENCE, times and the feeds.

Each test publishes a base schedule, edits its text as an editor would and
publishes again; the calendar feed is then read back with icalendar and
recurring-ical-events, and the news feed with feedparser, never through our
own objects.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import lxml.html
import pytest
import recurring_ical_events

from agenda import history
from agenda.errors import ScheduleError
from agenda.published import Version, first_version, make_version, next_version
from agenda.render import feeds, html, ical, json_api
from tests.conftest import MINIMAL

BASE = MINIMAL + """
[[sessions]]
id = "lyon"
series = "s"
number = 1
city = "Lyon"
start = 2021-06-16T08:45:00
end = 2021-06-16T10:15:00
speakers = [{ name = "Anne Martin", role = "Maire" }]
announced = 2021-06-01
description = "Une matinale sur la ville."

[[sessions]]
id = "nantes"
series = "s"
number = 2
city = "Nantes"
start = 2021-07-21T08:45:00
end = 2021-07-21T10:15:00
announced = 2021-07-01
"""
NOW = datetime(2021, 6, 10, 9, 30, tzinfo=UTC)


def plain(text: str) -> str:
    """Text with its non-breaking spaces (inside times, between day and month) as plain ones."""
    return text.replace("\u00a0", " ")


def moved_text() -> str:
    """BASE with Lyon moved a week later and 45 minutes later in the day."""
    return BASE.replace("2021-06-16T08:45", "2021-06-23T09:30").replace(
        "2021-06-16T10:15", "2021-06-23T11:00"
    )


def publish(text: str, current: Version | None = None, now: datetime = NOW,
            withdraw: tuple[str, ...] = ()) -> Version:
    version, _ = next_version(current, text.encode(), "sessions.toml", now, withdraw)
    return version


def events(version: Version) -> dict[str, icalendar.Event]:
    """VEVENTs of the subscription feed by UID, parsed by icalendar."""
    data = ical.feed_bytes(version.schedule, version.schedule.sessions)
    calendar = icalendar.Calendar.from_ical(data)
    found = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(found) == len(calendar.walk("VEVENT")), "one event per UID"
    return found


def occurrences(version: Version) -> list:
    data = ical.feed_bytes(version.schedule, version.schedule.sessions)
    calendar = icalendar.Calendar.from_ical(data)
    return recurring_ical_events.of(calendar).between(datetime(2000, 1, 1), datetime(2100, 1, 1))


def entries(version: Version) -> list:
    body = feeds.atom_bytes(version.schedule, version.schedule.sessions)
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0
    return parsed.entries


def sequence(version: Version, session_id: str) -> int:
    return int(events(version)[f"{session_id}@agenda.example.org"]["SEQUENCE"])


def test_first_version_comes_from_the_file_alone() -> None:
    one = first_version(BASE.encode(), "a")
    two = first_version(BASE.encode(), "b")
    assert ical.feed_bytes(one.schedule, one.schedule.sessions) == ical.feed_bytes(
        two.schedule, two.schedule.sessions
    )
    stamp = events(one)["lyon@agenda.example.org"].decoded("DTSTAMP")
    assert stamp == datetime(2021, 5, 31, 22, 0, tzinfo=UTC)  # announced, midnight in Paris
    assert sequence(one, "lyon") == 0


def test_moving_a_session_raises_sequence_and_stamps_the_revision() -> None:
    first = publish(BASE)
    moved = publish(moved_text(), first)
    event = events(moved)["lyon@agenda.example.org"]
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == datetime(2021, 6, 23, 7, 30, tzinfo=UTC)
    assert event.decoded("DTSTAMP") == NOW
    assert event.decoded("LAST-MODIFIED") == NOW
    assert sequence(moved, "nantes") == 0  # untouched sessions keep theirs
    assert set(events(moved)) == set(events(first))
    assert len(occurrences(moved)) == 2


def test_a_move_becomes_a_news_entry_and_the_announcement_stays() -> None:
    first = publish(BASE)
    moved = publish(moved_text(), first)
    found = entries(moved)
    ids = [e.id for e in found]
    assert "https://agenda.example.org/events/lyon" in ids
    (change,) = [e for e in found if "#revision-" in e.id]
    assert change.id == "https://agenda.example.org/events/lyon#revision-1"
    title = plain(change.title)
    assert title.startswith("Nouvelle date : Série n° 1 : Lyon, mercredi 23 juin 2021")
    assert title.endswith("(au lieu du mercredi 16 juin 2021 à 8 h 45)")
    assert datetime(*change.published_parsed[:6], tzinfo=UTC) == NOW
    assert change.link == change.id  # its line in the page's history


def test_a_change_entry_keeps_the_date_it_announced_after_later_moves() -> None:
    # Moved to the 23rd, the date fixed within 15 minutes, moved again, then cancelled: each
    # entry names the date of its own day, as journalists read it then; the fix is silent.
    first = publish(BASE)
    moved = publish(moved_text(), first)
    fixed = publish(moved_text().replace("2021-06-23T09:30", "2021-06-23T09:15"), moved,
                    NOW + timedelta(minutes=5))
    again = moved_text().replace("2021-06-23", "2021-06-30")
    twice = publish(again, fixed, NOW + timedelta(days=1))
    text = again.replace('city = "Lyon"', 'city = "Lyon"\nstatus = "cancelled"')
    cancelled = publish(text, twice, NOW + timedelta(days=2))
    titles = {e.id.rsplit("#", 1)[-1]: plain(e.title) for e in entries(cancelled)}
    assert titles["revision-1"].startswith(
        "Nouvelle date : Série n° 1 : Lyon, mercredi 23 juin 2021, 9 h 15 – 11 h (au lieu du "
        "mercredi 16 juin")
    assert titles["revision-3"].startswith(
        "Nouvelle date : Série n° 1 : Lyon, mercredi 30 juin 2021, 9 h 30 – 11 h (au lieu du "
        "mercredi 23 juin 2021 à 9 h 15)")
    assert titles["revision-4"].startswith("Annulé : Série n° 1 : Lyon, mercredi 30 juin")
    changes = sorted(k for k in titles if "revision" in k)
    assert changes == ["revision-1", "revision-3", "revision-4"]  # the fix (2) made no entry


def test_cancelling_is_status_alone() -> None:
    first = publish(BASE)
    text = BASE.replace('city = "Nantes"', 'city = "Nantes"\nstatus = "cancelled"')
    cancelled = publish(text, first, datetime(2021, 7, 2, 9, tzinfo=UTC))  # after its announcement
    event = events(cancelled)["nantes@agenda.example.org"]
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    titles = [plain(e.title) for e in entries(cancelled) if "#revision-" in e.id]
    assert titles == ["Annulé : Série n° 2 : Nantes, mercredi 21 juillet 2021, 8 h 45 – 10 h 15"]


def test_a_typo_fix_raises_sequence_quietly() -> None:
    first = publish(BASE)
    fixed = publish(BASE.replace("sur la ville", "sur la métropole"), first)
    assert sequence(fixed, "lyon") == 1
    assert "métropole" in str(events(fixed)["lyon@agenda.example.org"]["DESCRIPTION"])
    assert [e for e in entries(fixed) if "#revision-" in e.id] == []


def test_speakers_and_replay_are_announced() -> None:
    first = publish(BASE)
    speakers = publish(BASE.replace("Anne Martin", "Anne Durand"), first)
    later = NOW + timedelta(days=20)
    replay = publish(
        BASE.replace("Anne Martin", "Anne Durand").replace(
            'city = "Lyon"', 'city = "Lyon"\nreplay_url = "https://video.example.org/lyon"'
        ),
        speakers, later,
    )
    assert sequence(replay, "lyon") == 2
    description = str(events(replay)["lyon@agenda.example.org"]["DESCRIPTION"])
    assert "Revoir la séance : https://video.example.org/lyon" in description
    titles = [e.title for e in entries(replay) if "#revision-" in e.id]
    assert [t.split("\u00a0: ")[0] for t in titles] == ["Replay disponible", "Intervenants"]


def test_an_edit_that_changes_nothing_visible_makes_no_revision() -> None:
    first = publish(BASE)
    again = publish("# a comment\n" + BASE, first)
    assert again.number == 2
    assert again.history.sessions == first.history.sessions


def test_dropping_a_published_session_is_refused_with_the_way_out() -> None:
    first = publish(BASE)
    dropped = BASE[: BASE.index("[[sessions]]\nid = \"nantes\"")]
    with pytest.raises(ScheduleError) as caught:
        publish(dropped + "\n", first)
    (problem,) = caught.value.problems
    assert problem.where == "séance « nantes »"
    assert 'status = "cancelled"' in problem.message
    assert "agenda publish --withdraw nantes" in problem.message


def test_withdrawing_on_purpose_then_publishing_again_keeps_the_uid() -> None:
    first = publish(BASE)
    dropped = BASE[: BASE.index("[[sessions]]\nid = \"nantes\"")]
    gone = publish(dropped, first, withdraw=("nantes",))
    assert set(events(gone)) == {"lyon@agenda.example.org"}
    back = publish(BASE, gone, NOW + timedelta(days=1))
    assert sequence(back, "nantes") == 1
    assert set(events(back)) == set(events(first))


def test_a_published_session_cannot_lose_its_date() -> None:
    first = publish(BASE)
    undated = BASE.replace(
        "start = 2021-07-21T08:45:00\nend = 2021-07-21T10:15:00\n", ""
    )
    with pytest.raises(ScheduleError) as caught:
        publish(undated, first)
    assert caught.value.problems[0].field == "start"


def test_every_prefix_of_a_published_file_is_refused(tmp_path: Path) -> None:
    raw = (Path(__file__).parent.parent / "data" / "sessions.toml").read_bytes()
    published = first_version(raw, "sessions.toml")
    for end in range(len(raw)):
        with pytest.raises(ScheduleError):
            next_version(published, raw[:end], "sessions.toml", NOW)


def test_older_files_revision_fields_seed_the_history() -> None:
    text = BASE.replace(
        'city = "Nantes"',
        'city = "Nantes"\nsequence = 2\nupdated = 2021-07-05T10:00:00\n'
        "previous_start = 2021-07-14T08:45:00",
    )
    version = first_version(text.encode(), "old.toml")
    event = events(version)["nantes@agenda.example.org"]
    assert int(event["SEQUENCE"]) == 2
    assert event.decoded("DTSTAMP") == datetime(2021, 7, 5, 8, 0, tzinfo=UTC)
    (change,) = [e for e in entries(version) if "#revision-" in e.id]
    assert plain(change.title).endswith("(au lieu du mercredi 14 juillet 2021 à 8 h 45)")


def test_older_files_former_start_on_the_night_clocks_go_back_ends_as_long_after() -> None:
    # The former end was the former start plus the duration on the wall clock: from 1:45
    # (summer time) on 31 October 2021, 90 minutes read 3:15 (winter time), 2 h 30 later.
    text = BASE.replace('city = "Nantes"', 'city = "Nantes"\nsequence = 1\n'
                        "updated = 2021-07-05T10:00:00\nprevious_start = 2021-10-31T01:45:00")
    version = first_version(text.encode(), "old.toml")
    nantes = version.schedule.session("nantes")
    assert nantes is not None and nantes.duration == timedelta(minutes=90)
    document = json.loads(json_api.session_bytes(version.schedule, nantes))
    (moved,) = [c for c in document["changes"] if c["previous_end"]]
    start, end = (datetime.fromisoformat(moved[k]) for k in ("previous_start", "previous_end"))
    assert start == datetime(2021, 10, 31, 1, 45, tzinfo=ZoneInfo("Europe/Paris"))
    assert end - start == nantes.duration  # instants: elapsed time, whatever the offsets


def test_page_and_json_show_the_change_log_and_the_replay() -> None:
    first = publish(BASE)
    later = NOW + timedelta(days=30)
    replayed = moved_text().replace(
        'city = "Lyon"', 'city = "Lyon"\nreplay_url = "https://video.example.org/lyon"'
    )
    version = publish(replayed, publish(moved_text(), first), later)
    session = version.schedule.session("lyon")
    assert session is not None
    page = lxml.html.fromstring(html.session_page(version.schedule, session, later))
    history = [plain(li.text_content()) for li in page.xpath("//section[h2='Historique']//li")]
    assert history == [
        "1er juin 2021 : annonce",
        "10 juin 2021 : nouvelle date (au lieu du mercredi 16 juin 2021 à 8 h 45)",
        "10 juillet 2021 : replay disponible",
    ]
    (replay,) = page.xpath("//a[normalize-space()='Revoir la séance']")
    assert replay.get("href") == "https://video.example.org/lyon"
    (ld,) = page.xpath("//script[@type='application/ld+json']")
    assert json.loads(ld.text)["recordedIn"]["url"] == "https://video.example.org/lyon"
    document = json.loads(json_api.session_bytes(version.schedule, session))
    assert [c["sequence"] for c in document["changes"]] == [0, 1, 2]
    assert [c["news"] for c in document["changes"]] == [[], ["rescheduled"], ["replay"]]
    assert document["changes"][1]["previous_start"] == "2021-06-16T08:45:00+02:00"
    assert document["replay_url"] == "https://video.example.org/lyon"
    assert document["sequence"] == 2


@pytest.mark.parametrize("render", [feeds.rss_bytes, feeds.atom_bytes])
def test_a_change_entry_says_the_session_changed_since_when_its_body_is_newer(render) -> None:
    # « Nouvelle date : 23 juin » then cancelled: the first change entry's body shows the
    # session as it is now (cancelled), which its title does not; it says so, the newest not.
    first = publish(BASE, None)
    moved = publish(moved_text(), first, NOW)
    off = moved_text().replace('city = "Lyon"', 'city = "Lyon"\nstatus = "cancelled"')
    cancelled = publish(off, moved, NOW + timedelta(hours=1))
    schedule = cancelled.schedule
    parsed = feedparser.parse(render(schedule, schedule.sessions, None, NOW + timedelta(days=1)))
    changes = {e.title.split("\u00a0: ")[0]: lxml.html.fromstring(e.content[0].value).text_content()
               for e in parsed.entries if "#revision-" in e.id}
    assert sorted(changes) == ["Annulé", "Nouvelle date"]
    assert "Séance annulée" in changes["Nouvelle date"]
    assert "changé depuis" in changes["Nouvelle date"]
    assert "changé depuis" not in changes["Annulé"]


@pytest.mark.parametrize("render", [feeds.rss_bytes, feeds.atom_bytes])
def test_a_change_entry_says_so_when_a_quiet_edit_came_after_it(render) -> None:
    """Cancelled, then moved to another city (a quiet edit): « Annulé : … Aix-en-Provence »
    showed a body of Aix-en-Provence with nothing to tell that it was Lyon's then."""
    first = publish(BASE, None)
    off = BASE.replace('city = "Lyon"', 'city = "Lyon"\nstatus = "cancelled"')
    cancelled = publish(off, first, NOW)
    elsewhere = publish(off.replace('city = "Lyon"', 'city = "Aix-en-Provence"'), cancelled,
                        NOW + timedelta(hours=1))
    for version, told in ((cancelled, False), (elsewhere, True)):
        schedule = version.schedule
        later = NOW + timedelta(days=1)
        parsed = feedparser.parse(render(schedule, schedule.sessions, None, later))
        (change,) = [e for e in parsed.entries if "#revision-" in e.id]
        assert change.title.startswith("Annulé\u00a0: ")
        body = lxml.html.fromstring(change.content[0].value).text_content()
        assert ("changé depuis" in body) is told



DATED = 'city = "Nantes"\nstart = 2021-07-21T08:45:00\nend = 2021-07-21T10:15:00\n'
NANTES, TOLD = DATED + "announced = 2021-07-01\n", DATED + "announced = 2021-06-11\n"


@pytest.mark.parametrize("before", [
    'city = "Nantes"\n',  # undated, then dated and announced in one publication
    DATED + 'status = "tentative"\nupdated = 2021-06-05\n',  # tentative, then confirmed, told
])
def test_news_announced_with_its_session_is_one_entry(before: str) -> None:
    """A change published with the session's announcement is in the announcement: a reader (an
    RSS-to-e-mail service) gets one item, and the JSON says the feeds told no change."""
    first = publish(BASE.replace(NANTES, before))
    at = NOW + timedelta(days=1)
    told = publish(BASE.replace(NANTES, TOLD), first, at)
    later = publish(BASE.replace(NANTES, TOLD.replace("T08:45", "T09:00")), told,
                    at + timedelta(days=1))

    def nantes_items(version: Version) -> list[str]:
        parsed = feedparser.parse(feeds.rss_bytes(version.schedule, version.schedule.sessions))
        assert parsed.bozo == 0
        return [e.id for e in parsed.entries if "/events/nantes" in e.id]

    def nantes_news(version: Version) -> list[list[str]]:
        document = json.loads(json_api.events_bytes(version.schedule, at + timedelta(days=2)))
        (session,) = [s for s in document["sessions"] if s["id"] == "nantes"]
        return [c["news"] for c in session["changes"] if c["news"]]

    assert [r.news for r in told.schedule.session("nantes").revisions if r.at == at] != [()]
    assert len(nantes_items(told)) == 1
    assert nantes_news(told) == []
    # A change after the announcement is news: the feed has it too, and the JSON says so.
    assert len(nantes_items(later)) == 2
    assert nantes_news(later) == [["rescheduled"]]


SEVERAL_TEXT = (Path(__file__).parent / "fixtures" / "several_sessions.toml").read_bytes()


@pytest.mark.parametrize("edits", [
    [(b"Le jour o\xc3\xb9 l\xe2\x80\x99on avance", b"Le jour o\xc3\xb9 l\xe2\x80\x99on recule")],
    [(b"start = 2021-10-31T09:00:00", b"start = 2021-10-31T08:00:00"),
     (b"on recule l\xe2\x80\x99heure", b"on recule d\xe2\x80\x99une heure")],
    [(b'title = "Une s\xc3\xa9ance annul\xc3\xa9e"', b'title = "Une autre s\xc3\xa9ance"'),
     (b'city = "Tours"', b'city = "Blois"')],
    [(b'timezone = "Europe/Paris"', b'timezone = "Europe/Brussels"')],
])
def test_a_version_reusing_the_sessions_of_the_one_before_is_the_version_made_anew(
    edits: list[tuple[bytes, bytes]],
) -> None:
    """A publication reuses the sessions the version before read and revised alike (their
    derived fields, times in the calendar's zone): the very schedule made from the text and
    history alone, as any process reading the published file makes it."""
    version = first_version(SEVERAL_TEXT, "several.toml")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for number, (old, new) in enumerate(edits):
        assert old in version.raw
        version, _ = next_version(version, version.raw.replace(old, new, 1), "several.toml",
                                  now + timedelta(days=number))
        alone = make_version(version.raw, version.history, "several.toml")
        assert version.schedule == alone.schedule
        assert repr(version.schedule.sessions) == repr(alone.schedule.sessions)  # every field


def test_sessions_read_alike_but_revised_anew_are_not_reused(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """A release whose fingerprints differ revises every session of the same text: each shows
    its new SEQUENCE and revision, not the version before's (read from its file, as it reads it)."""
    first = make_version(SEVERAL_TEXT, first_version(SEVERAL_TEXT, "x").history, "several.toml")
    digest = history.fingerprint
    monkeypatch.setattr(history, "fingerprint", lambda view: "autre " + digest(view))
    version, changes = next_version(first, first.raw + b"# fin\n", "several.toml",
                                    datetime(2030, 1, 1, tzinfo=UTC))
    assert changes and all(s.sequence > 0 for s in version.schedule.sessions if s.is_dated)
    alone = make_version(version.raw, version.history, "several.toml")
    assert repr(version.schedule.sessions) == repr(alone.schedule.sessions)


def test_a_version_revised_here_keeps_the_fingerprints_of_the_sessions_it_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After a version this process revised, an edit digests the sessions it changed alone (the
    others are the very objects that version read and digested); after the same version read from
    its file (another release may have digested it), every session again. Both publish alike."""
    made = first_version(SEVERAL_TEXT, "several.toml")
    read = make_version(made.raw, made.history, "several.toml")  # as a process starting reads it
    edited = made.raw.replace("l’on avance".encode(), "l’on recule".encode(), 1)
    digest, titles = history.fingerprint, list[str]()
    monkeypatch.setattr(history, "fingerprint", lambda view: digest(view) if "title" not in view
                        else titles.append(view["title"]) or digest(view))  # sessions', not plans'
    outcomes, digested = [], []
    for before in (made, read):
        titles.clear()
        version, changes = next_version(before, edited, "several.toml", NOW)
        outcomes.append((repr(version.schedule), version.history, changes))
        digested.append(list(titles))
    assert digested == [["Le jour où l’on recule l’heure"],
                        [s.title for s in version.schedule.sessions]]
    assert outcomes[0] == outcomes[1]
