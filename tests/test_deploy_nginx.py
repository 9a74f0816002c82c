"""Production set-up for real: gunicorn with gunicorn.conf.py, behind Debian's nginx (deploy/)."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest
from flask.testing import FlaskClient

from agenda import create_app, site
from agenda.cli import main
from agenda.desk.views import MOST_BYTES
from agenda.published import published_path
from tests.conftest import LYON, SEVERAL, SHIPPED
from tests.servers import (
    BROTLI_STATIC,
    ROOT,
    fetch,
    free_port,
    gunicorn,
    nginx,
    nginx_binary,
    nginx_conf,
)

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
    # Over the desk's limit, the desk's page (off here: its 404's words), not nginx's.
    connection = http.client.HTTPConnection("127.0.0.1", proxied, timeout=10)
    connection.request("POST", "/desk/connexion", body=b"f=" + b"x" * MOST_BYTES,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    assert (response.status, "nginx" in body, "<html lang=\"fr\">" in body) == (413, False, True)


@contextmanager
def deployed(folder: Path, source: Path, server: str = "", app: bool = True
             ) -> Iterator[tuple[int, int, Path]]:
    """deploy/nginx/agenda-site.conf with `folder`'s paths, serving a copy of the schedule
    `source` (with its history, if any): nginx serves the site folder, gunicorn the dynamic routes;
    `server`: more lines of the server block; `app` false: gunicorn not running (restarting),
    once it built the folder; yields (nginx's port, gunicorn's port, the data file)."""
    nginx_binary()
    data = folder / "data" / "sessions.toml"
    data.parent.mkdir()
    shutil.copyfile(source, data)
    if published_path(source).exists():
        shutil.copyfile(published_path(source), published_path(data))
    snippets = folder / "snippets"
    snippets.mkdir()
    for name in ("agenda-site.conf", "agenda-upstream.conf"):
        text = (ROOT / "deploy" / "nginx" / name).read_text(encoding="utf-8")
        text = text.replace("/srv/agenda/data", str(data.parent))
        text = text.replace("include snippets/", f"include {snippets}/")
        if BROTLI_STATIC.exists():
            text = text.replace("# include ", "include ")
        (snippets / name).write_text(text, encoding="utf-8")
    app_port, port = free_port(), free_port()
    block = f"""
    upstream agenda {{ server 127.0.0.1:{app_port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        {server}
        include {snippets}/agenda-site.conf;
    }}"""
    env = {"AGENDA_SECRET": "test-secret-" + "k" * 40, "AGENDA_SITE": ""}
    if not app:
        create_app({"AGENDA_DATA": str(data), "AGENDA_SITE": None})
    with gunicorn(data, app_port, env=env) if app else contextlib.nullcontext(), \
            nginx(folder / "nginx", block, port, "/healthz"):
        yield port, app_port, data


def test_while_gunicorn_restarts_nginx_says_so_in_french_and_when_to_come_back(
    tmp_path: Path,
) -> None:
    # An upgrade's restart: gunicorn loads the app, which builds the whole site, before it
    # listens. nginx serves the folder meanwhile; what it passes on (/healthz, the desk, the
    # personal links, ?series=) got nginx's English « 502 Bad Gateway » page.
    with deployed(tmp_path, SEVERAL, app=False) as (port, _, data):
        assert fetch(port, "/events/printemps")[0] == 200
        for path in ("/healthz", "/desk/", "/calendar.ics?series=essai",
                     "/events/printemps/private/abc"):
            status, headers, body = fetch(port, path)
            assert (status, headers["Retry-After"]) == (503, "60"), path
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
            assert body.decode("utf-8") == "L’agenda redémarre : réessayez dans une minute.\n"


@pytest.fixture(scope="module")
def site_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    with deployed(tmp_path_factory.mktemp("deployed"), SEVERAL) as served:
        yield served


def test_nginx_serves_the_folder_as_the_app_and_passes_what_is_dynamic(
    site_served: tuple[int, int, Path], runner
) -> None:
    port, app_port, data = site_served
    built = site.read_site(data.with_name("sessions.site") / "current")
    codings = ["identity", "gzip", "br"] if BROTLI_STATIC.exists() else ["identity", "gzip"]
    for path in (p for p in built.entries if not p.startswith("/_")):
        for coding in codings:
            headers = {"Accept-Encoding": coding}
            status, got, body = fetch(port, path, headers)
            app_status, expected, app_body = fetch(app_port, path, headers)
            assert (status, body) == (app_status, app_body) == (200, app_body), (path, coding)
            for name in ("Content-Type", "Content-Encoding", "Cache-Control", "Vary",
                         "Content-Security-Policy", "Access-Control-Allow-Origin",
                         "Content-Disposition"):
                assert got.get(name) == expected.get(name), (path, coding, name)
            assert got["Last-Modified"] == expected["Last-Modified"], (path, coding)  # or none
            assert fetch(port, path, {**headers, "If-None-Match": got["ETag"]})[0] == 304
    # What is dynamic comes from the app, through nginx.
    assert fetch(port, "/healthz")[2].startswith(b"ok: serving version ")
    assert fetch(port, "/rss.xml?series=autres")[2] == fetch(app_port, "/series/autres/rss.xml")[2]
    for query in ("?city=saint-%C3%A9tienne", "?City=Saint-%C3%89tienne"):  # any case, as nginx
        assert fetch(port, "/calendar.ics" + query)[2] == \
            fetch(app_port, "/cities/saint-etienne/calendar.ics")[2]
    result = runner.invoke(main, ["link", "automne", "--data", str(data)],
                           env={"AGENDA_SECRET": "test-secret-" + "k" * 40})
    personal = urlsplit(result.output.splitlines()[-1]).path
    status, got, body = fetch(port, personal)
    assert status == 200 and b"private-room-SECRET" in body
    assert got["Cache-Control"] == "private, no-store"
    status, got, body = fetch(port, "/nulle-part", {"Accept": "text/html"})
    assert status == 404 and "Page introuvable" in body.decode("utf-8")
    # The snippet sends a final or doubled slash's address on, as the app does; the desk's are
    # its own.
    for path in ("/events/automne/", "/desk/", "/desk/connexion/", "//calendar.ics",
                 "/events//automne?x=1", "/desk//connexion/", "//desk/"):
        (status, got, _), (app_status, expected, _) = fetch(port, path), fetch(app_port, path)
        assert (status, got.get("Location")) == (app_status, expected.get("Location")), path


@pytest.mark.parametrize("snippet", ["agenda-site.conf", "agenda-proxy.conf"])
def test_nginx_logs_no_personal_link(snippet: str, tmp_path: Path, runner) -> None:
    # The access log is read by more people than personal links are sent to: each one there
    # would open the private video link to them, with whose it is.
    log = tmp_path / "access.log"
    server, secret = f"access_log {log};", "test-secret-" + "k" * 40
    if snippet == "agenda-site.conf":
        served = deployed(tmp_path, SEVERAL, server)
    else:
        app_port, port = free_port(), free_port()
        block = f"""
        upstream agenda {{ server 127.0.0.1:{app_port}; keepalive 4; }}
        server {{ listen 127.0.0.1:{port}; {server} include {ROOT}/deploy/nginx/{snippet}; }}"""
        served = contextlib.ExitStack()
        served.enter_context(gunicorn(SEVERAL, app_port, env={"AGENDA_SECRET": secret}))
        served.enter_context(nginx(tmp_path / "nginx", block, port, "/healthz"))
    with served as ports:
        port = ports[0] if snippet == "agenda-site.conf" else port
        link = runner.invoke(main, ["link", "automne", "--email", "jeanne@example.org",
                                    "--data", str(SEVERAL)], env={"AGENDA_SECRET": secret})
        personal = urlsplit(link.output.splitlines()[-1])
        status, _, body = fetch(port, f"{personal.path}?{personal.query}")
        assert status == 200 and b"private-room-SECRET" in body
        # Pasted with a final or a doubled slash: sent on to the address, and logged nowhere.
        for pasted in (personal.path + "/", personal.path.replace("/events/", "/events//")):
            assert fetch(port, f"{pasted}?{personal.query}")[0] == 308
        for extra in ("&city=lyon", "&series=essais"):  # a filter's words added: still unlogged
            fetch(port, f"{personal.path}?{personal.query}{extra}")
        assert fetch(port, "/events/automne")[0] == 200
    written = log.read_text(encoding="utf-8")
    assert '"GET /events/automne HTTP/1.1" 200' in written  # the log is on
    assert "/private/" not in written and "jeanne" not in written


@pytest.mark.parametrize("snippet", ["agenda-site.conf", "agenda-proxy.conf"])
def test_nginx_error_log_quotes_no_personal_link(snippet: str, tmp_path: Path) -> None:
    # The app restarting: nginx logs each request it could not pass on, with its request line.
    folder, port, away = tmp_path / "nginx", free_port(), free_port()
    text = (ROOT / "deploy" / "nginx" / snippet).read_text(encoding="utf-8")
    text = text.replace("include snippets/agenda-upstream.conf;", "")
    text = text.replace("/srv/agenda/data/sessions.site/current", str(tmp_path))
    (tmp_path / "_nginx").mkdir()
    (tmp_path / "_nginx" / "agenda-static.conf").write_text("", encoding="utf-8")
    (tmp_path / snippet).write_text(text, encoding="utf-8")
    block = f"""
    upstream agenda {{ server 127.0.0.1:{away}; }}
    server {{ listen 127.0.0.1:{port}; include {tmp_path / snippet}; }}"""
    with nginx(folder, block, port, "/nulle-part"):
        assert fetch(port, "/events/automne/private/signature?email=jeanne%40example.org")[0] \
            == 503
        status, headers, body = fetch(port, "/events/automne")
        assert (status, headers["Retry-After"]) == (503, "60")  # in French (test above)
        assert body.decode("utf-8") == "L’agenda redémarre : réessayez dans une minute.\n"
    written = (folder / "error.log").read_text(encoding="utf-8")
    assert '"GET /events/automne HTTP/1.1"' in written  # the log is on
    assert "private" not in written and "jeanne" not in written


UNDATED = """
[calendar]
name = "CEPS – Tour des Villes"
base_url = "https://agenda.example.org"
organizer = { name = "CEPS", email = "contact@example.org" }

[[series]]
id = "tour-des-villes"
title = "Tour des Villes"

[[sessions]]
id = "bourges"
series = "tour-des-villes"
number = 2
city = "Bourges"
"""


def test_a_kind_of_document_new_since_nginx_loaded_its_snippet_is_served_right(
    tmp_path: Path,
) -> None:
    # nginx read the folder's snippet when it started, from a version without any dated
    # session: no location knows a session's .ics. The first dated session's documents
    # must still be served as the app serves them, before anyone reloads nginx.
    source = tmp_path / "undated.toml"
    source.write_text(UNDATED, encoding="utf-8")
    (tmp_path / "deployed").mkdir()
    with deployed(tmp_path / "deployed", source) as (port, app_port, data):
        with data.open("a", encoding="utf-8") as out:
            out.write(LYON)
        deadline = time.monotonic() + 30
        while b"lyon" not in fetch(app_port, "/calendar.ics")[2]:
            assert time.monotonic() < deadline, "the edit was not published"
            time.sleep(0.2)
        built = site.read_site(data.with_name("sessions.site") / "current")
        new = [p for p in built.entries if "lyon" in p and not p.startswith("/_")]
        assert {"/events/lyon", "/events/lyon.ics", "/events/lyon.json",
                "/cities/lyon/calendar.ics"} <= set(new)
        for path in new:
            status, got, body = fetch(port, path)
            app_status, expected, app_body = fetch(app_port, path)
            assert (status, body) == (app_status, app_body) == (200, app_body), path
            for name in ("Content-Type", "Content-Security-Policy", "Content-Disposition",
                         "Access-Control-Allow-Origin"):
                assert got.get(name) == expected.get(name), (path, name)


@pytest.mark.parametrize("snippet", ["agenda-site.conf", "agenda-proxy.conf"])
def test_nginx_accepts_the_site_as_the_readme_installs_it(snippet: str, tmp_path: Path) -> None:
    """deploy/nginx/agenda.conf in sites-enabled and the snippets in snippets/, as the README's
    steps copy them (or agenda-proxy.conf instead, as agenda.conf offers), pass `nginx -t`
    with Debian's nginx: only the ports, the certificate and the data folder are this test's."""
    binary, openssl = nginx_binary(), shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(SHIPPED, data / "sessions.toml")
    shutil.copyfile(published_path(SHIPPED), published_path(data / "sessions.toml"))
    create_app({"AGENDA_DATA": str(data / "sessions.toml")})  # builds sessions.site/current
    certificate = tmp_path / "le"
    certificate.mkdir()
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=agenda.ceps-oing.org", "-keyout", certificate / "privkey.pem",
                    "-out", certificate / "fullchain.pem"], check=True, capture_output=True)
    (tmp_path / "snippets").mkdir()
    for name in ("agenda-site.conf", "agenda-upstream.conf", "agenda-proxy.conf"):
        text = (ROOT / "deploy" / "nginx" / name).read_text(encoding="utf-8")
        (tmp_path / "snippets" / name).write_text(text.replace("/srv/agenda/data", str(data)))
    site = (ROOT / "deploy" / "nginx" / "agenda.conf").read_text(encoding="utf-8")
    for shipped, ours in (("/etc/letsencrypt/live/agenda.ceps-oing.org", str(certificate)),
                          ("listen [::]:80;", ""), ("listen [::]:443 ssl http2;", ""),
                          ("listen 80;", f"listen 127.0.0.1:{free_port()};"),
                          ("listen 443 ", f"listen 127.0.0.1:{free_port()} "),
                          ("snippets/agenda-site.conf", f"snippets/{snippet}")):
        assert shipped in site
        site = site.replace(shipped, ours)
    (tmp_path / "agenda").write_text(site, encoding="utf-8")
    conf = nginx_conf(tmp_path, f"include {tmp_path}/agenda;")
    result = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(conf),
                             "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr


def test_every_answer_says_https_only_where_nginx_would_lose_it(
    client: FlaskClient, tmp_path: Path
) -> None:
    """Strict-Transport-Security comes from the app, on built files, dynamic answers and the
    desk alike: an add_header in the server block of deploy/nginx/ is dropped by nginx in every
    location that has add_headers of its own (each URL of the folder's snippet), so that the
    pages nginx serves went without it."""
    for path in ("/", "/calendar.ics", "/events.json", "/healthz", "/nulle-part", "/desk/"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000", path
    for name in ("agenda.conf", "agenda-site.conf", "agenda-upstream.conf", "agenda-proxy.conf"):
        text = (ROOT / "deploy" / "nginx" / name).read_text(encoding="utf-8")
        # A location that has add_headers of its own (nginx's answer while gunicorn restarts)
        # says it too; none outside a location.
        outside, *locations = text.split("\nlocation ")
        assert "add_header" not in "".join(line.split("#")[0] for line in outside.splitlines())
        for block in locations:
            if "add_header" in block.split("\n}")[0]:
                assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in \
                    block.split("\n}")[0], (name, block)


def test_nginx_refuses_a_form_too_large_for_the_desk_with_its_page_and_limit(
    tmp_path: Path, runner
) -> None:
    # nginx refuses a form over its client_max_body_size itself: its English « 413 Request
    # Entity Too Large » page reached editors, never the desk's, which says the limit.
    with deployed(tmp_path, SEVERAL) as (port, _, data):
        added = runner.invoke(main, ["editor", "add", "helene@ceps-oing.org", "--name", "H",
                                     "--password-stdin", "--data", str(data)],
                              input="un mot de passe solide\n")
        assert added.exit_code == 0, added.output
        answers = []
        for size in (MOST_BYTES, MOST_BYTES + 1):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("POST", "/desk/connexion", body=b"f=" + b"x" * (size - 2),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            answers.append((response.status, response.read()))
            connection.close()
    assert answers[0][0] == 400  # the app read it: no CSRF token
    status, body = answers[1]
    main_text = " ".join(lxml.html.fromstring(body).xpath("//main")[0].text_content().split())
    assert status == 413
    assert f"trop volumineux pour être envoyé (plus de {MOST_BYTES // 1024} Ko)" in main_text
