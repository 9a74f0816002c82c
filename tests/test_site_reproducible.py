"""Same files in, same bytes out: an export depends on the schedule, its history and the moment
it is built for, never on the build's clock, the machine's time zone, locale or hash seed.

A folder holds for a period between moments (`site.moments`): built at any instant of it, first
or after another instant of the same period, it is the same folder, to its manifest's header,
its Last-Modified dates and the modification times static hosts serve as those dates.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from agenda.cli import main
from tests.conftest import FIXTURES, SEVERAL


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
