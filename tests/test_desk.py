"""The editors' desk (/desk/) through the test client: login, guards, drafts, publish."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import feedparser
import icalendar
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app
from agenda.cli import main
from tests.conftest import ROOT, SHIPPED

SECRET = "x" * 40
EMAIL = "helene@ceps-oing.org"
PASSWORD = "un mot de passe solide"


def add_editor(schedule: Path, email: str = EMAIL, password: str = PASSWORD) -> None:
    """`agenda editor add` with the password on standard input."""
    result = CliRunner().invoke(
        main, ["editor", "add", email, "--name", "Hélène Pichon", "--password-stdin",
               "--data", str(schedule)], input=password + "\n")
    assert result.exit_code == 0, result.output


@pytest.fixture
def schedule(tmp_path: Path) -> Path:
    """A copy of the shipped schedule (and its published history) in a folder of its own."""
    target = tmp_path / "sessions.toml"
    shutil.copy(SHIPPED, target)
    shutil.copy(ROOT / "data" / "sessions.published.json", tmp_path / "sessions.published.json")
    return target


@pytest.fixture
def app(schedule: Path) -> Flask:
    """The app on the copy, with one editor."""
    add_editor(schedule)
    return create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET, "TESTING": True,
                       "AGENDA_DESK_SECURE": False})


def token(client: FlaskClient, path: str = "/desk/connexion") -> str:
    """The CSRF token of the form at `path`."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def login(client: FlaskClient, password: str = PASSWORD) -> int:
    """Log in; the status of the answer."""
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": password})
    return answer.status_code


def post(client: FlaskClient, path: str, data: dict[str, str]) -> tuple[int, str]:
    """Submit the form at `path` with `data` over the values it shows."""
    page = client.get(path).get_data(as_text=True)
    fields = dict(re.findall(r'<input id="[^"]+" name="([^"]+)" type="(?:text|url|email|'
                             r'number|date|time|datetime-local)" value="([^"]*)"', page))
    fields.update(re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', page))
    for name, value in re.findall(r'<select id="[^"]+" name="([^"]+)".*?<option value="([^"]+)"'
                                  r'[^>]* selected', page, re.S):
        fields[name] = value
    for name in re.findall(r'type="checkbox" id="[^"]+" name="([^"]+)" value="1" checked', page):
        fields[name] = "1"
    fields.update(data)
    fields["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(path, data={k: v for k, v in fields.items() if v is not None})
    return answer.status_code, answer.get_data(as_text=True)


def test_desk_smoke(app: Flask, schedule: Path) -> None:
    client = app.test_client()
    assert login(client) == 302
    page = client.get("/desk/").get_data(as_text=True)
    assert "Clermont-Ferrand" in page
    status, body = post(client, "/desk/series/tour-des-villes/nouvelle",
                        {"id": "marseille", "city": "Marseille"})
    assert status == 302, body
    draft = client.get("/desk/brouillon").get_data(as_text=True)
    print(draft)
    assert "Marseille" in draft
