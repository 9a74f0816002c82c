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

import pytest
from click.testing import CliRunner

from agenda.cli import main
from tests.conftest import MINIMAL
from tests.test_cli import french

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
