"""Production set-up for real: gunicorn with gunicorn.conf.py, behind Debian's nginx (deploy/)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.conftest import SHIPPED
from tests.servers import ROOT, fetch, free_port, gunicorn, nginx, nginx_binary

BAD = "[calendar]\nname = 3\n"


def test_gunicorn_stops_at_once_on_bad_schedule(write_schedule) -> None:
    path = write_schedule(BAD)
    env = dict(os.environ, AGENDA_DATA=str(path))
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "champ name : doit être un texte entre guillemets" in result.stderr
    assert "Booting worker" not in result.stderr  # stopped in the master, before any worker
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nginx with deploy/nginx/agenda-proxy.conf in front of gunicorn; yields nginx's port."""
    nginx_binary()  # skip before starting gunicorn
    folder = tmp_path_factory.mktemp("nginx")
    app_port, port = free_port(), free_port()
    snippet = ROOT / "deploy" / "nginx" / "agenda-proxy.conf"
    block = f"""
    upstream agenda {{ server 127.0.0.1:{app_port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        include {snippet};
    }}"""
    with gunicorn(SHIPPED, app_port), nginx(folder, block, port, "/healthz"):
        yield port


@pytest.mark.parametrize("coding", ["identity", "gzip", "br"])
def test_nginx_passes_app_bytes_and_validators(
    coding: str, proxied: int, client: FlaskClient
) -> None:
    headers = {"Accept-Encoding": coding}
    expected = client.get("/calendar.ics", headers=headers)
    status, got, body = fetch(proxied, "/calendar.ics", headers)
    assert status == 200
    assert body == expected.data
    assert got["ETag"] == expected.headers["ETag"]
    assert got.get("Content-Encoding") == expected.headers.get("Content-Encoding")
    assert got["Vary"] == "Accept-Encoding"
    assert got["Content-Type"] == "text/calendar; charset=utf-8"
    again, _, empty = fetch(proxied, "/calendar.ics", {**headers, "If-None-Match": got["ETag"]})
    assert (again, empty) == (304, b"")


def test_nginx_does_not_compress_again(proxied: int) -> None:
    status, got, body = fetch(proxied, "/healthz", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert "Content-Encoding" not in got
    assert body.startswith(b"ok: serving version ")


def test_nginx_head_and_french_404(proxied: int) -> None:
    status, got, body = fetch(proxied, "/", {"Accept-Encoding": "gzip"}, method="HEAD")
    assert (status, body) == (200, b"")
    assert got["Content-Encoding"] == "gzip"
    full = fetch(proxied, "/", {"Accept-Encoding": "gzip"})[2]
    assert got["Content-Length"] == str(len(full))
    assert zlib.decompress(full, wbits=31).startswith(b"<!doctype html>")
    status, _, body = fetch(proxied, "/events/inconnue.ics")
    assert status == 404
    assert body.decode() == "404 – Aucune séance « inconnue » dans l’agenda.\n"


def test_deploy_unit_runs_gunicorn_with_the_conf_file() -> None:
    unit = (ROOT / "deploy" / "agenda.service").read_text(encoding="utf-8")
    assert "ExecStart=/srv/agenda/app/.venv/bin/gunicorn wsgi:app" in unit.splitlines()
    assert "WorkingDirectory=/srv/agenda/app" in unit.splitlines()
    assert Path(ROOT / "gunicorn.conf.py").is_file()


def test_nginx_lets_desk_forms_through_and_nothing_else_that_big(proxied: int) -> None:
    form = b"description=" + b"x" * 8000
    answers = {}
    for path in ("/desk/connexion", "/"):
        connection = http.client.HTTPConnection("127.0.0.1", proxied, timeout=10)
        connection.request("POST", path, body=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        answers[path] = connection.getresponse().status
        connection.close()
    # The desk is off without editors (404), but the app got the form; elsewhere nginx refuses.
    assert answers == {"/desk/connexion": 404, "/": 413}
