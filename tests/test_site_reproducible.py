"""Same files in, same bytes out: an export depends on the schedule, its history and the moment
it is built for, never on the build's clock, the machine's time zone, locale or hash seed.

A folder holds for a period between moments (`site.moments`): built at any instant of it, first
or after another instant of the same period, it is the same folder, to its manifest's header,
its Last-Modified dates and the modification times static hosts serve as those dates. And the
times a publication records keep their order in the hour the calendar's clocks go back.
"""

from __future__ import annotations

import calendar
import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import zoneinfo
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import icalendar
import pytest
from click.testing import CliRunner

import agenda.render
from agenda import site
from agenda.cli import main
from agenda.published import first_version, next_version
from tests.conftest import FIXTURES, LYON_OCTOBER, MINIMAL, SEVERAL


def _data(folder: Path) -> Path:
    """A copy of the several-sessions fixture and its history (published 2022-01-05), in
    `folder`: its `provisoire` session is dated (updated) 2022-01-05 too."""
    folder.mkdir(parents=True)
    shutil.copy(SEVERAL, folder / "sessions.toml")
    shutil.copy(FIXTURES / "several_sessions.published.json", folder / "sessions.published.json")
    return folder / "sessions.toml"


def _export(outdir: Path) -> dict[str, tuple[bytes, int | None]]:
    """Every file of an export, with its modification time where the manifest dates it."""
    lines = (outdir / "_manifest.jsonl").read_text(encoding="utf-8").splitlines()
    dated = {row[0] for row in map(json.loads, lines[1:]) if row[6] is not None}
    found = {}
    for path in outdir.rglob("*"):
        if path.is_file():
            name = path.relative_to(outdir).as_posix()
            url = "/" + name.removesuffix(".gz").removesuffix(".br").removesuffix(".html")
            url = "/" if url == "/index" else url
            found[name] = (path.read_bytes(), path.stat().st_mtime_ns if url in dated else None)
    return found


def _build(runner: CliRunner, data: Path, now: str, outdir: Path) -> dict:
    result = runner.invoke(main, ["build", "--data", str(data), "--now", now, str(outdir)])
    assert result.exit_code == 0, result.output
    return _export(outdir)


@pytest.mark.parametrize(("first", "then"), [
    ("2021-01-05T12:00:00+01:00", "2021-02-10T08:00:00+01:00"),  # before every moment
    ("2021-07-01T12:00:00+02:00", "2021-09-01T12:00:00+02:00"),  # between two session ends
    # Around the provisional session's `updated` (2022-01-05), ahead of both and then passed.
    ("2021-12-10T12:00:00+01:00", "2022-01-10T12:00:00+01:00"),
])
def test_an_export_is_the_same_whether_built_first_or_after_an_earlier_moment(
    runner: CliRunner, tmp_path: Path, first: str, then: str,
) -> None:
    reused = _data(tmp_path / "reused")
    _build(runner, reused, first, tmp_path / "early")
    after = _build(runner, reused, then, tmp_path / "after")
    fresh = _build(runner, _data(tmp_path / "fresh"), then, tmp_path / "fresh-out")
    assert after.keys() == fresh.keys()
    assert [n for n in after if after[n] != fresh[n]] == []
    # And no document is dated after the moment it is built for (RFC 9110).
    moment = datetime.fromisoformat(then)
    for line in (tmp_path / "after" / "_manifest.jsonl").read_text().splitlines()[1:]:
        modified = json.loads(line)[6]
        assert modified is None or parsedate_to_datetime(modified) <= moment, line


def test_an_export_is_the_same_in_any_time_zone_locale_hash_seed_and_folder(
    tmp_path: Path,
) -> None:
    agenda = Path(sys.executable).with_name("agenda")
    exports = []
    for number, zone, locale, seed in ((1, "UTC", "C.UTF-8", "0"),
                                       (2, "Pacific/Kiritimati", "fr_FR.UTF-8", "1"),
                                       (3, "America/New_York", "C", "4242")):
        data = _data(tmp_path / f"{number}" / ("deeper/" * number) / "data")
        environment = {**os.environ, "TZ": zone, "LANG": locale, "LC_ALL": locale,
                       "PYTHONHASHSEED": seed}
        environment.pop("AGENDA_SITE", None)
        subprocess.run([agenda, "build", "--data", data, "--now", "2021-10-31T10:00:00+01:00",
                        tmp_path / f"out-{number}"], cwd=data.parent.parent, env=environment,
                       check=True, capture_output=True)
        exports.append(_export(tmp_path / f"out-{number}"))
    assert exports[0].keys() == exports[1].keys() == exports[2].keys()
    assert [n for n in exports[0] if not exports[0][n] == exports[1][n] == exports[2][n]] == []


def test_two_publications_in_the_hour_the_clocks_go_back_keep_their_order(tmp_path: Path) -> None:
    # Paris, 31 October 2021: 02:45 before the change (00:45 UTC), then 02:20 after it (01:20).
    before, after = (datetime(2021, 10, 31, 0, 45, tzinfo=UTC),
                     datetime(2021, 10, 31, 1, 20, tzinfo=UTC))
    raw = (MINIMAL + LYON_OCTOBER).replace("2026-10-21", "2021-11-17").replace(
        "2026-10-01", "2021-10-01")
    first = first_version(raw.encode(), "sessions.toml")
    cancelled = raw.replace('city = "Lyon"', 'city = "Lyon"\nstatus = "cancelled"')
    middle = next_version(first, cancelled.encode(), "sessions.toml", before)[0]
    last = next_version(middle, raw.encode(), "sessions.toml", after)[0]  # reinstated
    moment = datetime(2021, 10, 31, 2, 0, tzinfo=UTC)
    built = [site.build(v, moment, tmp_path / f"{v.number}", workers=1) for v in (middle, last)]
    stamps = []
    for folder in built:
        event = icalendar.Calendar.from_ical(
            (folder.folder / "events/lyon.ics").read_bytes()).walk("VEVENT")[0]
        stamps.append((event["DTSTAMP"].dt, event["LAST-MODIFIED"].dt,
                       parsedate_to_datetime(folder.entries["/events/lyon"].modified)))
    assert stamps == [(before,) * 3, (after,) * 3]
    # The news feed has the reinstatement, the later, first.
    entries = feedparser.parse((built[1].folder / "rss.xml").read_bytes()).entries
    assert [calendar.timegm(e.published_parsed) for e in entries[:2]] == [
        after.timestamp(), before.timestamp()]
    # And the builder's moments are in the order they come.
    found = site.moments(last.schedule)
    assert [t.timestamp() for t in found] == sorted(t.timestamp() for t in found)


def test_announcements_written_with_their_offset_in_the_hour_the_clocks_go_back(
    tmp_path: Path,
) -> None:
    # Lyon's announcement at 02:20 after the change (01:20 UTC), Lille's at 02:45 before it
    # (00:45 UTC): at 01:00 UTC, Lille's has come due and its folder holds until Lyon's.
    lille = LYON_OCTOBER.replace('"lyon"', '"lille"').replace('"Lyon"', '"Lille"')
    raw = (MINIMAL + LYON_OCTOBER.replace("2026-10-01", "2026-10-25T02:20:00+01:00")
           + lille.replace("2026-10-01", "2026-10-25T02:45:00+02:00"))
    version = first_version(raw.encode(), "sessions.toml")
    since, until = site.period(version.schedule, datetime(2026, 10, 25, 1, 0, tzinfo=UTC))
    assert (since, until) == (datetime(2026, 10, 25, 0, 45, tzinfo=UTC),
                              datetime(2026, 10, 25, 1, 20, tzinfo=UTC))
    built = site.build(version, datetime(2026, 10, 25, 1, 0, tzinfo=UTC), tmp_path / "site")
    titles = [e.title for e in feedparser.parse((built.folder / "rss.xml").read_bytes()).entries]
    assert [t for t in titles if "Lille" in t] and not [t for t in titles if "Lyon" in t]


def test_a_new_tzdata_release_builds_the_calendars_anew(tmp_path: Path) -> None:
    # The same data folder on a server whose tzdata is newer (an upgrade, a move): in this
    # release of it, Paris keeps +01:00 all year. Its site folder, built with the old rules,
    # must not be served again, even for a moment no session's time says (before them all):
    # every VTIMEZONE comes from the rules in force.
    system = next(Path(p) for p in zoneinfo.TZPATH if (Path(p) / "tzdata.zi").is_file())
    zones = tmp_path / "zoneinfo"
    (zones / "Europe").mkdir(parents=True)
    shutil.copy(system / "Europe" / "Paris", zones / "Europe" / "Paris")
    shutil.copy(system / "tzdata.zi", zones / "tzdata.zi")
    data = _data(tmp_path / "data")
    environment = {**os.environ, "PYTHONTZPATH": str(zones)}
    environment.pop("AGENDA_SITE", None)

    def build(outdir: Path) -> icalendar.Calendar:
        subprocess.run([Path(sys.executable).with_name("agenda"), "build", "--data", data,
                        "--now", "2021-02-10T08:00:00+01:00", outdir], env=environment,
                       check=True, capture_output=True)
        return icalendar.Calendar.from_ical((outdir / "calendar.ics").read_bytes())

    before = build(tmp_path / "before")
    assert [c.name for c in before.walk("VTIMEZONE")[0].subcomponents] == ["DAYLIGHT", "STANDARD"]
    shutil.copy(system / "Etc" / "GMT-1", zones / "Europe" / "Paris")
    rules = (zones / "tzdata.zi").read_text(encoding="utf-8")
    (zones / "tzdata.zi").write_text("# version 2099a\n" + rules, encoding="utf-8")
    after = build(tmp_path / "after")
    (zone,) = after.walk("VTIMEZONE")
    assert [c.name for c in zone.subcomponents] == ["STANDARD"]
    assert zone.subcomponents[0].decoded("TZOFFSETTO") == timedelta(hours=1)


def test_a_new_session_leaves_the_keys_of_the_others_documents(runner: CliRunner,
                                                               tmp_path: Path) -> None:
    """The builder reuses a file whose key is unchanged: a session added (its announcement due at
    its publication, which the feeds date it by) re-renders none of the others' documents."""
    data = _data(tmp_path / "data")
    moment = "2027-01-04T12:00:00+01:00"

    def keys(outdir: Path) -> dict[str, str]:
        _build(runner, data, moment, outdir)
        rows = (outdir / "_manifest.jsonl").read_text(encoding="utf-8").splitlines()[1:]
        return {row[0]: row[5] for row in map(json.loads, rows)}

    before = keys(tmp_path / "before")
    added = data.read_text("utf-8") + LYON_OCTOBER.replace('series = "s"', 'series = "essais"')
    data.write_text(added.replace("2026-10-", "2027-02-").replace("2027-02-01", "2026-12-01"),
                    "utf-8")
    assert runner.invoke(main, ["publish", str(data)]).exit_code == 0
    after = keys(tmp_path / "after")
    assert "/events/lyon" in after
    own = [url for url in before if url.startswith(("/events/", "/_parts/sessions/"))]
    assert len(own) > 20
    assert [url for url in own if before[url] != after[url]] == []


def test_render_functions_remember_nothing_between_calls() -> None:
    """render/ is pure (ARCHITECTURE.md): no memo keeps what a call worked out for the next one;
    what a build reuses is the builder's (site.py). The font files, opened once a size, are a
    resource the cards are drawn with, not something rendered."""
    modules = [importlib.import_module(f"agenda.render.{m.name}")
               for m in pkgutil.iter_modules(agenda.render.__path__)]
    memos = [f"{m.__name__}.{name}" for m in modules for name, value in vars(m).items()
             if hasattr(value, "cache_info") and value.__module__ == m.__name__]  # not urlsplit
    assert memos == ["agenda.render.cards._font"]
