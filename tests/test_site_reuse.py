"""A folder built from the previous one is the folder built from nothing, byte for byte.

A build reuses (hard-links) every file whose key did not change. A key that misses one
of its document's inputs serves stale bytes for ever, and no test of one edit would see
it unless it looked at that very document. Here generated sequences of edits, each
published, and moments passing session ends and announcements, are built both ways; the
two folders must hold the same files with the same bytes, dates and manifest entries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import tempfile
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from agenda import site
from agenda.errors import ScheduleError
from agenda.model import Schedule, Session
from agenda.published import Version, first_version, next_version
from agenda.render import cards, html
from agenda.render.cards import session_card
from tests.conftest import LYON, SEVERAL

RAW = SEVERAL.read_text(encoding="utf-8")
TOUR = '\n[[series]]\nid = "tour-des-villes"\ntitle = "Tour des Villes"\n'

# Edits of the fixture, each a replacement of a text it holds (skipped once gone), reaching
# every kind of input: a session's own fields, its city or series, the calendar, the
# contacts, the series, the announcements, the time zone, sessions added and withdrawn.
EDITS: dict[str, tuple[str, str]] = {
    "retitle": ("Le jour où l’on avance l’heure", "Le jour où l’on avance enfin l’heure"),
    "move": ("start = 2021-10-31T09:00:00\nend = 2021-10-31T10:30:00",
             "start = 2021-11-07T09:00:00\nend = 2021-11-07T10:30:00"),
    "other city": ('city = "L’Haÿ-les-Roses"', 'city = "Tours"'),
    "other series": ('city = "Lille"', 'city = "Lille"\nseries = "essais"'),
    "cancel": ('city = "Saint-Étienne"', 'city = "Saint-Étienne"\nstatus = "cancelled"'),
    "calendar": ('name = "Agenda d’essai"', 'name = "Agenda d’essai bis"'),
    "contact": ('phone = "01 23 45 67 89"', 'phone = "01 98 76 54 32"'),
    "series text": ("Une série pour les tests.", "Une série pour les tests, revue."),
    "announce later": ("announced = 2021-05-20", "announced = 2021-06-10"),
    "video public": ("video_public = false", "video_public = true"),
    "time zone": ('timezone = "Europe/Paris"', 'timezone = "Europe/Brussels"'),
    "base url": ('base_url = "https://agenda.example.org"',
                 'base_url = "https://www.agenda.example.org"'),
    "speaker": ("Bernard Exemple", "Bernadette Exemple"),
    "add": ("[[sessions]]", TOUR.lstrip("\n") + LYON.lstrip("\n") + "\n[[sessions]]"),
}
FEEDS = ("calendar.ics", "rss.xml", "atom.xml")
# From before the first session to after the last: sessions end, announcements come due.
START = datetime.fromisoformat("2021-02-15T12:00:00+01:00")
MOMENTS = st.integers(0, 80).map(lambda weeks: START + timedelta(weeks=weeks))
STEPS = st.lists(st.tuples(st.sampled_from([*EDITS, "withdraw", "rename series", "none"]),
                           st.booleans(),
                           MOMENTS), min_size=1, max_size=4).map(
    lambda steps: sorted(steps, key=lambda step: step[2]))  # the clock moves forward


def _publish(version: Version, step: str, correction: bool, at: datetime) -> Version:
    raw = version.raw.decode("utf-8")
    withdraw: tuple[str, ...] = ()
    if step == "withdraw" and 'id = "provisoire"' in raw:
        withdraw = ("provisoire",)
        raw = raw.replace(raw[raw.index('id = "provisoire"') - len("[[sessions]]\n"):
                              raw.index('id = "sans-date"') - len("[[sessions]]\n")], "")
    elif step == "rename series":  # the series and its sessions: its old id is gone
        raw = raw.replace('"autres"', '"rencontres"')
    elif step in EDITS:
        old, new = EDITS[step]
        raw = raw.replace(old, new, 1)
    try:
        return next_version(version, raw.encode("utf-8"), "sessions.toml", at, withdraw,
                            correction or None)[0]
    except ScheduleError:  # an edit the earlier ones made invalid: not published
        return version


def _files(built: site.Site) -> dict[str, tuple[bytes, int | None]]:
    """Each file's bytes, and its modification time where static hosts take it for the
    document's date (elsewhere it is when the file was written); not the changes from the
    folder it was built from (`site.CHANGES`), which one built from nothing has not."""
    dated = {e.file + suffix for e in built.entries.values() if e.modified is not None
             for suffix in ("", *(site.SIBLINGS[c] for c in e.codings))}
    return {name: (p.read_bytes(), p.stat().st_mtime_ns if name in dated else None)
            for p in built.folder.rglob("*") if p.is_file() and p.name != site.CHANGES
            for name in [p.relative_to(built.folder).as_posix()]}


@given(STEPS)
# Two publications in a period, of a schedule dated ahead (an `updated` of 2022): Last-Modified,
# held back to a moment, moves on with the second all the same.
@example([(step, False, START + timedelta(weeks=2)) for step in ("retitle", "video public")])
def test_a_folder_built_from_the_previous_one_is_the_folder_built_from_nothing(
    steps: list[tuple[str, bool, datetime]],
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        version = first_version(RAW.encode("utf-8"), "sessions.toml")
        before = first = site.build(version, START, root / "0", workers=1)
        for number, (step, correction, week) in enumerate(steps, start=1):
            at = week + timedelta(minutes=number)  # published, then built, one after another
            version = _publish(version, step, correction, at)
            if number % 2:  # every other build starts from a spare, made ahead of it
                site.prepare(before)
            served = _files(before)
            built = site.build(version, at, root / f"{number}", before, workers=1)
            fresh = site.build(version, at, root / f"fresh-{number}", workers=1)
            assert built.entries == fresh.entries, step
            # A process serving `before` reads what changed alone; one serving another folder
            # (older, or built from nothing) reads it whole: the same folder either way.
            whole = site.read_site(built.folder)
            assert whole == built, step
            for like in (before, first, fresh):
                assert site.read_site(built.folder, like) == whole, step
            assert _files(built) == _files(fresh), step
            assert _files(before) == served, step  # the folder served: never written through
            for path, page in (("/", html.agenda_page), ("/embed", html.embed_page)):
                assert (built.folder / site.file_for(path)).read_bytes() == page(
                    version.schedule, built.built_for), (step, path)  # its parts: its lines
            # And a client that revalidates by date alone (If-Modified-Since) gets the new
            # bytes: a document whose bytes changed has a later Last-Modified.
            for path, entry in built.entries.items():
                was = before.entries.get(path)
                if was is not None and was.etag != entry.etag and was.modified is not None:
                    assert entry.modified is not None and parsedate_to_datetime(entry.modified) \
                        > parsedate_to_datetime(was.modified), (step, path)
            # A feed once published keeps answering (empty when its series or city is gone):
            # at a 404, calendar apps keep the events it had for ever. So does a session's
            # page (saying it was withdrawn): links to it are in newsletters, on other sites.
            kept = {p for p in before.entries if p.rsplit("/", 1)[-1] in FEEDS
                    or re.fullmatch(r"/events/[^/.]+", p)}
            assert kept <= built.entries.keys(), (step, kept - built.entries.keys())
            before = built


def test_the_prints_of_the_very_sessions_of_the_folder_before_follow_their_calendar() -> None:
    """A build keeps the fingerprints of the sessions that are the very objects of the folder
    before (the loader and history reuse them), not under a calendar that changed (its name is
    on every page)."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        version = first_version(RAW.encode("utf-8"), "sessions.toml")
        before = site.build(version, START, root / "0", workers=1)
        calendar = dataclasses.replace(version.schedule.calendar, name="Un autre nom")
        renamed = dataclasses.replace(version, digest="0" * 64, schedule=dataclasses.replace(
            version.schedule, calendar=calendar))  # another text (digest), the very sessions
        built = site.build(renamed, START, root / "1", before, workers=1)
        assert _files(built) == _files(site.build(renamed, START, root / "2", workers=1))


def test_a_build_from_a_spare_stopped_midway_leaves_the_folder_served_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A spare is the folder served, linked: a build that wrote into its files, not over them,
    # would change the folder served, and one stopped midway must leave no spare behind.
    version = first_version(RAW.encode("utf-8"), "sessions.toml")
    before = site.build(version, START, tmp_path / "0", workers=1)
    site.prepare(before)
    served = _files(before)
    edited = _publish(version, "retitle", False, START + timedelta(days=1))

    def fails(*args: object) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cards, "agenda_card", fails)  # a shared document: after the sessions'
    with pytest.raises(OSError):
        site.build(edited, START + timedelta(days=1), tmp_path / "1", before, workers=1)
    assert _files(before) == served
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0"]
    monkeypatch.undo()
    built = site.build(edited, START + timedelta(days=1), tmp_path / "1", before, workers=1)
    fresh = site.build(edited, START + timedelta(days=1), tmp_path / "fresh", workers=1)
    assert _files(built) == _files(fresh) and _files(before) == served


def test_an_edit_serializes_the_json_document_of_the_session_edited_alone(monkeypatch) -> None:
    # /events.json is made of the sessions' /events/<id>.json, as the calendars are of their
    # VEVENTs: a session's document is serialized once a build, and an edit of one session
    # serializes one, not one per session.
    from agenda.render import json_api

    made: list[str] = []
    document = json_api.session_document
    monkeypatch.setattr(json_api, "session_document", lambda schedule, s, now=None: (
        made.append(s.id) or document(schedule, s, now)))
    with tempfile.TemporaryDirectory() as scratch:
        version = first_version(RAW.encode("utf-8"), "sessions.toml")
        at = START + timedelta(weeks=60)  # after every date the file holds: none clamped
        before = site.build(version, at, Path(scratch) / "0", workers=1)
        assert sorted(made) == sorted(s.id for s in version.schedule.sessions)  # once each
        made.clear()
        at += timedelta(minutes=1)
        edited = _publish(version, "retitle", False, at)
        built = site.build(edited, at, Path(scratch) / "1", before, workers=1)
        assert made == ["printemps"], made
        whole = json.loads((built.folder / "events.json").read_bytes())
        assert whole["sessions"] == [json.loads((built.folder / f"events/{s['id']}.json")
                                                .read_bytes()) for s in whole["sessions"]]



def test_an_edit_renders_the_event_and_list_lines_of_the_session_edited_alone(monkeypatch) -> None:
    # The calendars, the agenda and /embed are made of each session's part (its VEVENT, its
    # lines), as /events.json is of its JSON: an edit of one session renders that one's alone.
    from agenda.render import html, ical

    made: list[str] = []
    for module, name in ((ical, "event_bytes"), (html, "_view")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda calendar, s, *rest, real=real: (
            made.append(s.id) or real(calendar, s, *rest)))
    with tempfile.TemporaryDirectory() as scratch:
        version = first_version(RAW.encode("utf-8"), "sessions.toml")
        at = START + timedelta(weeks=60)
        before = site.build(version, at, Path(scratch) / "0", workers=1)
        made.clear()
        at += timedelta(minutes=1)
        edited = _publish(version, "retitle", False, at)
        site.build(edited, at, Path(scratch) / "1", before, workers=1)
        assert set(made) == {"printemps"}, made

def test_an_edit_encodes_the_manifest_lines_of_the_entries_it_changed_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    # Encoding the 90,000 lines of a manifest at 10,000 sessions took 0.22 s of each edit: the
    # lines of the entries reused are copied from the manifest of the folder built from. Never
    # from a manifest cut short, nor from another file put in its place.
    encoded: list[str] = []
    real = site.Entry.line
    monkeypatch.setattr(site.Entry, "line", lambda e, k: encoded.append(e.path) or real(e, k))
    version = first_version(RAW.encode("utf-8"), "sessions.toml")
    at = START + timedelta(weeks=60)
    before = site.build(version, at, tmp_path / "0", workers=1)
    at += timedelta(minutes=1)
    edited = _publish(version, "retitle", False, at)
    fresh = site.build(edited, at, tmp_path / "fresh", workers=1)
    old = before.folder / site.MANIFEST
    text = old.read_bytes()
    lines = text.splitlines(keepends=True)
    for number, damage in enumerate((None, len(text) // 2, len(text) - 1, "shifted", "replaced")):
        if damage == "replaced":  # the same bytes, another file: not the manifest `before` read
            (tmp_path / "other").write_bytes(text)
            os.replace(tmp_path / "other", old)
        elif damage == "shifted":  # a line lost in place: the next ones are not their URLs'
            old.write_bytes(b"".join(lines[:10] + lines[11:]))
        elif damage is not None:  # cut short in place (a disk full)
            old.write_bytes(text[:damage])
        encoded.clear()
        built = site.build(edited, at, tmp_path / f"{number + 1}", before, workers=1)
        assert (built.folder / site.MANIFEST).read_bytes() == \
            (fresh.folder / site.MANIFEST).read_bytes(), damage
        changed = {path for path, entry in built.entries.items()
                   if before.entries.get(path) is not entry}
        assert 0 < len(changed) < len(built.entries) / 2
        assert set(encoded) == {None: changed, "replaced": built.entries.keys()}.get(
            damage, set(encoded) | changed), damage  # (the lines after a cut: encoded too)


@pytest.mark.parametrize(("weeks", "cut", "compared"), [
    (60, ("events/automne.json", "_parts/sessions/automne.part"),  # parts of whole documents
     ("events.json", "calendar.ics", "series/essais/calendar.ics")),
    (2, ("events/automne.html", "events/automne.png"),  # dated anew: their bytes are taken
     ("events/automne.html", "events/automne.png")),
])
def test_a_file_cut_short_in_the_previous_folder_is_never_copied(
    weeks: int, cut: tuple[str, ...], compared: tuple[str, ...],
) -> None:
    # A file cut short in the folder served (a disk full, a power cut) is served by nobody: the
    # app builds its folder anew. The next build must neither copy it into /events.json or the
    # feeds, nor take it as the bytes of a document whose date alone moves (before the dates
    # the file holds, documents are dated by the period's start, which a publication moves).
    with tempfile.TemporaryDirectory() as scratch:
        version = first_version(RAW.encode("utf-8"), "sessions.toml")
        at = START + timedelta(weeks=weeks)
        before = site.build(version, at, Path(scratch) / "0", workers=1)
        for name in cut:
            (before.folder / name).write_bytes((before.folder / name).read_bytes()[:40])
        at += timedelta(minutes=1)
        edited = _publish(version, "retitle", False, at)
        built = site.build(edited, at, Path(scratch) / "1", before, workers=1)
        fresh = site.build(edited, at, Path(scratch) / "2", workers=1)
        for name in compared:
            assert (built.folder / name).read_bytes() == (fresh.folder / name).read_bytes(), name


def test_a_publication_draws_again_only_the_cards_of_the_sessions_it_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sessions announced ahead are dated by the moment their folder holds from (`_clamped`):
    # a publication, a new moment, moves their Last-Modified but not their bytes. Every one of
    # their cards was drawn again at each publication (and each « Aperçu » of the desk): 5 to 8
    # seconds at 1,000 sessions.
    drawn: list[str] = []

    def card(schedule: Schedule, session: Session, now: datetime) -> bytes:
        drawn.append(session.id)
        return session_card(schedule, session, now)

    monkeypatch.setattr(cards, "session_card", card)
    version = first_version(RAW.encode("utf-8"), "sessions.toml")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        before = site.build(version, START, root / "0", workers=1)
        drawn.clear()
        at = START + timedelta(weeks=1)
        version = _publish(version, "retitle", False, at)
        after = site.build(version, at, root / "1", before, workers=1)
        assert drawn == ["printemps"]  # retitled
        # Those dated anew are, with their new date, the files a build from nothing makes.
        fresh = site.build(version, at, root / "fresh", workers=1)
        assert after.entries == fresh.entries
        assert _files(after) == _files(fresh)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/Caracas", "Asia/Tokyo"])
def test_each_vtimezone_made_once_for_its_window_gives_every_calendar_its_offsets(
    monkeypatch, zone: str
) -> None:
    # A build makes each VTIMEZONE once for all the calendars of one window (vtimezone.Window: a
    # zone and the years it describes). A window short of an input would hand a calendar the
    # VTIMEZONE of another: here cities and sessions of other years, across a new year, in zones
    # with summer time (under other rules in 1995), with one-off changes (Caracas, 2007 and
    # 2016) and with none. Every calendar's own VTIMEZONE, read by icalendar, must give its
    # events zoneinfo's offsets.
    later = "\n".join(f'[[sessions]]\nid = "lille-{year}"\nseries = "autres"\ncity = "{city}"\n'
                      f"start = {year}-{day}T08:45:00\nend = {year}-{day}T10:15:00\n"
                      "announced = 1995-01-01\n"
                      for year, day, city in ((1995, "10-10", "Lille"), (2016, "12-31", "Lille"),
                                              (2017, "01-01", "Brest"), (2023, "06-14", "Lille"),
                                              (2090, "03-01", "Brest")))
    text = RAW.replace('timezone = "Europe/Paris"', f'timezone = "{zone}"') + "\n" + later
    version = first_version(text.encode("utf-8"), "sessions.toml")
    made: list[tuple[object, ...]] = []
    from_window = site.vtimezone.from_window
    monkeypatch.setattr(site.vtimezone, "from_window", lambda *a: made.append(a) or from_window(*a))
    with tempfile.TemporaryDirectory() as scratch:
        built = _files(site.build(version, START, Path(scratch) / "0", workers=1))
    calendars = [icalendar.Calendar.from_ical(body) for name, (body, _) in built.items()
                 if name.endswith(".ics")]
    assert len({a[:2] for a in made}) == len(made) < len(calendars)  # once a window
    wrong, rules = [], ZoneInfo(zone)
    for calendar in calendars:
        (own,) = (tz.to_tz(lookup_tzid=False) for tz in calendar.walk("VTIMEZONE"))
        for event in calendar.walk("VEVENT"):
            wall = event.decoded("DTSTART").replace(tzinfo=None)
            if wall.replace(tzinfo=own).utcoffset() != wall.replace(tzinfo=rules).utcoffset():
                wrong.append((str(event["UID"]), wall))
    assert wrong == []


def test_a_build_works_out_the_zone_changes_of_the_years_no_build_before_it_did_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    # A zone's changes take 1.5 to 4 ms a year to work out: 0.13 s of each edit of 10,000
    # sessions over 82 years. A build takes those of the years the build before it worked out
    # (the same for a release); a new year or zone is worked out, and every file is the one a
    # build from nothing makes.
    from agenda.render import ical

    worked: list[tuple[str, int]] = []
    real = ical.transitions
    monkeypatch.setattr(ical, "transitions", lambda z, y: worked.append((z.key, y)) or real(z, y))
    version = first_version(RAW.encode("utf-8"), "sessions.toml")
    at = START + timedelta(weeks=60)
    built = site.build(version, at, tmp_path / "0", workers=1)
    seen = set(worked)
    later = (EDITS["move"][0], EDITS["move"][0].replace("2021", "2031"))  # years no build had
    for step, edit in (("retitle", EDITS["retitle"]), ("later", later),
                       ("time zone", EDITS["time zone"])):
        at += timedelta(minutes=1)
        raw = version.raw.decode("utf-8").replace(*edit)
        version = next_version(version, raw.encode("utf-8"), "sessions.toml", at)[0]
        worked.clear()
        built = site.build(version, at, tmp_path / step, built, workers=1)
        assert len(worked) == len(set(worked)) and not seen & set(worked), step
        assert bool(worked) == (step != "retitle"), step
        seen |= set(worked)
        assert _files(built) == _files(site.build(version, at, tmp_path / f"{step}-0", workers=1))


@pytest.mark.parametrize("step", ["retitle", "withdraw", "add", "calendar"])
def test_a_folder_read_from_the_folder_it_was_built_from_is_the_folder_read_whole(
    tmp_path: Path, step: str,
) -> None:
    # A worker switching folders after an edit read the whole manifest (80,000 lines, 0.55 to
    # 0.9 s at 10,000 sessions) to find a few dozen entries changed: it reads those alone. A
    # changes file cut short (a disk full, a power cut) is never taken for fewer changes.
    version = first_version(RAW.encode("utf-8"), "sessions.toml")
    at = START + timedelta(weeks=60)  # after every date the file holds: none clamped
    before = site.build(version, at, tmp_path / "0", workers=1)
    edited = _publish(version, step, False, at + timedelta(minutes=1))
    built = site.build(edited, at + timedelta(minutes=1), tmp_path / "1", before, workers=1)
    whole = site.read_site(built.folder)
    assert site.read_site(built.folder, before) == whole
    changes = (built.folder / site.CHANGES).read_bytes()
    # Its lines: the entries that differ from `before`'s, no other.
    assert {json.loads(line)[0] for line in changes.splitlines()[1:]} == \
        {path for path, entry in whole.entries.items() if before.entries.get(path) != entry}
    cuts = sorted({0, *(i + d for i, c in enumerate(changes) if c == ord("\n") for d in (-2, 1))})
    for cut in cuts:
        (built.folder / site.CHANGES).write_bytes(changes[:cut])
        with contextlib.suppress(site.SiteError):
            assert site.read_site(built.folder, before) == whole, (step, cut)
    # A folder built anew in the place of `before`, of another version: another origin, though
    # of the same name, whose changes are not `before`'s.
    (built.folder / site.CHANGES).write_bytes(changes)
    again = site.build(_publish(version, "speaker", False, at), at, before.folder, workers=1)
    assert again.folder == before.folder and again.entries != before.entries
    other = site.build(edited, at + timedelta(minutes=1), tmp_path / "2", again, workers=1)
    assert site.read_site(other.folder, before) == site.read_site(other.folder)
    assert site.read_site(other.folder, again) == site.read_site(other.folder)
    # A manifest cut short is no folder, whatever the changes beside it say.
    manifest = built.folder / site.MANIFEST
    manifest.write_bytes(manifest.read_bytes()[:-10])
    with pytest.raises(site.SiteError):
        site.read_site(built.folder, before)
