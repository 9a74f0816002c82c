"""Safe to run unattended (issue 16): the history never goes back, clocks that jump, writes
that fail for a while, and logs that say each thing once.

A store runs on a copy of a schedule and its published history; the tests put an
older history back, delete or damage it, step the clock, take the folder away,
and read what is served, what is written and what /healthz is told.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import icalendar
import pytest
from click.testing import CliRunner

from agenda import create_app
from agenda import store as store_module
from agenda.cli import main
from agenda.published import PublishedError, from_json, mark_path, publish, published_path
from agenda.render import ical
from agenda.store import VersionStore
from tests.conftest import ROOT, SEVERAL


class Clock:
    """A clock the test sets: the store reads it at each publication."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def folder_with_history(tmp_path: Path) -> Path:
    """A schedule with its committed history (version 1) in a folder of its own."""
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    shutil.copyfile(published_path(SEVERAL), published_path(path))
    return path


def edit(path: Path, old: str, new: str) -> None:
    """Replace text in the schedule and move its modification time on (a new save)."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def sequences(store: VersionStore) -> dict[str, int]:
    """SEQUENCE of each event of the served feed, read back with icalendar."""
    version = store.current()
    feed = icalendar.Calendar.from_ical(ical.feed_bytes(version.schedule,
                                                        version.schedule.sessions))
    return {str(e["UID"]): int(e["SEQUENCE"]) for e in feed.walk("VEVENT")}


def two_changes(tmp_path: Path) -> tuple[Path, VersionStore, bytes]:
    """A store after two changes of one session (SEQUENCE 2), and the history of version 1."""
    path = folder_with_history(tmp_path)
    first = published_path(path).read_bytes()
    store = VersionStore(path, watch=False, settle=0, clock=Clock(datetime(2026, 3, 1, tzinfo=UTC)))
    edit(path, "Saint-Étienne", "Roanne")
    store.poll()
    edit(path, "Roanne", "Vichy")
    store.poll()
    assert store.current().number == 3
    return path, store, first


def test_an_older_history_put_back_is_refused_and_never_built_on(tmp_path: Path) -> None:
    path, store, first = two_changes(tmp_path)
    before = sequences(store)
    assert max(before.values()) == 2
    published_path(path).write_bytes(first)  # a backup, a `git checkout`
    edit(path, "Vichy", "Moulins")
    for _ in range(3):
        store.poll()
    assert store.current().number == 3
    assert sequences(store) == before
    problem = store.alarms["history"]
    assert "plus ancien que la version 3" in problem
    assert "agenda publish --new-history" in problem and "remettez le fichier" in problem
    _, history = from_json(published_path(path).read_bytes(), "here")
    assert history.version == 1  # nothing was published on the old history
    # A restart refuses to serve it rather than serve SEQUENCE 1; `check` says why.
    with pytest.raises(PublishedError, match="plus ancien que la version 3"):
        VersionStore(path, watch=False, settle=0)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert "plus ancien que la version 3" in result.output


@pytest.mark.parametrize("elsewhere", [False, True], ids=["tar over the folder", "AGENDA_SITE"])
def test_a_data_folder_restored_whole_is_refused_while_newer_site_folders_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, elsewhere: bool,
) -> None:
    # A backup of the data folder taken at version 1 (its mark with it) put back whole once
    # version 3 was served: the mark looks current, but the site folder built from version 3
    # (beside it, as a tar extracted over the folder leaves it, or under AGENDA_SITE) says
    # what subscribers have; publishing on version 1 would give SEQUENCE 1 to calendars at 2.
    path = folder_with_history(tmp_path)
    site = tmp_path / "cache" if elsewhere else None
    if site is not None:
        monkeypatch.setenv("AGENDA_SITE", str(site))
    backup = {p: p.read_bytes() for p in (path, published_path(path))}
    VersionStore(path, watch=False, settle=0, site_root=site)  # version 1 served: marked
    backup[mark_path(published_path(path))] = mark_path(published_path(path)).read_bytes()
    store = VersionStore(path, watch=False, settle=0, site_root=site,
                         clock=Clock(datetime(2026, 3, 1, tzinfo=UTC)))
    edit(path, "Saint-Étienne", "Roanne")
    store.poll()
    edit(path, "Roanne", "Vichy")
    store.poll()
    seen = sequences(store)
    assert store.current().number == 3 and max(seen.values()) == 2
    for file, data in backup.items():  # the whole folder put back, site folders aside
        file.write_bytes(data)
    edit(path, "Saint-Étienne", "Moulins")
    store.poll()  # the service running meanwhile serves what it has, and publishes nothing
    assert store.current().number == 3 and sequences(store) == seen
    assert "plus ancien que la version 3" in store.alarms["history"]
    with pytest.raises(PublishedError, match="plus ancien que la version 3"):
        VersionStore(path, watch=False, settle=0, site_root=site)
    for command in (["check", str(path)], ["publish", str(path)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1, command
        assert "plus ancien que la version 3" in result.output
        assert "agenda publish --new-history" in result.output
    _, history = from_json(published_path(path).read_bytes(), "here")
    assert history.version == 1  # nothing was published on it
    result = CliRunner().invoke(main, ["publish", "--new-history", str(path)])
    assert result.exit_code == 0, result.output
    assert "historique confirmé à partir de la version 4" in result.output
    restarted = VersionStore(path, watch=False, settle=0, site_root=site)
    assert restarted.current().number == 4 and restarted.alarms == {}
    assert all(sequences(restarted)[uid] > sequence for uid, sequence in seen.items())


def test_a_first_version_served_unwritten_is_served_again_after_a_restart(tmp_path: Path) -> None:
    # A data folder that cannot be written (here: the published file's folder is missing): the
    # first version, the file's alone, is served and its site folder built all the same; that
    # folder is no history lost, and the next start serves the same version again.
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    published, site = tmp_path / "gone" / "sessions.published.json", tmp_path / "site"
    first = VersionStore(path, published=published, site_root=site, watch=False, settle=0)
    assert [p.name[:3] for p in site.glob("v*")] == ["v1-"]
    again = VersionStore(path, published=published, site_root=site, watch=False, settle=0)
    assert (again.current().number, again.current().digest) == (1, first.current().digest)
    assert "history" not in again.alarms
    result = CliRunner().invoke(main, ["check", str(path)], env={
        "AGENDA_PUBLISHED": str(published), "AGENDA_SITE": str(site)})
    assert result.exit_code == 0, result.output


def test_healthz_names_an_older_history_and_strict_answers_503(tmp_path: Path) -> None:
    path = folder_with_history(tmp_path)
    first = published_path(path).read_bytes()
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_WATCH": False,
                         "AGENDA_SETTLE": 0}).test_client()
    assert client.get("/healthz?strict=1").status_code == 200
    edit(path, "Saint-Étienne", "Roanne")
    assert client.get("/healthz").get_data(as_text=True).startswith("ok: serving version 2")
    published_path(path).write_bytes(first)
    health = client.get("/healthz?strict=1")
    assert health.status_code == 503
    body = health.get_data(as_text=True)
    assert body.startswith("ok: serving version 2")
    assert "problem: " in body and "plus ancien que la version 2" in body
    assert "agenda publish --new-history" in body


def test_the_newer_history_put_back_clears_the_problem_and_publishes_the_edit(
    tmp_path: Path,
) -> None:
    path, store, first = two_changes(tmp_path)
    newer = published_path(path).read_bytes()
    published_path(path).write_bytes(first)
    edit(path, "Vichy", "Moulins")
    store.poll()
    assert "history" in store.alarms
    published_path(path).write_bytes(newer)
    store.poll()  # the waiting edit goes out at once, the schedule file untouched
    assert "history" not in store.alarms
    assert store.current().number == 4
    assert "Moulins" in {s.city for s in store.current().schedule.sessions}


def test_new_history_acknowledges_the_older_one(tmp_path: Path) -> None:
    path, store, first = two_changes(tmp_path)
    seen = sequences(store)
    published_path(path).write_bytes(first)
    store.poll()
    assert "history" in store.alarms
    result = CliRunner().invoke(main, ["publish", "--new-history", str(path)])
    assert result.exit_code == 0, result.output
    # Version 3 was published; the old history goes on above it, every SEQUENCE too.
    assert "historique confirmé à partir de la version 4" in result.output
    restarted = VersionStore(path, watch=False, settle=0)
    assert restarted.current().number == 4 and restarted.alarms == {}
    assert all(sequences(restarted)[uid] > sequence for uid, sequence in seen.items())


def _feed_ids(path: Path) -> set[str]:
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_WATCH": False,
                         "AGENDA_SETTLE": 0}).test_client()
    return {entry.id for entry in feedparser.parse(client.get("/atom.xml").data).entries}


@pytest.mark.parametrize("history", ["older", "missing"])
def test_after_new_history_no_change_takes_the_place_of_a_lost_one(
    tmp_path: Path, history: str,
) -> None:
    """A move published, then lost with its history: a later move is a new entry for feed
    readers (which skip an id they have), and calendars take it (a higher SEQUENCE)."""
    path = folder_with_history(tmp_path)
    first, runner = published_path(path).read_bytes(), CliRunner()
    before = _feed_ids(path)
    edit(path, "2021-03-28T09:00:00", "2021-03-28T09:30:00")
    assert runner.invoke(main, ["publish", "--announce", str(path)]).exit_code == 0
    store = VersionStore(path, watch=False, settle=0)
    seen, lost = sequences(store), _feed_ids(path) - before
    assert lost, "the move is a change entry"
    if history == "older":
        published_path(path).write_bytes(first)
    else:
        published_path(path).unlink()
    assert runner.invoke(main, ["publish", "--new-history", str(path)]).exit_code == 0
    edit(path, "2021-03-28T09:30:00", "2021-03-28T10:00:00")
    assert runner.invoke(main, ["publish", "--announce", str(path)]).exit_code == 0
    store = VersionStore(path, watch=False, settle=0)
    assert all(sequences(store)[uid] > sequence for uid, sequence in seen.items())
    now = _feed_ids(path)  # the later move (and the one on disk, again, on the older history)
    assert not now & lost and now - before, (lost, now - before)


@pytest.mark.parametrize("damage", [
    b"{ not json", b"<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> theirs\n", "sha256",
], ids=["invalid-json", "merge-conflict", "wrong-sha256"])
def test_a_damaged_history_is_never_replaced_by_a_first_version(
    tmp_path: Path, damage: bytes | str
) -> None:
    path, store, _ = two_changes(tmp_path)
    target = published_path(path)
    if damage == "sha256":
        text = target.read_text(encoding="utf-8")
        digest = store.current().digest
        damage = text.replace(digest, "0" * len(digest)).encode()
    target.write_bytes(damage)
    edit(path, "Vichy", "Moulins")
    store.poll()
    assert store.current().number == 3
    assert "pas une version publiée qu’agenda sache lire" in store.alarms["history"]
    with pytest.raises(PublishedError, match="pas une version publiée qu’agenda sache lire"):
        VersionStore(path, watch=False, settle=0)


def test_a_deleted_history_is_not_started_again_from_version_1(tmp_path: Path) -> None:
    path, store, _ = two_changes(tmp_path)
    published_path(path).unlink()
    edit(path, "Vichy", "Moulins")
    store.poll()
    assert store.current().number == 3
    assert "l'historique publié manque" in store.alarms["history"]
    assert not published_path(path).exists()
    with pytest.raises(PublishedError, match="manque"):
        VersionStore(path, watch=False, settle=0)


def test_a_first_start_without_history_is_served_and_said_until_acknowledged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    store = VersionStore(path, watch=False, settle=0)
    assert store.current().number == 1
    problem = store.alarms["new-history"]
    assert "premier démarrage sans historique" in problem
    assert "remettez son fichier sessions.published.json" in problem
    assert "agenda publish --new-history" in problem
    result = CliRunner().invoke(main, ["publish", "--new-history", str(path)])
    assert result.exit_code == 0, result.output
    store.poll()
    assert store.alarms == {}


def test_a_clock_stepped_back_dates_the_revision_after_the_last_one(tmp_path: Path) -> None:
    path = folder_with_history(tmp_path)
    clock = Clock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    store = VersionStore(path, watch=False, settle=0, clock=clock)
    edit(path, "Saint-Étienne", "Roanne")
    store.poll()
    second = store.current()
    clock.now = datetime(2025, 6, 1, 12, tzinfo=UTC)  # stepped back a year
    edit(path, "Roanne", "Vichy")
    store.poll()
    third = store.current()
    assert third.number == 3
    assert third.published == second.published + timedelta(seconds=1)
    feed = icalendar.Calendar.from_ical(ical.feed_bytes(third.schedule, third.schedule.sessions))
    (moved,) = [e for e in feed.walk("VEVENT") if "Vichy" in str(e["SUMMARY"])]
    assert moved.decoded("DTSTAMP") > second.published
    assert moved.decoded("LAST-MODIFIED") > second.published
    assert "l’horloge" in store.alarms["clock-behind"]
    clock.now = datetime(2026, 6, 2, tzinfo=UTC)  # the clock caught up
    store.poll()
    assert "clock-behind" not in store.alarms


def test_a_clock_far_ahead_is_reported(tmp_path: Path) -> None:
    path = folder_with_history(tmp_path)
    clock = Clock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    store = VersionStore(path, watch=False, settle=0, clock=clock)
    edit(path, "Saint-Étienne", "Roanne")
    store.poll()
    clock.now = datetime(2031, 6, 1, 12, tzinfo=UTC)
    edit(path, "Roanne", "Vichy")
    store.poll()
    assert "plus d’un an d’avance" in store.alarms["clock-ahead"]
    clock.now = datetime(2026, 6, 2, tzinfo=UTC)  # set right: the 2031 publication is ahead
    store.poll()
    assert "avant la dernière publication" in store.alarms["clock-behind"]


def test_a_write_failure_is_retried_without_touching_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RETRY_SECONDS", 0.0)
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "sessions.published.json"
    shutil.copyfile(published_path(SEVERAL), target)
    store = VersionStore(path, published=target, watch=False, settle=0)
    out.rename(tmp_path / "away")  # the volume is gone for a while
    edit(path, "Saint-Étienne", "Roanne")
    store.poll()
    assert store.pending is not None and store.pending.state == "unwritable"
    stamp = os.stat(path).st_mtime_ns
    (tmp_path / "away").rename(out)
    store.poll()
    assert store.pending is None
    assert store.current().number == 2
    assert from_json(target.read_bytes(), "here")[1].version == 2
    assert os.stat(path).st_mtime_ns == stamp


def test_health_follows_a_publication_by_another_process(tmp_path: Path) -> None:
    path = folder_with_history(tmp_path)
    store = VersionStore(path, watch=False, settle=0)
    text = path.read_text(encoding="utf-8")
    start = text.rindex("[[sessions]]", 0, text.index('id = "automne"'))
    end = text.index("[[sessions]]", start + 1)
    path.write_text(text[:start] + text[end:], encoding="utf-8")  # drops a published session
    store.poll()
    assert store.pending is not None and store.pending.state == "invalid"
    result = CliRunner().invoke(main, ["publish", "--withdraw", "automne", str(path)])
    assert result.exit_code == 0, result.output
    store.poll()
    assert store.pending is None
    assert store.current().number == 2


def test_temporary_files_of_a_killed_publisher_are_removed_and_ignored(tmp_path: Path) -> None:
    path = folder_with_history(tmp_path)
    target = published_path(path)
    left = [tmp_path / ".sessions.published.json.k3x_9q2a",
            mark_path(target).with_name(".sessions.published.mark.zz8ab0c1")]
    for name in left:
        name.write_bytes(b"half")
    edit(path, "Saint-Étienne", "Roanne")
    publish(path, target, datetime(2026, 1, 1, tzinfo=UTC))
    assert not any(p.exists() for p in left)
    assert (tmp_path / ".sessions.published.json.lock").exists()
    names = [".sessions.published.json.k3x_9q2a", ".sessions.published.mark",
             ".sessions.published.mark.zz8ab0c1", "data/.sessions.published.json.abcdefgh"]
    ignored = subprocess.run(["git", "check-ignore", *names], cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert ignored == names


def test_a_history_linked_into_a_checkout_is_written_there(tmp_path: Path) -> None:
    # data/ links the schedule and its history into a checkout of their repository, where
    # they are committed: a publication writes the history there, and the links stay.
    # Renamed over its link, the history became a file of its own, and the checkout kept
    # version 1, which a new machine deployed from it served as the newest, its SEQUENCEs
    # below those subscribers had.
    checkout, data = tmp_path / "checkout", tmp_path / "data"
    checkout.mkdir()
    data.mkdir()
    path = folder_with_history(checkout)
    for name in (path.name, published_path(path).name):
        (data / name).symlink_to(checkout / name)
    left = checkout / ".sessions.published.json.k3x_9q2a"  # a killed publisher's
    left.write_bytes(b"half")
    edit(path, "Saint-Étienne", "Roanne")
    result = CliRunner().invoke(main, ["publish", str(data / path.name)])
    assert result.exit_code == 0, result.output
    assert (data / "sessions.published.json").is_symlink()
    raw, history = from_json((checkout / "sessions.published.json").read_bytes(), "checkout")
    assert history.version == 2 and b"Roanne" in raw
    assert sorted(p.name for p in checkout.iterdir()) == [
        "sessions.published.json", "sessions.toml"], "the killed publisher's file removed"
    assert os.path.samefile(data / "sessions.published.json", checkout / "sessions.published.json")


def test_one_log_line_per_publication_and_each_problem_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agenda.store")
    path = folder_with_history(tmp_path)
    store = VersionStore(path, watch=False, settle=0)
    edit(path, "= 2021-03-28T", "= 2021-03-31T")
    store.poll()
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("published")]
    assert line.startswith("published version 2 (")
    assert "printemps : start" in line and "the feeds announce: printemps rescheduled" in line
    caplog.clear()
    published_path(path).write_bytes(b"{ broken")
    edit(path, "Saint-Étienne", "Roanne")
    for _ in range(5):
        store.poll()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len([r for r in errors if "not a published version" in r.getMessage()]) <= 2
