"""The editors' desk (/desk/) through the test client: login, guards, drafts, publish."""

from __future__ import annotations

import difflib
import html
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import lxml.html
import pytest
import tomlkit
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app, site
from agenda.cli import main
from agenda.desk import drafts
from agenda.desk.drafts import Draft, rebase
from agenda.desk.editors import editors_path
from agenda.desk.forms import editable
from agenda.format import CALENDAR, SERIES, SESSION, Kind
from agenda.loader import load_schedule
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


def post(client: FlaskClient, path: str, data: dict[str, str | None]) -> tuple[int, str]:
    """Submit the form at `path` as a browser would, with `data` over the values it shows."""
    page = lxml.html.fromstring(client.get(path).data)
    form = page.xpath("//main//form")[0]
    fields = dict(form.form_values())
    fields.update(data)
    for name in [n for n, v in data.items() if v is None]:  # a box unticked
        del fields[name]
    answer = client.post(path, data=fields)
    return answer.status_code, answer.get_data(as_text=True)


def publish(client: FlaskClient, mode: str = "regle") -> int:
    """« Publier » the draft; the status of the answer."""
    answer = client.post("/desk/publier", data={
        "csrf_token": token(client, "/desk/brouillon"), "mode": mode})
    return answer.status_code


def choose(client: FlaskClient, mode: str) -> lxml.html.HtmlElement:
    """Choose the kind of change `mode` with the draft page's « Voir ce qu'envoie… » button;
    the draft page then shown."""
    assert post(client, "/desk/brouillon", {"mode": mode})[0] == 302
    return lxml.html.fromstring(client.get("/desk/brouillon").data)


def calendar_event(client: FlaskClient, session_id: str) -> icalendar.Event:
    """The VEVENT of a session in /calendar.ics, read back with icalendar."""
    feed = icalendar.Calendar.from_ical(client.get("/calendar.ics").data)
    found = [e for e in feed.walk("VEVENT") if str(e["UID"]).startswith(session_id + "@")
             or session_id in str(e.get("URL", ""))]
    assert len(found) == 1
    return found[0]


def test_desk_adds_publishes_moves_cancels_and_adds_a_replay(app: Flask, schedule: Path) -> None:
    client = app.test_client()
    assert login(client) == 302
    status, body = post(client, "/desk/series/tour-des-villes/nouvelle", {
        "id": "marseille", "city": "Marseille", "start": "2027-02-17T08:45",
        "end": "2027-02-17T10:15"})
    assert status == 302, body
    draft = client.get("/desk/brouillon").get_data(as_text=True)
    assert "Tour des Villes n° 4 : Marseille" in draft
    assert publish(client) == 302
    event = calendar_event(client, "marseille")
    assert event.decoded("DTSTART").isoformat() == "2027-02-17T08:45:00+01:00"
    titles = [e.title for e in feedparser.parse(client.get("/rss.xml").data).entries]
    assert any("Marseille" in t for t in titles)
    # Move it and cancel it (a held session cannot be), add a replay to another: one
    # publication.
    assert post(client, "/desk/seances/marseille/reporter", {
        "start": "2027-03-17T08:45", "end": "2027-03-17T10:15"})[0] == 302
    cancel = client.post("/desk/seances/marseille/annuler",
                         data={"csrf_token": token(client, "/desk/seances/marseille/annuler")})
    assert cancel.status_code == 302
    assert post(client, "/desk/seances/clermont-ferrand/replay",
                {"replay_url": "https://video.example.org/clermont"})[0] == 302
    listed = client.get("/desk/brouillon").get_data(as_text=True)
    assert "mise à jour dans les calendriers (SEQUENCE 0 → 1) : début, fin" in listed
    assert publish(client, "annonce") == 302
    event = calendar_event(client, "marseille")
    assert event.decoded("DTSTART").isoformat() == "2027-03-17T08:45:00+01:00"
    assert event["SEQUENCE"] == 1
    assert event["STATUS"] == "CANCELLED"
    text = schedule.read_text(encoding="utf-8")
    assert 'replay_url = "https://video.example.org/clermont"' in text
    assert text.count('status = "cancelled"') == 1
    assert client.get("/events/clermont-ferrand").get_data(as_text=True).count(
        "https://video.example.org/clermont") >= 1


def test_desk_refuses_to_publish_over_a_hand_edit_and_loses_neither(
    app: Flask, schedule: Path
) -> None:
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre du brouillon"})[0] \
        == 302
    hand = schedule.read_text(encoding="utf-8").replace('city = "Bourges"',
                                                         'city = "Bourges (Cher)"')
    schedule.write_text(hand, encoding="utf-8")
    answer = client.post("/desk/publier", data={"csrf_token": token(client, "/desk/brouillon")})
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "+city = &#34;Bourges (Cher)&#34;" in page
    assert "+title = &#34;Titre du brouillon&#34;" in page
    assert schedule.read_text(encoding="utf-8") == hand
    assert "Titre du brouillon" in client.get("/desk/seances/clermont-ferrand").get_data(
        as_text=True)
    # The two changes touch different lines: the draft can be carried over, then published.
    client.post("/desk/reprendre", data={"csrf_token": token(client, "/desk/brouillon")})
    assert publish(client) == 302
    text = schedule.read_text(encoding="utf-8")
    assert 'city = "Bourges (Cher)"' in text and 'title = "Titre du brouillon"' in text


def test_desk_publishes_into_the_file_a_linked_schedule_names(tmp_path: Path) -> None:
    # data/sessions.toml a link into a checkout of the schedule's repository, group-writable
    # for the people who edit it there by hand: the desk's edit lands in the checkout, the
    # link stays, and so do the file's group and mode. Renamed over the link, the desk left
    # the checkout behind, and every hand edit or pull there was ignored without a word.
    checkout, data = tmp_path / "checkout", tmp_path / "data"
    checkout.mkdir()
    data.mkdir()
    shutil.copy(SHIPPED, checkout / "sessions.toml")
    groups = [g for g in os.getgroups() if g != os.getgid()] or ([4242] if os.geteuid() == 0
                                                                 else [])
    group = groups[0] if groups else os.getgid()
    os.chown(checkout / "sessions.toml", -1, group)
    os.chmod(checkout / "sessions.toml", 0o664)
    (data / "sessions.toml").symlink_to(checkout / "sessions.toml")
    shutil.copy(ROOT / "data" / "sessions.published.json", data / "sessions.published.json")
    add_editor(data / "sessions.toml")
    client = create_app({"AGENDA_DATA": str(data / "sessions.toml"), "AGENDA_SECRET": SECRET,
                         "TESTING": True, "AGENDA_DESK_SECURE": False}).test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre du brouillon"})[0] \
        == 302
    assert publish(client) == 302
    assert (data / "sessions.toml").is_symlink()
    sessions = tomllib.loads((checkout / "sessions.toml").read_text(encoding="utf-8"))
    assert [s["title"] for s in sessions["sessions"] if s["id"] == "clermont-ferrand"] == [
        "Titre du brouillon"]
    info = (checkout / "sessions.toml").stat()
    assert (info.st_gid, info.st_mode & 0o777) == (group, 0o664)
    assert [p.name for p in checkout.iterdir()] == ["sessions.toml"], "no temporary left"


def test_desk_never_writes_over_a_hand_edit_saved_while_the_preview_is_built(
    app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # « Publier » builds the draft's site before it writes the file (a minute at 10,000
    # sessions); a hand edit over SSH takes no lock, and one saved meanwhile was written over:
    # gone from the file, and from what was published next.
    from agenda.desk import views

    build = views._draft_site

    def saved_by_hand_meanwhile(*args: object) -> object:
        text = schedule.read_text(encoding="utf-8")
        schedule.write_text(text.replace('city = "Bourges"', 'city = "Bourges (Cher)"'),
                            encoding="utf-8")
        return build(*args)

    monkeypatch.setattr(views, "_draft_site", saved_by_hand_meanwhile)
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre du brouillon"})[0] \
        == 302
    answer = client.post("/desk/publier", data={"csrf_token": token(client, "/desk/brouillon")})
    assert answer.status_code == 409
    assert "+city = &#34;Bourges (Cher)&#34;" in answer.get_data(as_text=True)
    sessions = {s["id"]: s for s in tomllib.loads(schedule.read_text(encoding="utf-8"))[
        "sessions"]}
    assert (sessions["bourges"]["city"], sessions["clermont-ferrand"]["title"]) == (
        "Bourges (Cher)", load_schedule(SHIPPED).session("clermont-ferrand").title)
    monkeypatch.setattr(views, "_draft_site", build)
    client.post("/desk/reprendre", data={"csrf_token": token(client, "/desk/brouillon")})
    assert publish(client) == 302
    sessions = {s["id"]: s for s in tomllib.loads(schedule.read_text(encoding="utf-8"))[
        "sessions"]}
    assert (sessions["bourges"]["city"], sessions["clermont-ferrand"]["title"]) == (
        "Bourges (Cher)", "Titre du brouillon")


@pytest.mark.parametrize(("began", "saved"), [("\n", "\r\n"), ("\r\n", "\n")])
def test_desk_carries_a_draft_over_a_hand_edit_saved_with_other_line_ends(
    app: Flask, schedule: Path, began: str, saved: str
) -> None:
    # The file saved again on Windows (CRLF), or back on the server (LF): each line of it
    # "changed", yet the editor's change and the hand edit touch different sessions.
    schedule.write_bytes(schedule.read_bytes().replace(b"\n", began.encode()))
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre du brouillon"})[0] \
        == 302
    hand = schedule.read_bytes().decode("utf-8").replace(began, "\n").replace(
        'city = "Bourges"', 'city = "Bourges (Cher)"').replace("\n", saved)
    schedule.write_bytes(hand.encode("utf-8"))
    conflict = client.post("/desk/publier", data={
        "csrf_token": token(client, "/desk/brouillon")})
    assert conflict.status_code == 409
    theirs = lxml.html.fromstring(conflict.data).xpath("//main//pre")[0].text_content()
    assert [line for line in theirs.splitlines() if line[:1] in "+-"] == [
        "--- début du brouillon", "+++ fichier actuel",
        '-city = "Bourges"', '+city = "Bourges (Cher)"'], "the hand edit, not every line"
    answer = client.post("/desk/reprendre", data={"csrf_token": token(client, "/desk/brouillon")})
    assert answer.status_code == 302
    assert publish(client) == 302
    text = schedule.read_bytes().decode("utf-8")
    sessions = {s["id"]: s for s in tomllib.loads(text)["sessions"]}
    assert (sessions["bourges"]["city"], sessions["clermont-ferrand"]["title"]) == (
        "Bourges (Cher)", "Titre du brouillon")
    assert text.count(saved) == text.count("\n"), "the line ends of the file as saved"


def test_desk_same_lines_changed_twice_cannot_be_carried_over(
    app: Flask, schedule: Path
) -> None:
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/bourges", {"city": "Bourges (18)"})
    hand = schedule.read_text(encoding="utf-8").replace('city = "Bourges"',
                                                         'city = "Bourges (Cher)"')
    schedule.write_text(hand, encoding="utf-8")
    answer = client.post("/desk/publier", data={"csrf_token": token(client, "/desk/brouillon")})
    assert answer.status_code == 409
    assert "portent sur les mêmes lignes" in answer.get_data(as_text=True)
    client.post("/desk/reprendre", data={"csrf_token": token(client, "/desk/brouillon")})
    assert publish(client) == 409
    assert schedule.read_text(encoding="utf-8") == hand


def test_desk_round_trip_changes_only_the_edited_lines(app: Flask, schedule: Path) -> None:
    before = schedule.read_text(encoding="utf-8").splitlines()
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {})[0] == 302
    assert post(client, "/desk/series/tour-des-villes", {})[0] == 302
    assert post(client, "/desk/agenda", {})[0] == 302
    assert post(client, "/desk/contacts", {})[0] == 302
    assert post(client, "/desk/seances/clermont-ferrand/reporter",
                {"start": "2021-05-19T09:00"})[0] == 302
    assert publish(client) == 302
    after = schedule.read_text(encoding="utf-8").splitlines()
    diff = [line for line in difflib.unified_diff(before, after, lineterm="", n=0)
            if not line.startswith("@@")]
    assert diff == ["--- ", "+++ ", "-start = 2021-05-19T08:45:00", "+start = 2021-05-19T09:00:00"]


def test_desk_shows_errors_on_the_field_in_french(app: Flask) -> None:
    client = app.test_client()
    login(client)
    status, page = post(client, "/desk/seances/clermont-ferrand/reporter",
                        {"start": "19/05/2021", "end": "2021-05-19T08:00"})
    assert status == 422
    assert 'id="f-start-erreur">Écrivez la date et l’heure ainsi' in page
    assert 'aria-describedby="f-start-aide f-start-erreur" aria-invalid="true"' in page
    assert 'name="start" type="datetime-local" value="19/05/2021"' in page  # kept to correct
    status, page = post(client, "/desk/seances/clermont-ferrand/reporter",
                        {"start": "2021-05-19T09:00", "end": "2021-05-19T08:00"})
    assert status == 422
    error = lxml.html.fromstring(page).get_element_by_id("f-end-erreur").text_content()
    assert error == "doit venir après « Début »"  # the loader's words, with the form's label
    assert 'href="#f-end">Fin : doit venir après « Début »' in page


def test_desk_counts_the_points_to_correct_in_french(app: Flask) -> None:
    """One error was « 1 point(s) à corriger »: French says « 1 point », « 2 points »."""
    client = app.test_client()
    login(client)
    for data, count in (({"end": "2021-05-19T08:00"}, "1 point à corriger"),
                        ({"start": "19/05/2021", "end": "20/05/2021"}, "2 points à corriger")):
        status, page = post(client, "/desk/seances/clermont-ferrand/reporter", data)
        assert status == 422
        heading = lxml.html.fromstring(page).xpath("//div[@id='erreurs']/h2")[0].text_content()
        assert heading.endswith(count) and "(s)" not in heading, heading


def desk_urls(app: Flask) -> list[tuple[str, str]]:
    """Every desk URL and method of the URL map, with sample values for its variables."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/desk") or rule.endpoint == "desk.static":
            continue  # the stylesheet holds no data
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: {
            "session_id": "clermont-ferrand", "series_id": "tour-des-villes",
            "path": "index.html"}.get(m.group(1), "x"), rule.rule)
        found += [(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}]
    return sorted(found)


def test_desk_without_login_gives_the_login_page_or_403(app: Flask) -> None:
    client = app.test_client()
    urls = desk_urls(app)
    assert len(urls) >= 15
    csrf = token(client)
    for method, path in urls:
        answer = client.open(path, method=method, data={"csrf_token": csrf})
        body = answer.get_data(as_text=True)
        if path == "/desk/connexion" and method == "POST":
            assert "Adresse ou mot de passe incorrect" in body
        elif path == "/desk/trop-volumineux":  # nginx's 413, in the desk's words
            assert answer.status_code == 413 and "Clermont" not in body
        elif method == "GET":
            assert answer.status_code == 200 and 'name="password"' in body, path
            assert "Clermont" not in body, path
        else:
            assert answer.status_code == 403, path
        assert answer.headers["Cache-Control"] == "private, no-store"
        assert "noindex" in answer.headers["X-Robots-Tag"]
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_desk_post_without_csrf_token_gives_400(app: Flask) -> None:
    client = app.test_client()
    login(client)
    for path in ("/desk/publier", "/desk/connexion", "/desk/seances/biarritz/annuler"):
        assert client.post(path, data={}).status_code == 400


def test_desk_ten_wrong_passwords_give_429(
    app: Flask, schedule: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    statuses = [login(client, "mauvais mot de passe") for _ in range(10)]
    assert statuses == [200] * 9 + [429]
    # Another worker process (another app on the same files) counts the same failures.
    other = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET,
                        "AGENDA_DESK_SECURE": False}).test_client()
    assert login(other) == 429
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": PASSWORD})
    assert answer.status_code == 429
    assert "Trop de tentatives" in answer.get_data(as_text=True)
    assert "failed login for 'helene@ceps-oing.org'" in caplog.text


def test_desk_cookie_from_before_logout_is_refused(app: Flask) -> None:
    client = app.test_client()
    login(client)
    cookie = client.get_cookie("agenda_desk", path="/desk")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    lifetime = cookie.expires - datetime.now(UTC)
    assert timedelta(hours=7, minutes=59) < lifetime <= timedelta(hours=8)
    assert "Clermont" in client.get("/desk/").get_data(as_text=True)
    client.post("/desk/deconnexion", data={"csrf_token": token(client, "/desk/")})
    other = app.test_client()
    other.set_cookie("agenda_desk", cookie.value, path="/desk")
    page = other.get("/desk/").get_data(as_text=True)
    assert 'name="password"' in page and "Clermont" not in page


def test_desk_is_off_until_an_editor_exists(tmp_path: Path) -> None:
    target = tmp_path / "sessions.toml"
    shutil.copy(SHIPPED, target)
    app = create_app({"AGENDA_DATA": str(target), "AGENDA_SECRET": SECRET})
    assert app.test_client().get("/desk/").status_code == 404
    add_editor(target)
    assert app.test_client().get("/desk/").status_code == 200
    without_secret = create_app({"AGENDA_DATA": str(target), "AGENDA_SECRET": None})
    assert without_secret.test_client().get("/desk/").status_code == 404


@pytest.mark.parametrize("series", ["", '[[series]]\nid = "s"\ntitle = "Série"\n'])
def test_desk_says_when_a_series_or_the_file_has_none_yet(tmp_path: Path, series: str) -> None:
    """A series without sessions showed its table's headings over no row; a file without series,
    the heading « Séances » over nothing, with no word of what to do."""
    target = tmp_path / "sessions.toml"
    target.write_text('[calendar]\nname = "Essai"\nbase_url = "https://agenda.example.org"\n'
                      'organizer = { name = "Club" }\n' + series, encoding="utf-8")
    add_editor(target)
    client = create_app({"AGENDA_DATA": str(target), "AGENDA_SECRET": SECRET, "TESTING": True,
                         "AGENDA_DESK_SECURE": False}).test_client()
    login(client)
    main_part = lxml.html.fromstring(client.get("/desk/").data).xpath("//main")[0]
    assert main_part.xpath("//table") == []
    said = [" ".join(p.text_content().split()) for p in main_part.xpath(".//p")]
    assert [line for line in said if line.startswith("Aucune séance" if series else
                                                     "Le fichier de l’agenda n’a encore")], said


def test_desk_secure_cookie_when_base_url_is_https(schedule: Path) -> None:
    add_editor(schedule)
    app = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": PASSWORD})
    assert answer.status_code == 302
    lines = answer.headers.getlist("Set-Cookie")
    assert len(lines) == 1
    cookie = SimpleCookie(lines[0])
    # A __Host- cookie, which browsers take only Secure, on Path=/, without a Domain.
    assert list(cookie) == ["__Host-agenda_desk"]
    morsel = cookie["__Host-agenda_desk"]
    assert (morsel["secure"], morsel["path"], morsel["domain"]) == (True, "/", "")
    assert morsel["httponly"] is True
    assert "Clermont" in client.get("/desk/").get_data(as_text=True)


def test_desk_host_cookie_is_neither_read_nor_renewed_by_the_site(schedule: Path) -> None:
    # The __Host- cookie's Path is /: a logged-in editor's browser sends it to the whole site,
    # whose answers (cached by proxies and CDNs) must not renew it, nor vary on it.
    add_editor(schedule)
    app = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET})
    client = app.test_client()
    client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": PASSWORD})
    assert client.get_cookie("__Host-agenda_desk") is not None
    city = tomllib.loads(schedule.read_text(encoding="utf-8"))["sessions"][0]["city"]
    for url in (f"/events.ics?city={city}", "/introuvable", "/events.ics/", "/healthz"):
        answer = client.get(url)
        assert answer.status_code in (200, 308, 404), url
        assert answer.headers.getlist("Set-Cookie") == [], url
        assert "cookie" not in answer.headers.get("Vary", "").lower(), url
    answer = client.get("/desk/")  # the desk reads it, and renews it
    assert "Clermont" in answer.get_data(as_text=True)
    assert list(SimpleCookie(answer.headers["Set-Cookie"])) == ["__Host-agenda_desk"]


def test_desk_plain_http_cookie_has_no_host_prefix(app: Flask) -> None:
    # Development over http://localhost: a browser drops a __Host- cookie without Secure.
    client = app.test_client()
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": PASSWORD})
    cookie = SimpleCookie(answer.headers["Set-Cookie"])
    assert list(cookie) == ["agenda_desk"]
    assert (cookie["agenda_desk"]["secure"], cookie["agenda_desk"]["path"]) == ("", "/desk")


def test_editor_cli_adds_lists_and_removes(schedule: Path) -> None:
    runner = CliRunner()
    add_editor(schedule, "Eva@in-darra.fr")
    listed = runner.invoke(main, ["editor", "list", "--data", str(schedule)])
    assert listed.output == "eva@in-darra.fr\tHélène Pichon\n"
    assert "password" not in listed.output
    short = runner.invoke(main, ["editor", "add", "x@example.org", "--name", "X",
                                 "--password-stdin", "--data", str(schedule)], input="court\n")
    assert short.exit_code == 1 and "au moins 10 caractères" in short.output
    assert short.output.startswith("agenda : ")  # French typography, as every other command
    asked = runner.invoke(main, ["editor", "add", "y@example.org", "--name", "Y", "--data",
                                 str(schedule)], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert asked.exit_code == 0, asked.output
    removed = runner.invoke(main, ["editor", "remove", "eva@in-darra.fr", "--data", str(schedule)])
    assert removed.exit_code == 0
    listed = runner.invoke(main, ["editor", "list", "--data", str(schedule)])
    assert listed.output == "y@example.org\tY\n"
    assert runner.invoke(main, ["editor", "remove", "nobody@example.org", "--data",
                                str(schedule)]).exit_code == 1


def test_editor_cli_keeps_the_password_hashes_from_other_users(schedule: Path) -> None:
    add_editor(schedule)
    assert stat.S_IMODE(editors_path(schedule).stat().st_mode) == 0o600


def test_editor_removed_with_a_draft_is_told_where_it_stays(app: Flask, schedule: Path) -> None:
    # A colleague leaves with a session half written: whoever removes them is told the work
    # is there, and how to get it back; adding the address again gives it back whole.
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre du brouillon"})[0] \
        == 302
    removed = CliRunner().invoke(main, ["editor", "remove", EMAIL, "--data", str(schedule)])
    assert removed.exit_code == 0, removed.output
    lines = removed.output.splitlines()
    assert len(lines) == 2 and "n’a pas publié y reste" in lines[1], removed.output
    draft = Path(lines[1].split(" : ")[0])
    assert draft.parent == schedule.parent / ".drafts"
    assert "Titre du brouillon" in json.loads(draft.read_text(encoding="utf-8"))["text"]
    add_editor(schedule)
    client = app.test_client()
    login(client)
    assert "Titre du brouillon" in client.get("/desk/brouillon").get_data(as_text=True)
    # Without a draft, the removal says the removal alone.
    add_editor(schedule, "eva@in-darra.fr")
    quiet = CliRunner().invoke(main, ["editor", "remove", "Eva@in-darra.fr", "--data",
                                      str(schedule)])
    assert len(quiet.output.splitlines()) == 1, quiet.output


def test_desk_abandon_drops_the_draft(app: Flask, schedule: Path) -> None:
    before = schedule.read_text(encoding="utf-8")
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/clermont-ferrand", {"title": "Autre"})
    # « Abandonner le brouillon » first shows what would be lost: a slip loses nothing.
    draft = lxml.html.fromstring(client.get("/desk/brouillon").data)
    assert draft.xpath("//main//a[.='Abandonner le brouillon']/@href") == ["/desk/abandonner"]
    asked = lxml.html.fromstring(client.get("/desk/abandonner").data)
    assert 'title = "Autre"' in asked.xpath("//main//pre")[0].text_content()
    assert asked.xpath("//main//a[.='Garder le brouillon']/@href") == ["/desk/brouillon"]
    assert "Rien à publier" not in client.get("/desk/brouillon").get_data(as_text=True)
    assert post(client, "/desk/abandonner", {})[0] == 302
    assert "Rien à publier" in client.get("/desk/brouillon").get_data(as_text=True)
    assert schedule.read_text(encoding="utf-8") == before


def test_desk_two_tabs_saving_at_once_keep_both_changes(
    app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A form is checked before it is saved (seconds at 10,000 sessions); another tab's form
    # saved meanwhile was undone by this one, which saved the draft it had started from.
    from agenda.desk import drafts, views

    check = views._try
    cities = iter(["Bourges (Cher)", "Bourges, Cher"])

    def other_tab_saves_meanwhile(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(views, "_try", check)
        assert post(other, "/desk/seances/bourges", {"city": next(cities)})[0] == 302
        return check(*args, **kwargs)

    client, other = app.test_client(), app.test_client()
    login(client)
    login(other)
    page = lxml.html.fromstring(client.get("/desk/seances/clermont-ferrand").data)
    fields = dict(page.xpath("//main//form")[0].form_values())
    monkeypatch.setattr(views, "_try", other_tab_saves_meanwhile)
    answer = client.post("/desk/seances/clermont-ferrand",
                         data={**fields, "title": "Titre du brouillon"})
    assert answer.status_code == 302
    draft = drafts.load_draft(schedule, EMAIL)
    assert draft is not None
    sessions = {s["id"]: s for s in tomllib.loads(draft.text)["sessions"]}
    assert (sessions["bourges"]["city"], sessions["clermont-ferrand"]["title"]) == (
        "Bourges (Cher)", "Titre du brouillon")
    # The same line changed in both tabs: nothing is saved, and the page says how to get
    # the typing back.
    monkeypatch.setattr(views, "_try", other_tab_saves_meanwhile)
    page = lxml.html.fromstring(client.get("/desk/seances/bourges").data)
    fields = dict(page.xpath("//main//form")[0].form_values())
    answer = client.post("/desk/seances/bourges", data={**fields, "city": "Bourges (18)"})
    assert answer.status_code == 409
    assert "bouton Précédent" in answer.get_data(as_text=True)
    draft = drafts.load_draft(schedule, EMAIL)
    assert draft is not None
    assert [s["city"] for s in tomllib.loads(draft.text)["sessions"] if s["id"] == "bourges"] \
        == ["Bourges, Cher"]


def test_desk_abandon_confirmed_keeps_a_change_saved_since_in_another_tab(
    app: Flask, schedule: Path
) -> None:
    # The confirmation page shows the draft's changes; a change saved in another tab after it
    # was shown is not abandoned unseen: the page comes back with it, and nothing is lost.
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/clermont-ferrand", {"title": "Autre"})
    page = lxml.html.fromstring(client.get("/desk/abandonner").data)
    confirm = dict(page.xpath("//main//form")[0].form_values())
    post(client, "/desk/seances/bourges", {"city": "Bourges (Cher)"})  # the other tab
    answer = client.post("/desk/abandonner", data=confirm)
    assert answer.status_code == 409
    again = lxml.html.fromstring(answer.data)
    assert "rien n’a été abandonné" in again.xpath("//main//p[@role='alert']")[0].text_content()
    shown = again.xpath("//main//pre")[0].text_content()
    assert 'title = "Autre"' in shown and 'city = "Bourges (Cher)"' in shown
    draft = client.get("/desk/brouillon").get_data(as_text=True)
    assert "Bourges (Cher)" in draft and "Rien à publier" not in draft
    # Confirmed from the page that shows both, the draft is abandoned.
    assert client.post("/desk/abandonner", data=dict(
        again.xpath("//main//form")[0].form_values())).status_code == 302
    assert "Rien à publier" in client.get("/desk/brouillon").get_data(as_text=True)


def test_desk_preview_serves_the_draft_with_a_banner(app: Flask) -> None:
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/clermont-ferrand", {"title": "Un titre du brouillon"})
    page = client.get("/desk/apercu/events/clermont-ferrand").get_data(as_text=True)
    assert "Aperçu du brouillon" in page and "Un titre du brouillon" in page
    assert "Un titre du brouillon" not in client.get("/events/clermont-ferrand").get_data(
        as_text=True)
    assert client.get("/desk/apercu/../../sessions.toml").status_code == 404
    # The parts a build keeps for the next one are not served, in the preview as on the site.
    parts = "/_parts/sessions/clermont-ferrand.part"
    assert [client.get(p).status_code for p in (parts, "/desk/apercu" + parts)] == [404, 404]
    feed = client.get("/desk/apercu/calendar.ics")
    assert feed.headers["Content-Type"].startswith("text/calendar")
    assert feed.headers["Cache-Control"] == "private, no-store"
    events = icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert any("Un titre du brouillon" in str(e.get("DESCRIPTION", "")) for e in events)
    # A session's download comes as the site sends it: a file of its own name.
    download = client.get("/desk/apercu/events/clermont-ferrand.ics")
    assert download.headers["Content-Disposition"] == \
        client.get("/events/clermont-ferrand.ics").headers["Content-Disposition"]


def test_autopublish_off_keeps_a_saved_file_waiting_for_the_desk(schedule: Path) -> None:
    add_editor(schedule)
    app = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET,
                      "AGENDA_AUTOPUBLISH": False, "AGENDA_DESK_SECURE": False})
    client = app.test_client()
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        'city = "Bourges"', 'city = "Bourges (Cher)"'), encoding="utf-8")
    assert "Bourges (Cher)" not in client.get("/").get_data(as_text=True)
    login(client)
    assert "Bourges (Cher)" in client.get("/desk/brouillon").get_data(as_text=True)
    assert publish(client) == 302
    assert "Bourges (Cher)" in client.get("/").get_data(as_text=True)


def test_desk_correction_gives_sequence_plus_one_and_no_news(app: Flask, schedule: Path) -> None:
    client = app.test_client()
    login(client)
    before = calendar_event(client, "clermont-ferrand")["SEQUENCE"]
    post(client, "/desk/seances/clermont-ferrand/reporter",
         {"start": "2021-05-20T08:45", "end": "2021-05-20T10:15"})
    assert publish(client, "correction") == 302
    event = calendar_event(client, "clermont-ferrand")
    assert event.decoded("DTSTART").isoformat() == "2021-05-20T08:45:00+02:00"
    assert event["SEQUENCE"] == before + 1
    entries = feedparser.parse(client.get("/rss.xml").data).entries
    assert not any(e.title.startswith("Nouvelle date") for e in entries)
    assert not any("Reporté" in e.title for e in entries)
    history = json.loads(schedule.with_name("sessions.published.json").read_text("utf-8"))
    last = history["sessions"]["clermont-ferrand"]["revisions"][-1]
    assert (last["by"], last["correction"]) == (EMAIL, True)


def test_rebase_carries_changes_to_other_lines_and_refuses_the_same_lines() -> None:
    base = "a\nb\nc\nd\ne\nf\n"
    draft = Draft("a\nB\nc\nd\ne\nf\n", base)
    carried = rebase(draft, "a\nb\nc\nd\nE\nf\n")
    assert carried == Draft("a\nB\nc\nd\nE\nf\n", "a\nb\nc\nd\nE\nf\n")
    assert rebase(draft, "a\nb2\nc\nd\ne\nf\n") is None
    assert rebase(Draft(base + "g\n", base), "x\n" + base) == Draft("x\n" + base + "g\n",
                                                                     "x\n" + base)


def _dated(session_id: str, city: str, number: int) -> str:
    """A session of the series, its n° the month it is held in from January 2027."""
    day = f"{2027 + (number - 1) // 12}-{(number - 1) % 12 + 1:02}-17"
    return (f'\n[[sessions]]\nid = "{session_id}"\nseries = "tour-des-villes"\n'
            f'number = {number}\ncity = "{city}"\nstart = {day}T08:45:00\n'
            f'end = {day}T10:15:00\nannounced = 2026-12-01\nstatus = "confirmed"\n')


def test_desk_carries_a_cancellation_over_to_its_own_session_not_one_added_next_to_it(
    app: Flask, schedule: Path
) -> None:
    # Lyon cancelled in the draft; meanwhile Nice was added by hand between Lyon and Marseille.
    # Every session ends with the same lines (status = "confirmed"): matched by text alone,
    # the sessions after (more lines than those before) took Lyon's last lines for Nice's, and
    # the draft carried over cancelled Nice, Lyon going ahead.
    lyon, marseille = _dated("lyon", "Lyon", 4), _dated("marseille", "Marseille", 6)
    later = "".join(_dated(f"ville-{n}", f"Ville {n}", n) for n in range(7, 20))
    schedule.write_text(schedule.read_text(encoding="utf-8") + lyon + marseille + later,
                        "utf-8")
    assert CliRunner().invoke(main, ["publish", str(schedule)]).exit_code == 0
    client = app.test_client()
    login(client)
    cancel = client.post("/desk/seances/lyon/annuler",
                         data={"csrf_token": token(client, "/desk/seances/lyon/annuler")})
    assert cancel.status_code == 302
    hand = schedule.read_text(encoding="utf-8").replace(
        marseille, _dated("nice", "Nice", 5) + marseille)
    schedule.write_text(hand, encoding="utf-8")
    client.post("/desk/reprendre", data={"csrf_token": token(client, "/desk/brouillon")})
    assert publish(client) == 302
    statuses = {s["id"]: s.get("status") for s in tomllib.loads(
        schedule.read_text(encoding="utf-8"))["sessions"]}
    assert (statuses["lyon"], statuses["nice"], statuses["marseille"]) == (
        "cancelled", "confirmed", "confirmed")
    assert calendar_event(client, "lyon")["STATUS"] == "CANCELLED"
    assert calendar_event(client, "nice")["STATUS"] == "CONFIRMED"


def test_desk_edit_keeps_a_second_series_written_above_its_own_sessions(
    app: Flask, schedule: Path
) -> None:
    # Each series followed by its sessions: valid TOML, which tomlkit lays out anew (every
    # [[series]] together) at any edit; a title changed moved the second series, its
    # comment left behind, above the first series' sessions. The change is its line alone.
    text = schedule.read_text(encoding="utf-8")
    series = text[text.index("[[series]]"):text.index("\n# The press release")]
    second = series.replace('id = "tour-des-villes"', 'id = "tour-des-regions"').replace(
        'title = "Tour des Villes"', 'title = "Tour des Régions"')
    rennes = _dated("rennes", "Rennes", 7).replace('"tour-des-villes"', '"tour-des-regions"')
    before = text + "\n# The second series, then its sessions.\n" + second + rennes
    schedule.write_text(before, encoding="utf-8")
    assert CliRunner().invoke(main, ["publish", str(schedule)]).exit_code == 0
    client = app.test_client()
    login(client)
    for path, values in (("/desk/seances/clermont-ferrand", {"title": "Titre du brouillon"}),
                         ("/desk/seances/rennes", {"city": "Rennes (Ille-et-Vilaine)"})):
        assert post(client, path, values)[0] == 302
    assert publish(client) == 302
    after = schedule.read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True)
               if a != b]
    assert [b for _, b in changed] == ['title = "Titre du brouillon"',
                                        'city = "Rennes (Ille-et-Vilaine)"']


def test_rebase_puts_lines_both_added_at_one_place_one_after_the_other() -> None:
    base = '[a]\nx = 1\n'
    mine = Draft(base + 'y = 2\n', base)
    assert rebase(mine, base + 'z = 3\n') == Draft(base + 'z = 3\ny = 2\n', base + 'z = 3\n')
    assert rebase(mine, base + 'y = 3\n') is None, "one key set twice: the editor chooses"


def test_desk_two_editors_add_a_session_each_and_both_are_published(
    app: Flask, schedule: Path
) -> None:
    # Both new sessions go at the end of the file: the second editor's draft is carried over.
    add_editor(schedule, "eva@in-darra.fr")
    helene, eva = app.test_client(), app.test_client()
    login(helene)
    assert eva.post("/desk/connexion", data={"csrf_token": token(eva), "email": "eva@in-darra.fr",
                                             "password": PASSWORD}).status_code == 302
    for client, city, month in ((helene, "Lille", "03"), (eva, "Nice", "04")):
        assert post(client, "/desk/series/tour-des-villes/nouvelle", {
            "id": city.lower(), "city": city, "start": f"2027-{month}-17T08:45",
            "end": f"2027-{month}-17T10:15"})[0] == 302
    assert publish(helene) == 302
    refused = eva.post("/desk/publier", data={"csrf_token": token(eva, "/desk/brouillon")})
    assert refused.status_code == 409
    assert "Reporter mon brouillon sur le fichier actuel" in refused.get_data(as_text=True)
    eva.post("/desk/reprendre", data={"csrf_token": token(eva, "/desk/brouillon")})
    # Both took number 4: said on the draft, put right in the form.
    assert "4 est déjà le numéro de la séance « lille »" in html.unescape(
        eva.get("/desk/brouillon").get_data(as_text=True))
    assert post(eva, "/desk/seances/nice", {"number": "5"})[0] == 302
    assert publish(eva) == 302
    feed = icalendar.Calendar.from_ical(eva.get("/calendar.ics").data)
    starts = {str(e["SUMMARY"]): e.decoded("DTSTART").date().isoformat()
              for e in feed.walk("VEVENT")}
    assert (starts["Tour des Villes n° 4 : Lille"], starts["Tour des Villes n° 5 : Nice"]) == (
        "2027-03-17", "2027-04-17")


def test_desk_contacts_add_and_remove(app: Flask, schedule: Path) -> None:
    client = app.test_client()
    login(client)
    status, page = post(client, "/desk/contacts", {
        "contacts.1.name": "", "contacts.1.organization": "", "contacts.1.phone": "",
        "contacts.1.email": "", "contacts.3.name": "Jeanne Martin",
        "contacts.3.email": "jeanne@example.org"})
    assert status == 302, page
    assert publish(client) == 302
    names = [c.name for c in load_schedule(schedule).contacts]
    assert names == ["Hélène Pichon", "Emmanuel Thérond", "Jeanne Martin"]


def test_desk_publishes_a_change_of_the_settings_alone_from_its_button(
    app: Flask, schedule: Path
) -> None:
    # No session changes: the draft page still offers « Publier » (it said « Rien à publier »).
    client = app.test_client()
    login(client)
    assert post(client, "/desk/agenda", {"name": "CEPS – Les matinales"})[0] == 302
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    said = " ".join(page.xpath("//main")[0].text_content().split())
    assert "Aucune séance ne change" in said and "Rien à publier" not in said
    form = page.xpath("//main//form[.//button[.='Publier']]")[0]
    answer = client.post(form.get("action"), data=dict(form.form_values()))
    assert answer.status_code == 302
    feed = icalendar.Calendar.from_ical(client.get("/calendar.ics").data)
    assert str(feed["X-WR-CALNAME"]) == "CEPS – Les matinales"
    assert "Rien à publier" in client.get("/desk/brouillon").get_data(as_text=True)


def test_desk_forms_show_every_declared_field_with_its_french_label(app: Flask) -> None:
    client = app.test_client()
    login(client)
    for path, table in (("/desk/seances/clermont-ferrand", SESSION),
                        ("/desk/series/tour-des-villes", SERIES), ("/desk/agenda", CALENDAR)):
        page = html.unescape(client.get(path).get_data(as_text=True))
        for field in editable(table):
            assert field.label and field.label in page, (path, field.name)
            assert not field.help or field.help in page, (path, field.name)
            if field.kind not in (Kind.TABLE, Kind.TABLES):
                assert f'name="{field.name}"' in page, (path, field.name)


def test_desk_cancel_refused_when_the_session_has_a_replay(app: Flask) -> None:
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/clermont-ferrand/replay",
         {"replay_url": "https://video.example.org/clermont"})
    answer = client.post("/desk/seances/clermont-ferrand/annuler", data={
        "csrf_token": token(client, "/desk/seances/clermont-ferrand/annuler")})
    assert answer.status_code == 422
    assert "Lien du replay" in answer.get_data(as_text=True)


def test_desk_says_when_the_file_is_not_toml_and_the_draft_page_says_why(
    app: Flask, schedule: Path
) -> None:
    client = app.test_client()
    login(client)
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        "number = 3", "number = = 3"), encoding="utf-8")
    answer = client.get("/desk/")
    assert answer.status_code == 409
    assert "Le fichier de l’agenda est illisible" in answer.get_data(as_text=True)
    draft = client.get("/desk/brouillon")
    assert draft.status_code == 200
    assert "ne peut pas être publié" in draft.get_data(as_text=True)


def test_desk_unreadable_published_file_gives_a_french_page(app: Flask, schedule: Path) -> None:
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/clermont-ferrand", {"title": "Autre titre"})
    schedule.with_name("sessions.published.json").write_text("{ pas du JSON", encoding="utf-8")
    answer = client.post("/desk/publier", data={"csrf_token": token(client, "/desk/")})
    assert answer.status_code == 503
    assert "Rien n’a été publié" in answer.get_data(as_text=True)


def test_desk_says_to_restart_agenda_changed_on_disk_not_to_undo_the_change(
    app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `git pull` in the service's checkout, not restarted yet: the builder refuses to mix the
    # files of two releases (tests.test_operations), and « Publier » told the editor to undo
    # the last change of a draft that is fine.
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/clermont-ferrand", {"title": "Autre titre"})
    monkeypatch.setattr(site, "RELEASE", "0" * 16)  # what this process loaded: not on disk
    answer = client.post("/desk/publier", data={"csrf_token": token(client, "/desk/")})
    assert answer.status_code == 503
    text = " ".join(lxml.html.fromstring(answer.data).xpath("//main")[0].text_content().split())
    assert "systemctl restart agenda" in text and "Rien n’a été publié" in text
    assert "Autre titre" not in schedule.with_name("sessions.published.json").read_text("utf-8")


def test_desk_a_form_the_desk_cannot_save_says_how_to_get_the_typing_back(
    app: Flask, schedule: Path
) -> None:
    # The drafts cannot be written (here a file where their folder goes; a disk full alike):
    # the editor is told that the browser's Back still has what was typed, not only to try
    # again, which from the link to the desk was an hour of typing lost.
    client = app.test_client()
    login(client)
    page = lxml.html.fromstring(client.get("/desk/seances/clermont-ferrand").data)
    fields = dict(page.xpath("//main//form")[0].form_values())
    (schedule.parent / ".drafts").write_text("pas un dossier", encoding="utf-8")
    answer = client.post("/desk/seances/clermont-ferrand", data={**fields, "title": "Un titre"})
    assert answer.status_code == 503
    said = lxml.html.fromstring(answer.data).xpath("//main")[0].text_content()
    assert "Rien n’a été enregistré non plus : le bouton Précédent" in said
    # « Publier » has nothing typed to give back: it says what it says.
    refused = client.post("/desk/publier", data={"csrf_token": fields["csrf_token"]})
    assert refused.status_code == 503
    assert "Précédent" not in refused.get_data(as_text=True)


def test_desk_a_speaker_without_a_name_shows_on_the_speakers(app: Flask) -> None:
    client = app.test_client()
    login(client)
    status, page = post(client, "/desk/seances/clermont-ferrand",
                        {"speakers.1.role": "Adjointe au maire"})
    assert status == 422
    assert 'id="f-speakers-1-name-erreur">Ce champ est obligatoire.' in page
    assert 'href="#f-speakers-1-name"' in page


def test_desk_login_ends_after_8_hours_however_active(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    login(client)
    start = time.time()
    # Active after 7 hours (the cookie is signed anew), then 8 hours after the login.
    monkeypatch.setattr(time, "time", lambda: start + 7 * 3600)
    assert "Clermont" in client.get("/desk/").get_data(as_text=True)
    monkeypatch.setattr(time, "time", lambda: start + 8 * 3600 + 60)
    assert 'name="password"' in client.get("/desk/").get_data(as_text=True)


def test_desk_login_page_is_in_english_with_agenda_messages_en(schedule: Path) -> None:
    add_editor(schedule)
    script = (
        "import sys; from agenda import create_app; "
        "app = create_app({'AGENDA_DATA': sys.argv[1], 'AGENDA_SECRET': sys.argv[2]}); "
        "sys.stdout.write(app.test_client().get('/desk/connexion').get_data(as_text=True))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(schedule), SECRET], capture_output=True, text=True,
        env=dict(os.environ, AGENDA_MESSAGES="en"), timeout=60, check=True,
    )
    page = lxml.html.fromstring(result.stdout)
    assert page.get("lang") == "en"
    assert page.findtext(".//title") == "Login – Editors' desk"
    assert page.findtext(".//h1") == "Login"
    assert [b.text_content() for b in page.xpath("//main//button")] == ["Log in"]
    assert page.xpath("//label[@for='password']")[0].text_content() == "Password"


def test_desk_draft_page_and_preview_show_what_the_chosen_kind_of_change_sends(
    app: Flask, schedule: Path
) -> None:
    client = app.test_client()
    login(client)
    post(client, "/desk/seances/clermont-ferrand/reporter",
         {"start": "2021-05-20T08:45", "end": "2021-05-20T10:15"})

    def shown(mode: str) -> tuple[list[str], int, str]:
        page = choose(client, mode)
        news = [" ".join(p.text_content().split()) for p in page.xpath(
            "//ul[@class='outgoing']//p[starts-with(normalize-space(), 'Fils')]")]
        checked = page.xpath("//input[@name='mode'][@checked]/@value")
        (sent,) = page.xpath("//form[@method='post']//input[@name='mode'][@checked]/@value")
        assert checked == [sent] == [mode]
        feed = feedparser.parse(client.get("/desk/apercu/rss.xml").data)
        return news, len(feed.entries), sent

    announced, announced_entries, _ = shown("annonce")
    corrected, corrected_entries, sent = shown("correction")
    assert announced != corrected and "pas de nouvelle entrée" in corrected[0]
    assert corrected_entries < announced_entries
    assert publish(client, sent) == 302
    assert len(feedparser.parse(client.get("/rss.xml").data).entries) == corrected_entries


@pytest.mark.parametrize("path", ["/desk/", "/desk/contacts", "/desk/agenda", "/desk/brouillon",
                                  "/desk/seances/clermont-ferrand"])
def test_desk_marks_the_navigation_link_to_the_page_read(app: Flask, path: str) -> None:
    # « Séances », « Contacts presse »…: a screen reader did not say which was the page read.
    client = app.test_client()
    login(client)
    page = lxml.html.fromstring(client.get(path).data)
    marked = page.xpath("//nav//a[@aria-current='page']/@href")
    assert marked == ([path] if path.count("/") == 2 else [])


@pytest.mark.parametrize("path", [
    "/desk/", "/desk/seances/clermont-ferrand", "/desk/seances/clermont-ferrand/reporter",
    "/desk/seances/clermont-ferrand/annuler", "/desk/seances/clermont-ferrand/retablir",
    "/desk/seances/clermont-ferrand/replay", "/desk/series/tour-des-villes/nouvelle",
    "/desk/series/tour-des-villes", "/desk/agenda", "/desk/contacts", "/desk/brouillon",
    "/desk/inexistante"])
def test_desk_page_title_is_its_heading(app: Flask, path: str) -> None:
    # « Annuler la séance – Bureau des éditeurs » for every session: two tabs, two sessions
    # cancelled, one name in the tab bar and to a screen reader.
    client = app.test_client()
    login(client)
    page = lxml.html.fromstring(client.get(path).data)
    heading = " ".join(page.xpath("//h1")[0].text_content().split())
    assert page.findtext(".//title") == f"{heading} – Bureau des éditeurs"


@pytest.mark.parametrize(("path", "named"), [
    ("/desk/seances/clermont-ferrand", "Clermont-Ferrand"),
    ("/desk/seances/clermont-ferrand/reporter", "Clermont-Ferrand"),
    ("/desk/seances/clermont-ferrand/annuler", "Clermont-Ferrand"),
    ("/desk/seances/clermont-ferrand/retablir", "Clermont-Ferrand"),
    ("/desk/seances/clermont-ferrand/replay", "Clermont-Ferrand"),
    ("/desk/series/tour-des-villes/nouvelle", "Tour des Villes"),
    ("/desk/series/tour-des-villes", "Tour des Villes")])
def test_desk_page_about_one_thing_names_it_in_its_title(app: Flask, path: str, named: str) -> None:
    # Tabs open on two sessions (or on two series' « Nouvelle séance »): told apart by title.
    client = app.test_client()
    login(client)
    title = lxml.html.fromstring(client.get(path).data).findtext(".//title")
    assert f"« {named} »" in title


def test_desk_saves_a_session_reading_that_session_alone(
        app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each « Enregistrer » of a session's form had tomlkit read, then write again, the whole
    # file (it keeps the layout): two seconds at 1,000 sessions, at every save.
    client = app.test_client()
    assert login(client) == 302
    read: list[str] = []
    parse = tomlkit.parse
    monkeypatch.setattr(tomlkit, "parse", lambda text: read.append(text) or parse(text))
    title = "Biarritz, la ville et l’océan"
    assert post(client, "/desk/seances/biarritz", {"title": title})[0] == 302
    assert read and all(text.count("[[sessions]]") == 1 for text in read), read
    # Only its lines changed, in place; the loader reads the title.
    draft = drafts.load_draft(schedule, EMAIL)
    assert draft is not None
    changed = [line for line in difflib.unified_diff(
        schedule.read_text(encoding="utf-8").splitlines(), draft.text.splitlines(), n=0,
        lineterm="") if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == [f'+title = "{title}"'], changed
    loaded = tomllib.loads(draft.text)["sessions"]
    assert [s["title"] for s in loaded if s["id"] == "biarritz"] == [title]


def test_desk_edit_of_a_session_with_a_line_like_a_header_in_a_string() -> None:
    # A line of a multiline string may begin with "[" and look like the next table's header:
    # that session cannot be edited in its lines alone, the whole file is (as it always was).
    text = SHIPPED.read_text(encoding="utf-8").replace(
        'id = "biarritz"\n', 'id = "biarritz"\ndescription = """Texte\n[Voir] plus"""\n', 1)
    city = tuple(f for f in SESSION.fields if f.name == "city")
    edited = tomllib.loads(drafts.edit(text, "sessions", "biarritz", city, {"city": "Anglet"}))
    first = tomllib.loads(text)["sessions"]
    assert edited["sessions"] == [{**first[0], "city": "Anglet"}, *first[1:]]
