"""Shared fixtures: apps on the shipped data and on test fixtures, clients, CLI runner."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from agenda import create_app
from agenda.loader import load_schedule
from agenda.model import Schedule
from agenda.published import LAYOUT, Version, _document

# In-process apps look at their files on each request and publish an edit at
# once, so that a test sees its edit on the next request; no watcher thread.
os.environ["AGENDA_WATCH"] = "0"
os.environ["AGENDA_SETTLE"] = "0"

# Property tests (test_properties_*.py): a short run by default, so that CI stays
# within about a minute; HYPOTHESIS_PROFILE=campaign for a long search (README).
settings.register_profile(
    "ci",
    max_examples=20,
    deadline=None,  # no timing assertions; hangs are caught by each test's own guard
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "campaign",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def to_json(version: Version, schedule_name: str) -> bytes:
    """The published-version file's bytes, whole (write_version writes them a piece at a time)."""
    return (json.dumps(_document(version, schedule_name), **LAYOUT) + "\n").encode("utf-8")


ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "sessions.toml"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEVERAL = FIXTURES / "several_sessions.toml"
# A dated session of series "tour-des-villes" (the shipped one's), to append to a schedule.
LYON = """
[[sessions]]
id = "lyon"
series = "tour-des-villes"
number = 4
city = "Lyon"
start = 2021-06-16T08:45:00
end = 2021-06-16T10:15:00
announced = 2021-06-01
"""
# A dated session of series "s" (MINIMAL's) on 21 October 2026, announced on the 1st.
LYON_OCTOBER = """
[[sessions]]
id = "lyon"
series = "s"
city = "Lyon"
start = 2026-10-21T08:45:00
end = 2026-10-21T10:15:00
announced = 2026-10-01
"""
# The least a schedule needs: a calendar and one series "s". Tests append sessions.
MINIMAL = """
[calendar]
name = "Essai"
base_url = "https://agenda.example.org"
organizer = { name = "Club" }

[[series]]
id = "s"
title = "Série"
"""


@pytest.fixture
def app() -> Flask:
    """The app serving the shipped schedule."""
    return create_app({"AGENDA_DATA": str(SHIPPED), "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app on the shipped schedule."""
    return app.test_client()


@pytest.fixture
def several_app() -> Flask:
    """The app serving tests/fixtures/several_sessions.toml."""
    return create_app({"AGENDA_DATA": str(SEVERAL), "TESTING": True})


@pytest.fixture
def several_client(several_app: Flask) -> FlaskClient:
    """A test client of the app on the several-sessions fixture."""
    return several_app.test_client()


@pytest.fixture
def shipped() -> Schedule:
    """The shipped schedule, loaded."""
    return load_schedule(SHIPPED)


@pytest.fixture
def several() -> Schedule:
    """The several-sessions fixture, loaded."""
    return load_schedule(SEVERAL)


@pytest.fixture
def runner() -> CliRunner:
    """A runner for the `agenda` command."""
    return CliRunner()


@pytest.fixture
def write_schedule(tmp_path: Path) -> Callable[[str], Path]:
    """Write TOML text to a schedule file in a temporary folder and return its path."""

    def write(text: str, name: str = "sessions.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for a module of browser tests (Debian's, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser_pages import ARGS, chromium_path

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()
