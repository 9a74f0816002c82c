"""A schedule edit is picked up; a bad edit keeps the last good schedule in service."""

from __future__ import annotations

import os

import icalendar

from agenda import create_app
from tests.conftest import SEVERAL


def summaries(data: bytes) -> list[str]:
    return [str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")]


def bump_mtime(path) -> None:
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_edit_is_served_without_restart(write_schedule) -> None:
    text = SEVERAL.read_text(encoding="utf-8")
    path = write_schedule(text)
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    before = client.get("/calendar.ics")
    path.write_text(text.replace('city = "Orléans"', 'city = "Blois"'), encoding="utf-8")
    bump_mtime(path)
    after = client.get("/calendar.ics")
    assert "Matinales d’essai n° 2 : Blois" in summaries(after.data)
    assert after.headers["ETag"] != before.headers["ETag"]


def test_bad_edit_keeps_last_good_schedule(write_schedule, caplog) -> None:
    text = SEVERAL.read_text(encoding="utf-8")
    path = write_schedule(text)
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    before = client.get("/calendar.ics").data
    path.write_text(text.replace("start = 2021-06-16", "strat = 2021-06-16"), encoding="utf-8")
    bump_mtime(path)
    after = client.get("/calendar.ics")
    assert after.status_code == 200
    assert after.data == before
    assert "champ strat : clé inconnue" in caplog.text


def test_deleted_file_keeps_last_good_schedule(write_schedule) -> None:
    path = write_schedule(SEVERAL.read_text(encoding="utf-8"))
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    before = client.get("/calendar.ics").data
    path.unlink()
    assert client.get("/calendar.ics").data == before


def test_a_folder_in_place_of_the_file_holds_no_file_open(write_schedule) -> None:
    # The file is looked at again whenever it changes: a folder put in its place (an archive
    # unpacked over it) changes with every file written in it, for as long as it stays there.
    path = write_schedule(SEVERAL.read_text(encoding="utf-8"))
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    before = client.get("/calendar.ics").data
    path.unlink()
    path.mkdir()
    assert client.get("/calendar.ics").data == before
    open_files = len(os.listdir("/proc/self/fd"))
    for number in range(20):
        (path / f"{number}.toml").write_bytes(b"")
        assert client.get("/calendar.ics").data == before
    assert len(os.listdir("/proc/self/fd")) == open_files
