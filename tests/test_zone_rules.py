"""A tzdata upgrade that changes a zone's future rules, as the server meets it: the same file,
its sessions' instants moved by the new rules."""

from __future__ import annotations

import importlib.resources
import shutil
import zoneinfo
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from click.testing import CliRunner
from icalendar.timezone import tzp

from agenda import create_app, published, site
from agenda.cli import main
from tests.conftest import MINIMAL
from tests.test_cli import french
from tests.test_server_move import entries
from tests.test_year_of_changes import Client

# A session in July, when Paris keeps summer time (UTC+2) under today's rules.
SUMMER = MINIMAL + """
[[sessions]]
id = "lyon"
series = "s"
city = "Lyon"
start = 2027-07-07T08:45:00
end = 2027-07-07T10:15:00
announced = 2026-11-01
"""


@pytest.fixture
def paris_without_summer_time(tmp_path: Path) -> Iterator[None]:
    """Rules in which Europe/Paris keeps UTC+1 all year (Algiers' rules), for this test only."""
    rules = tmp_path / "zoneinfo"
    (rules / "Europe").mkdir(parents=True)
    with importlib.resources.as_file(
        importlib.resources.files("tzdata.zoneinfo").joinpath("Africa/Algiers")
    ) as algiers:
        shutil.copyfile(algiers, rules / "Europe" / "Paris")
    try:
        zoneinfo.reset_tzpath([str(rules)])
        ZoneInfo.clear_cache()
        yield
    finally:
        zoneinfo.reset_tzpath()
        ZoneInfo.clear_cache()
        tzp.use_default()  # icalendar keeps the zones it parsed .ics files with: Algiers' too


def test_publish_after_new_zone_rules_says_the_change_in_french(
    tmp_path: Path, runner: CliRunner, request: pytest.FixtureRequest
) -> None:
    # The session's instant moved by the new rules with nothing in the file changed: its
    # revision names no field, and `agenda publish` said it in English, « lyon : content ».
    path = tmp_path / "sessions.toml"
    path.write_text(SUMMER, encoding="utf-8")
    assert runner.invoke(main, ["publish", "--new-history", str(path)]).exit_code == 0
    request.getfixturevalue("paris_without_summer_time")
    july = datetime(2027, 7, 7, 8, 45, tzinfo=ZoneInfo("Europe/Paris"))
    assert july.utcoffset() == july.replace(month=1).utcoffset()  # the rules did change
    path.write_text(SUMMER + "# kept\n", encoding="utf-8")
    result = runner.invoke(main, ["publish", str(path)])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "lyon" in line]
    assert french("content") in line and "content" not in line, line


# Far ahead, so that the real clock (which dates a publication) stays before both: Lille in
# summer (its instant moves under Algiers' rules), Nantes in winter (its instant stays).
FAR = MINIMAL + "".join(f"""
[[sessions]]
id = "{name.lower()}"
series = "s"
city = "{name}"
start = 2099-{month}-07T08:45:00
end = 2099-{month}-07T10:15:00
announced = 2026-11-01
""" for name, month in (("Lille", "07"), ("Nantes", "01")))
LILLE, NANTES = "lille@agenda.example.org", "nantes@agenda.example.org"


def events(data: bytes) -> dict[str, icalendar.Event]:
    """The events of a calendar by UID, read by icalendar alone (vobject keeps the VTIMEZONEs
    it reads for the whole process: Algiers' rules would outlive the fixture)."""
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}
# What shows Lille.
PATHS = ("/calendar.ics", "/events/lille.ics", "/rss.xml", "/atom.xml", "/events/lille",
         "/events/lille.json", "/events.json", "/")


def far_published(tmp_path: Path, runner: CliRunner) -> Path:
    """FAR's schedule file, published under today's rules."""
    path = tmp_path / "sessions.toml"
    path.write_text(FAR, encoding="utf-8")
    assert runner.invoke(main, ["publish", "--new-history", str(path)]).exit_code == 0
    return path


def test_a_restart_with_new_zone_rules_revises_the_sessions_they_moved(
    tmp_path: Path, runner: CliRunner, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tzdata upgrade restarts the service (agenda-tzdata.path) on the same file: Lille's
    # instant moved, but its SEQUENCE, DTSTAMP and every Last-Modified came from the history
    # alone, until someone edited the file. A calendar that takes an event again only when
    # its SEQUENCE grows kept Lille an hour off; a client revalidating by date (nginx dates
    # the files by them) got 304 and the old VTIMEZONE.
    path = far_published(tmp_path, runner)
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    before = {p: client.get(p) for p in PATHS}
    mtime = (tmp_path / "sessions.site" / "current" / "calendar.ics").stat().st_mtime
    request.getfixturevalue("paris_without_summer_time")
    monkeypatch.setattr(site, "RELEASE", site._release())  # as the restart computes it
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    for p, old in before.items():
        again = client.get(p, headers={"If-Modified-Since": old.headers["Last-Modified"]})
        assert again.status_code == 200 and again.data != old.data, p
    assert (tmp_path / "sessions.site" / "current" / "calendar.ics").stat().st_mtime > mtime
    calendar = Client()
    calendar.refresh(events(before["/calendar.ics"].data))
    served = events(client.get("/calendar.ics").data)
    calendar.refresh(served)
    old = events(before["/calendar.ics"].data)
    assert calendar.held[LILLE] is served[LILLE]  # taken again: SEQUENCE grew
    assert served[LILLE]["DTSTAMP"].dt > old[LILLE]["DTSTAMP"].dt
    # Nantes's instant stays: nothing to take again (RFC 5545: no significant change).
    assert served[NANTES].to_ical() == old[NANTES].to_ical()
    # Feed readers: the same entries, none new (nothing to announce), Nantes's as it was.
    before_entries = entries(before["/atom.xml"].data)
    after_entries = entries(client.get("/atom.xml").data)
    assert list(after_entries) == list(before_entries)
    assert [e.updated for e in after_entries.values() if "nantes" in e.id] == [
        e.updated for e in before_entries.values() if "nantes" in e.id]
    again = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    assert again.get("/calendar.ics").data == client.get("/calendar.ics").data  # once


def test_agenda_build_and_check_with_new_zone_rules_revise_the_sessions_they_moved(
    tmp_path: Path, runner: CliRunner, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same for a static host: `agenda build` (and `agenda check`) with new rules.
    path = far_published(tmp_path, runner)
    outdir = tmp_path / "export"
    assert runner.invoke(main, ["build", "--data", str(path), str(outdir)]).exit_code == 0
    before = (outdir / "calendar.ics").read_bytes(), (outdir / "calendar.ics").stat().st_mtime
    request.getfixturevalue("paris_without_summer_time")
    monkeypatch.setattr(site, "RELEASE", site._release())
    checked = runner.invoke(main, ["check", str(path)])
    assert [line for line in checked.output.splitlines() if "lille" in line] == [
        "  " + french("{place}: {message}", place="lille", message=french("content"))
        + " (SEQUENCE 0 → 1)"], checked.output
    result = runner.invoke(main, ["build", "--data", str(path), str(outdir)])
    assert result.exit_code == 0, result.output
    assert (outdir / "calendar.ics").stat().st_mtime > before[1]  # nginx's Last-Modified, ETag
    assert events((outdir / "calendar.ics").read_bytes())[LILLE]["SEQUENCE"] == \
        events(before[0])[LILLE]["SEQUENCE"] + 1


def test_a_worker_checks_its_zone_rules_against_the_history_once_not_at_every_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A release's rules do not change while it runs, and a version another process of it
    published was revised under them: checking them again at every edit cost each worker a
    revision of the whole schedule, and reading the published file again (27 MiB more at 10,000
    sessions: the follower at 247 MiB, past the 238 MiB target)."""
    from agenda import published
    from agenda.store import VersionStore
    from tests.test_site_folders import data_copy, edit

    path = data_copy(tmp_path)
    checked: list[int] = []
    real, read = published.moved, published.from_json
    monkeypatch.setattr(published, "moved", lambda v, now: checked.append(v.number) or real(v, now))
    monkeypatch.setattr(published, "from_json", lambda *a: checked.append(0) or read(*a))
    worker = VersionStore(path, settle=0, watch=False)
    assert 1 in checked  # at its start
    edit(path, "Saint-Étienne", "Saint-Chamond")
    VersionStore(path, settle=0, watch=False)  # another process publishes the edit
    checked.clear()
    worker.poll()
    assert worker.current().number > 1 and checked == [0]  # the published file read once


def test_a_restart_with_new_zone_rules_that_cannot_publish_says_so(
    tmp_path: Path, runner: CliRunner, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same restart with the history unwritable (a full disk, a read-only data folder):
    # Lille was served with its new instant and its old SEQUENCE, so calendars that wait for
    # SEQUENCE kept it an hour off, and /healthz said « ok » until an editor's next change.
    path = far_published(tmp_path, runner)
    request.getfixturevalue("paris_without_summer_time")
    monkeypatch.setattr(site, "RELEASE", site._release())

    def refuse(*args: object, **kwargs: object) -> None:
        raise published.CannotWrite("plus de place sur le disque")

    writes = published.write_atomically
    monkeypatch.setattr(published, "write_atomically", refuse)
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    health = client.get("/healthz?strict=1")
    assert health.status_code == 503
    assert "plus de place sur le disque" in health.get_data(as_text=True)
    assert "pas republiée" in health.get_data(as_text=True)  # in French, with what it costs
    monkeypatch.setattr(published, "write_atomically", writes)  # room again: the next edit
    path.write_text(FAR.replace("announced = 2026-11-01", "announced = 2026-11-02", 1))
    store = client.application.extensions["agenda.store"]
    store.settle = 0
    store.poll()
    assert client.get("/healthz?strict=1").status_code == 200
