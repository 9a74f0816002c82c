"""The desk under hostile or hurried use: stale forms, failed writes, odd files and requests.

Each test reproduces a defect found by trying the desk as an attacker or as an editor
in a hurry would; it goes through HTTP (the test client) and reads the results back
with independent parsers (tomllib, lxml, json).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import feedparser
import lxml.html
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app, history, site
from agenda.cli import main
from agenda.desk import drafts, views
from agenda.published import mark_path
from tests.test_desk import (
    EMAIL,
    PASSWORD,
    SECRET,
    add_editor,
    app,  # noqa: F401 (fixture)
    desk_urls,
    login,
    post,
    publish,
    schedule,  # noqa: F401 (fixture)
    token,
)


def page_text(body: bytes) -> str:
    """The visible text of the desk page's <main>, whitespace collapsed."""
    return " ".join(lxml.html.fromstring(body).xpath("//main")[0].text_content().split())


@pytest.fixture
def waiting_app(schedule: Path) -> Flask:  # noqa: F811
    """The app with one editor, where only the desk's « Publier » publishes."""
    add_editor(schedule)
    return create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET, "TESTING": True,
                       "AGENDA_DESK_SECURE": False, "AGENDA_AUTOPUBLISH": False})


def test_desk_publish_after_a_failed_one_is_not_a_conflict_with_itself(
    waiting_app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = waiting_app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre corrigé"})[0] == 302
    # A history put back from a backup: the file is written, then publishing refuses.
    published = schedule.with_name("sessions.published.json")
    mark = mark_path(published)
    mark.write_text(json.dumps({"acknowledged": True, "published": "2030-01-01T00:00:00Z",
                                "sha256": "0" * 64, "version": 99}), encoding="utf-8")
    failed = client.post("/desk/publier", data={"csrf_token": token(client, "/desk/brouillon")})
    assert failed.status_code == 500
    assert "Votre brouillon est conservé" in page_text(failed.data)
    mark.unlink()  # the operator puts things right; the editor clicks « Publier » again
    assert publish(client) == 302
    history = json.loads(published.read_text(encoding="utf-8"))
    last = history["sessions"]["clermont-ferrand"]["revisions"][-1]
    assert last["by"] == EMAIL
    assert "Titre corrigé" in client.get("/events/clermont-ferrand").get_data(as_text=True)


def form_of(client: FlaskClient, path: str) -> dict[str, str]:
    """The values a browser would submit from the form at `path`, as shown."""
    return dict(lxml.html.fromstring(client.get(path).data).xpath("//main//form")[0]
                .form_values())


def test_desk_two_tabs_on_one_session_keep_both_changes(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    path = "/desk/seances/clermont-ferrand"
    first, second = form_of(client, path), form_of(client, path)  # two tabs, opened together
    assert client.post(path, data={**first, "title": "Titre du premier onglet"}).status_code \
        == 302
    assert client.post(path, data={**second, "description": "Description du second"}) \
        .status_code == 302
    assert publish(client) == 302
    sessions = tomllib.loads(schedule.read_text(encoding="utf-8"))["sessions"]
    clermont = next(s for s in sessions if s["id"] == "clermont-ferrand")
    assert (clermont["title"], clermont["description"]) == (
        "Titre du premier onglet", "Description du second")


def test_desk_edits_a_file_saved_with_a_byte_order_mark(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # Windows Notepad's UTF-8 starts with U+FEFF; `agenda check` and the site accept it.
    schedule.write_bytes(b"\xef\xbb\xbf" + schedule.read_bytes())
    client = app.test_client()
    login(client)
    listed = client.get("/desk/")
    assert listed.status_code == 200
    assert "Clermont-Ferrand" in page_text(listed.data)
    assert post(client, "/desk/seances/bourges", {"title": "Bourges, ville du Cher"})[0] == 302
    assert publish(client) == 302
    sessions = tomllib.loads(schedule.read_bytes().decode("utf-8-sig"))["sessions"]
    assert next(s for s in sessions if s["id"] == "bourges")["title"] == "Bourges, ville du Cher"


def test_desk_says_in_french_when_the_file_is_not_utf8(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    schedule.write_bytes(schedule.read_text(encoding="utf-8").encode("cp1252", "replace"))
    for path in ("/desk/", "/desk/brouillon", "/desk/seances/bourges"):
        answer = client.get(path)
        assert answer.status_code == 409, path
        assert "enregistrez le fichier en UTF-8" in page_text(answer.data), path


@pytest.mark.parametrize("following", [
    "/desk/\r\nSet-Cookie: agenda_desk=x", "/desk/\nLocation: https://evil.example/",
    "/desk/s\u00e9ances", "/desk/\u2028", "//evil.example/desk/", "https://evil.example/desk/",
    "/desk", "/desk/\x00",
])
def test_desk_login_next_is_followed_only_to_a_desk_path(
    app: Flask, following: str  # noqa: F811
) -> None:
    client = app.test_client()
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": PASSWORD, "next": following})
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert (target.scheme, target.netloc) in (("", ""), ("http", "localhost"))
    assert target.path.startswith("/desk/")
    assert answer.headers.getlist("Location") == [answer.headers["Location"]]
    assert [c for c in answer.headers.getlist("Set-Cookie") if "agenda_desk=x" in c] == []


def test_desk_login_next_leads_back_to_the_page_asked(app: Flask) -> None:  # noqa: F811
    client = app.test_client()
    asked = client.get("/desk/brouillon?x=1")
    following = lxml.html.fromstring(asked.data).xpath("//input[@name='next']/@value")[0]
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": PASSWORD, "next": following})
    assert urlsplit(answer.headers["Location"]).path == "/desk/brouillon"


def test_desk_refuses_a_huge_form_before_reading_it(app: Flask) -> None:  # noqa: F811
    client = app.test_client()
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": "x" * 2_000_000, "password": "x"})
    assert answer.status_code == 413
    assert "trop" in page_text(answer.data).lower()


def test_desk_too_large_form_page_says_the_very_limit_it_meets(app: Flask) -> None:  # noqa: F811
    client = app.test_client()
    start = urlencode({"csrf_token": token(client), "email": "x", "password": "x"}) + "&f="

    def sent(size: int) -> tuple[int, str]:
        answer = client.post("/desk/connexion", data=start + "x" * (size - len(start)),
                             content_type="application/x-www-form-urlencoded")
        return answer.status_code, page_text(answer.data)

    said = f"plus de {views.MOST_BYTES // 1024} Ko"  # Ko: 1,024 bytes, as nginx's « k »
    assert sent(views.MOST_BYTES)[0] == 200
    status, text = sent(views.MOST_BYTES + 1)
    assert (status, said in text) == (413, True)
    # A form far smaller, of many fields, sent as multipart/form-data: not « too large ».
    fields = {"csrf_token": token(client), "email": "x", "password": "x"}
    fields |= {f"speakers.{i}.name": "" for i in range(1_200)}  # Werkzeug: 1,000 at most
    answer = client.post("/desk/connexion", data=fields, content_type="multipart/form-data")
    assert (answer.status_code, answer.request.content_length < views.MOST_BYTES) == (200, True)


def test_desk_failed_login_with_a_forged_address_stays_small_and_on_one_log_line(
    app: Flask, schedule: Path, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    client = app.test_client()
    forged = "x" * 100_000 + "\n2026-12-05 desk: helene@ceps-oing.org logged in"
    answer = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": forged, "password": "mauvais mot de passe"})
    assert answer.status_code == 200
    failures = [p for p in schedule.parent.iterdir() if "failures" in p.name]
    assert [p.stat().st_size < 2_000 for p in failures] == [True]
    assert [r for r in caplog.records if "\n" in r.getMessage()] == []


def test_desk_password_typed_in_the_address_field_is_kept_nowhere(
    app: Flask, schedule: Path, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    # In a hurry, the editor types the password into the address field, then again.
    client = app.test_client()
    for _ in range(2):
        answer = client.post("/desk/connexion", data={
            "csrf_token": token(client), "email": PASSWORD, "password": PASSWORD})
        assert answer.status_code == 200
        assert "Adresse ou mot de passe incorrect." in page_text(answer.data)
        assert PASSWORD not in answer.get_data(as_text=True)
    assert PASSWORD not in caplog.text
    kept = [p.read_text(encoding="utf-8") for p in schedule.parent.iterdir() if p.is_file()]
    assert [text for text in kept if PASSWORD in text] == []
    assert login(client) == 302


def test_desk_login_cannot_be_forged_with_agenda_secret_alone(app: Flask) -> None:  # noqa: F811
    # AGENDA_SECRET signs the desk's cookies, and whoever makes personal links (`agenda link`,
    # on a laptop for a mail merge) has it: a cookie signed with it named any editor.
    client = app.test_client()
    forged = app.session_interface.get_signing_serializer(app).dumps(
        {"editor": EMAIL, "since": time.time()})
    client.set_cookie("agenda_desk", forged, path="/desk")
    page = client.get("/desk/").get_data(as_text=True)
    assert 'name="password"' in page and "Clermont" not in page
    assert login(client) == 302  # the editor's own login still opens the desk
    assert "Clermont" in client.get("/desk/").get_data(as_text=True)


def client_from(app: Flask, address: str) -> FlaskClient:  # noqa: F811
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_desk_wrong_passwords_from_elsewhere_do_not_lock_the_editor_out(
    app: Flask  # noqa: F811
) -> None:
    # Editors' addresses are public (press contacts): anyone can try them.
    attacker = client_from(app, "203.0.113.9")
    assert [login(attacker, "mauvais mot de passe") for _ in range(10)] == [200] * 9 + [429]
    assert login(attacker) == 429
    assert login(client_from(app, "198.51.100.7")) == 302


def test_desk_wrong_passwords_under_forged_forwarded_addresses_count_from_the_real_one(
    app: Flask  # noqa: F811
) -> None:
    # Served without nginx, X-Forwarded-For is what the client wrote: a new address at each
    # try gave five times as many guesses before a 429.
    attacker = client_from(app, "203.0.113.9")
    statuses = []
    for n in range(10):
        attacker.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}"
        statuses.append(login(attacker, "mauvais mot de passe"))
    assert statuses == [200] * 9 + [429]
    # Behind nginx on this host, the address it appended is the client's.
    nginx = client_from(app, "127.0.0.1")
    nginx.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.1, 203.0.113.9"
    assert login(nginx) == 429
    nginx.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9, 198.51.100.7"
    assert login(nginx) == 302
    through_a_socket = client_from(app, "")  # nginx to gunicorn by a unix socket: no address
    through_a_socket.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    assert login(through_a_socket) == 429


def test_desk_wrong_passwords_spread_over_many_addresses_still_end_in_429(
    app: Flask  # noqa: F811
) -> None:
    statuses = [login(client_from(app, f"203.0.113.{n}"), "mauvais mot de passe")
                for n in range(1, 51)]
    assert statuses == [200] * 49 + [429]
    assert login(client_from(app, "198.51.100.7")) == 429


def marseille_published_then_cut(client: FlaskClient, path: Path) -> None:
    """Log in, add and publish a session « marseille » in the desk, then cut it from the file
    by hand (it is the last one)."""
    login(client)
    assert post(client, "/desk/series/tour-des-villes/nouvelle", {
        "id": "marseille", "city": "Marseille", "start": "2027-02-17T08:45",
        "end": "2027-02-17T10:15"})[0] == 302
    assert publish(client) == 302
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.rindex("[[sessions]]")], encoding="utf-8")


def test_desk_draft_says_in_french_that_a_withdrawn_session_comes_back(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = app.test_client()
    marseille_published_then_cut(client, schedule)
    withdrawn = CliRunner().invoke(main, ["publish", str(schedule), "--withdraw", "marseille"])
    assert withdrawn.exit_code == 0, withdrawn.output
    assert post(client, "/desk/series/tour-des-villes/nouvelle", {
        "id": "marseille", "city": "Marseille", "start": "2027-03-17T08:45",
        "end": "2027-03-17T10:15"})[0] == 302
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    said = [" ".join(p.text_content().split()) for p in page.xpath("//ul[@class='outgoing']//p")]
    assert said[0] == ("Calendriers des abonnés : mise à jour dans les calendriers "
                       "(SEQUENCE 0 → 1) : publiée de nouveau")


def test_desk_new_session_sent_twice_is_saved_once_without_an_error(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    path = "/desk/series/tour-des-villes/nouvelle"
    form = {**form_of(client, path), "id": "marseille", "city": "Marseille",
            "start": "2027-02-17T08:45", "end": "2027-02-17T10:15"}
    # A double click on « Enregistrer dans le brouillon »: the same form, twice.
    assert [client.post(path, data=form).status_code for _ in range(2)] == [302, 302]
    assert publish(client) == 302
    sessions = tomllib.loads(schedule.read_text(encoding="utf-8"))["sessions"]
    assert [s["city"] for s in sessions if s["id"] == "marseille"] == ["Marseille"]
    # Another session under a taken id is still refused.
    again = client.post(path, data={**form_of(client, path), "id": "marseille", "city": "Lyon"})
    assert again.status_code == 422
    assert "déjà pris" in page_text(again.data)


@pytest.mark.parametrize(("field", "value"), [("id", "a" * 300), ("city", "Lyon" * 100)])
def test_desk_refuses_a_name_too_long_for_the_site_files(
    app: Flask, schedule: Path, field: str, value: str  # noqa: F811
) -> None:
    # The id names the session's files, the city its folder: past 255 bytes no disk takes
    # them, and a published version whose site cannot be built is never served.
    client = app.test_client()
    login(client)
    form = {"id": "lyon", "city": "Lyon", "start": "2027-02-17T08:45",
            "end": "2027-02-17T10:15", field: value}
    status, body = post(client, "/desk/series/tour-des-villes/nouvelle", form)
    assert status == 422
    error = lxml.html.fromstring(body).get_element_by_id(f"f-{field}-erreur").text_content()
    assert "100" in error
    assert client.get("/desk/apercu/").status_code == 200


def test_desk_published_notice_takes_only_a_version_number(app: Flask) -> None:  # noqa: F811
    # A link sent to an editor must not put its own words in the desk's notice.
    client = app.test_client()
    login(client)
    page = client.get("/desk/?publie=3%20%E2%80%94%20urgent%20:%20appelez%20le%2006%2000")
    assert "urgent" not in page_text(page.data)
    page = lxml.html.fromstring(client.get("/desk/?publie=3").data)
    assert [p.text_content() for p in page.xpath("//p[@class='ok']")] == ["Version 3 publiée."]


def test_desk_contacts_form_left_open_in_another_tab_does_not_undo_a_change(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    first, second = form_of(client, "/desk/contacts"), form_of(client, "/desk/contacts")
    assert client.post("/desk/contacts", data={
        **first, "contacts.3.name": "Jeanne Martin", "contacts.3.email": "jeanne@example.org"
    }).status_code == 302
    stale = client.post("/desk/contacts", data={**second, "contacts.0.phone": "06 00 00 00 00"})
    assert stale.status_code == 409
    assert "entre-temps" in page_text(stale.data)
    shown = lxml.html.fromstring(stale.data).xpath("//input[@name='contacts.3.name']/@value")
    assert shown == ["Jeanne Martin"]  # the form now shows the contacts as they are
    assert publish(client) == 302
    names = [c["name"] for c in tomllib.loads(schedule.read_text(encoding="utf-8"))["contacts"]]
    assert names[-1] == "Jeanne Martin"


@contextlib.contextmanager
def files_limited_to(size: int) -> Iterator[None]:
    """Writes past `size` bytes fail (EFBIG) in this process, as on a disk filling up."""
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, before)
        signal.signal(signal.SIGXFSZ, handler)


def test_desk_draft_carried_over_on_a_full_disk_never_publishes_over_the_other_change(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    long = "Une description longue. " * 150
    assert post(client, "/desk/seances/clermont-ferrand", {"description": long})[0] == 302
    hand = schedule.read_text(encoding="utf-8").replace('city = "Bourges"', 'city = "Vierzon"')
    schedule.write_text(hand, encoding="utf-8")
    csrf = token(client, "/desk/brouillon")
    # The disk fills while « Reporter mon brouillon sur le fichier actuel » writes the draft.
    with files_limited_to(len(hand.encode("utf-8")) + 1_500):
        answer = client.post("/desk/reprendre", data={"csrf_token": csrf})
    assert answer.status_code in (302, 503)
    publish(client)
    sessions = tomllib.loads(schedule.read_text(encoding="utf-8"))["sessions"]
    assert [s["city"] for s in sessions if s["id"] == "bourges"] == ["Vierzon"]


@pytest.mark.parametrize("shown", ["[" * 60_000, "{", "[1, 2]", '{"title": [1]}', "null"])
def test_desk_form_with_a_malformed_shown_input_still_saves(
    app: Flask, shown: str  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    path = "/desk/seances/clermont-ferrand"
    answer = client.post(path, data={**form_of(client, path), "shown": shown,
                                     "title": "Titre envoyé à la main"})
    assert answer.status_code == 302
    page = lxml.html.fromstring(client.get(path).data)
    assert page.xpath("//input[@name='title']/@value") == ["Titre envoyé à la main"]


@pytest.mark.parametrize(("written", "by_hand"), [
    ("start = 2021-05-19T08:45:00", 'start = "2021-05-19T08:45:00"'),
    ("number = 3", 'number = "3"'),
    ("speakers = [", "speakers = 'Olivier Bianchi'\nold_speakers = ["),
    ("moderator = {", "moderator = 'Loïc Tribot La Spière'\nold_moderator = {"),
    ('status = "confirmed"', 'status = ["confirmed"]'),
    ("partners = [", "partners = 3\nold_partners = ["),
])
def test_desk_pages_open_on_a_hand_edit_of_the_wrong_kind(
    app: Flask, schedule: Path, written: str, by_hand: str  # noqa: F811
) -> None:
    # Valid TOML, but a text where the file wants a date, a number or a table: `agenda
    # check` names the problem, and the desk must still open to correct it.
    text = schedule.read_text(encoding="utf-8")
    assert written in text
    schedule.write_text(text.replace(written, by_hand, 1), encoding="utf-8")
    client = app.test_client()
    login(client)
    for path in ("/desk/", "/desk/brouillon", "/desk/series/tour-des-villes/nouvelle",
                 "/desk/seances/clermont-ferrand", "/desk/seances/clermont-ferrand/reporter",
                 "/desk/series/tour-des-villes"):
        assert client.get(path).status_code == 200, path
    draft = page_text(client.get("/desk/brouillon").data)
    assert "ne peut pas être publié" in draft


def test_a_draft_saved_from_another_tab_while_publishing_is_kept(
    waiting_app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    client = waiting_app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre publié"})[0] == 302
    other = waiting_app.test_client()  # the same editor, in another tab
    login(other)
    form = form_of(other, "/desk/seances/clermont-ferrand")
    real = views.publish

    def slow_publish(*args: object, **kwargs: object) -> object:
        # While this tab publishes, the other one saves a further change.
        done = other.post("/desk/seances/clermont-ferrand",
                          data={**form, "title": "Titre d’après"})
        assert done.status_code == 302
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "publish", slow_publish)
    assert publish(client) == 302
    monkeypatch.setattr(views, "publish", real)
    assert "Titre publié" in client.get("/events/clermont-ferrand").get_data(as_text=True)
    # The change made meanwhile is still a draft, ready to be published in turn.
    assert "Titre d’après" in client.get("/desk/brouillon").get_data(as_text=True)


def test_desk_logouts_and_editors_added_at_once_all_last(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # `agenda editor add` run several times at once while an editor logs in and out: each
    # reads and rewrites the editors file; none may write back a file without the others.
    emails = [f"redaction{n}@ceps-oing.org" for n in range(6)]
    adding = [subprocess.Popen(
        [sys.executable, "-c", "from agenda.cli import main; main()", "editor", "add", email,
         "--name", "Rédaction", "--password-stdin", "--data", str(schedule)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) for email in emails]
    for process in adding:
        process.stdin.write(PASSWORD + "\n")
        process.stdin.close()
    client, cookie = app.test_client(), None
    while cookie is None or any(p.poll() is None for p in adding):
        login(client)
        cookie = client.get_cookie("agenda_desk", path="/desk")
        client.post("/desk/deconnexion", data={"csrf_token": token(client, "/desk/")})
    assert [p.wait() for p in adding] == [0] * len(emails)
    listed = CliRunner().invoke(main, ["editor", "list", "--data", str(schedule)])
    assert sorted(line.split("\t")[0] for line in listed.output.splitlines()) == \
        sorted([EMAIL, *emails])
    other = app.test_client()  # the last logout lasted too: its cookie is refused
    other.set_cookie("agenda_desk", cookie.value, path="/desk")
    assert 'name="password"' in other.get("/desk/").get_data(as_text=True)


def _encoded(fields: dict[str, str], kind: str) -> tuple[bytes, str]:
    """The form `fields` as a browser set to another encoding would send it."""
    if kind == "multipart":
        parts = [f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                 for name, value in fields.items()]
        return ("".join(parts) + "--b--\r\n").encode("cp1252"), "multipart/form-data; boundary=b"
    if kind == "utf-16":
        return urlencode(fields).encode("utf-16"), \
            "application/x-www-form-urlencoded; charset=utf-16"
    declared = "; charset=windows-1252" if kind == "declared" else ""
    return urlencode(fields, encoding="cp1252").encode("ascii"), \
        "application/x-www-form-urlencoded" + declared


@pytest.mark.parametrize("kind", ["escaped", "declared", "utf-16", "multipart"])
def test_desk_refuses_a_form_not_in_utf8_in_french_and_saves_nothing(
    app: Flask, kind: str  # noqa: F811
) -> None:
    # Accents would come out as "%E8" or "�" in the file: refused, with what to do.
    client = app.test_client()
    login(client)
    form = lxml.html.fromstring(client.get("/desk/seances/bourges").data).xpath("//main//form")[0]
    fields = {**dict(form.form_values()), "city": "Bourgès"}
    body, content_type = _encoded(fields, kind)
    answer = client.post("/desk/seances/bourges", data=body, content_type=content_type)
    assert answer.status_code == 415
    assert "dans un autre codage que UTF-8 : rien n’a été enregistré" in page_text(answer.data)
    assert "Rien à publier" in page_text(client.get("/desk/brouillon").data)
    assert client.post("/desk/seances/bourges", data=fields).status_code == 302  # in UTF-8
    assert "Bourgès" in page_text(client.get("/desk/brouillon").data)


def test_desk_refuses_to_publish_a_draft_whose_site_cannot_be_built(
    app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A render function that fails on this draft's data (a bug): published, the site would
    # stay on the previous folder and /healthz alarm, while the editor read « publié ».
    published = schedule.with_name("sessions.published.json")
    before = (schedule.read_bytes(), published.read_bytes())
    real = site.render_one

    def failing(document: site.Document, folder: Path) -> site.Entry:
        if "marseille" in document.path:
            raise RuntimeError("un défaut de rendu")
        return real(document, folder)

    monkeypatch.setattr(site, "render_one", failing)
    client = app.test_client()
    login(client)
    assert post(client, "/desk/series/tour-des-villes/nouvelle", {
        "id": "marseille", "city": "Marseille", "start": "2027-02-17T08:45",
        "end": "2027-02-17T10:15"})[0] == 302
    for answer in (client.get("/desk/apercu/"), client.post("/desk/publier", data={
            "csrf_token": token(client, "/desk/brouillon"), "mode": "regle"})):
        assert answer.status_code == 500
        said = page_text(answer.data)
        assert "rien n’a été publié, et votre brouillon est gardé. Défaites" in said
        assert "défaut" not in said and "Error" not in said, "the cause is for the log"
    assert (schedule.read_bytes(), published.read_bytes()) == before
    assert client.get("/healthz?strict=1").status_code == 200
    assert "Marseille" in page_text(client.get("/desk/brouillon").data), "the draft is kept"
    assert [str(r.exc_info[1]) for r in caplog.records if r.exc_info] == \
        ["un défaut de rendu"] * 2
    # Once the cause is gone, the preview is built, and « Publier » takes it as it is.
    monkeypatch.setattr(site, "render_one", real)
    assert "Marseille" in page_text(client.get("/desk/apercu/events/marseille").data)
    monkeypatch.setattr(site, "render_one", failing)
    assert publish(client) == 302, "the preview's site, found built, not built again"
    monkeypatch.setattr(site, "render_one", real)
    assert "Marseille" in client.get("/events/marseille").get_data(as_text=True)
    assert publish(client) == 302  # a double click: nothing new to publish, nothing to build
    assert not drafts.preview_folder(schedule, EMAIL).exists()
    assert client.get("/healthz?strict=1").status_code == 200


def test_editors_file_broken_by_hand_or_out_of_reach_is_said_in_french(
    app: Flask, schedule: Path, tmp_path: Path  # noqa: F811
) -> None:
    runner = CliRunner()
    added = runner.invoke(main, ["editor", "add", EMAIL, "--name", "H", "--password-stdin",
                                 "--data", str(tmp_path / "absent" / "sessions.toml")],
                          input=PASSWORD + "\n")
    assert (added.exit_code, type(added.exception)) == (1, SystemExit)
    assert "impossible d'écrire" in added.output and "absent" in added.output
    editors = schedule.with_name("sessions.editors.json")
    editors.write_text(editors.read_text(encoding="utf-8")[:-20], encoding="utf-8")  # cut
    listed = runner.invoke(main, ["editor", "list", "--data", str(schedule)])
    assert (listed.exit_code, type(listed.exception)) == (1, SystemExit)
    said = f"{editors} n’est pas un fichier d’éditeurs tel que l’écrit `agenda editor add`"
    assert said in listed.output
    answer = app.test_client().get("/desk/")
    assert answer.status_code == 503
    assert "indisponible" in page_text(answer.data)


@pytest.mark.parametrize("broken", ["editors", "failures"])
def test_desk_tells_a_visitor_no_server_path_and_the_log_every_one(
    app: Flask, schedule: Path, broken: str, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    client = app.test_client()
    csrf = token(client)
    if broken == "editors":  # a hand edit gone wrong: every page of the desk fails
        schedule.with_name("sessions.editors.json").write_text("{", encoding="utf-8")
    else:  # the failed logins' file cannot be opened: a login fails
        (schedule.parent / ".sessions.editors.failures.json").mkdir()
    answers = [client.get("/desk/"), client.get("/desk/connexion"), client.post(
        "/desk/connexion", data={"csrf_token": csrf, "email": EMAIL, "password": "faux"})]
    failed = [a for a in answers if a.status_code == 503]
    assert failed and all(a.status_code in (200, 503) for a in answers)
    for answer in failed:
        text = answer.get_data(as_text=True)
        assert "indisponible" in page_text(answer.data)
        assert str(schedule.parent) not in text and "json" not in text
        assert "Errno" not in text and "Permission" not in text
    assert str(schedule.parent) in caplog.text  # the operator's log names the file


def test_desk_form_with_thousands_of_empty_rows_answers_at_once(app: Flask) -> None:  # noqa: F811
    # A form as large as nginx lets through, every input an empty speaker: each row used to
    # scan the whole form again (42 s of CPU, past gunicorn's timeout).
    client = app.test_client()
    login(client)
    rows = "&".join(f"speakers.{i}.name=" for i in range(12_000))
    body = f"csrf_token={token(client, '/desk/seances/clermont-ferrand')}&city=Clermont&{rows}"
    began = time.monotonic()
    answer = client.post("/desk/seances/clermont-ferrand", data=body,
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code in (302, 422)
    assert time.monotonic() - began < 5


def test_desk_offers_no_move_for_a_session_held_and_names_fields_in_french(
    app: Flask  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    page = lxml.html.fromstring(client.get("/desk/").data)
    actions = {row.get("id"): [a.text_content().split()[0] for a in row.xpath(".//a")]
               for row in page.xpath("//tr[@id]")}
    # Held: it took place, without a date; dating it is not moving it.
    assert actions["s-biarritz"] == ["Modifier", "Ajouter"]
    assert actions["s-clermont-ferrand"] == ["Modifier", "Reporter", "Annuler", "Ajouter"]
    # Dating it all the same (by its address): the problems name the form's fields in French.
    status, body = post(client, "/desk/seances/biarritz/reporter", {
        "start": "2021-01-20T08:45", "end": "2021-01-20T10:15"})
    assert status == 422
    summary = page_text(body.encode())
    assert "Annoncée le :" in summary and "announced" not in summary


def test_desk_every_point_to_correct_leads_to_its_field(app: Flask) -> None:  # noqa: F811
    # Dating a held session through « Reporter »: « Annoncée le » is not on that form, and its
    # point in the list of what to correct was a link to nothing (activated, nothing moved).
    client = app.test_client()
    login(client)
    path = "/desk/seances/biarritz/reporter"
    status, body = post(client, path, {"start": "2021-01-20T08:45", "end": "2021-01-20T10:15"})
    assert status == 422
    links = lxml.html.fromstring(body).xpath("//*[@id='erreurs']//a/@href")
    assert len(links) >= 2
    for link in links:
        page, _, target = link.partition("#")
        shown = body if page == "" else client.get(page).get_data(as_text=True)
        assert lxml.html.fromstring(shown).xpath("//*[@id=$id]", id=target) != [], link


def test_desk_says_a_hand_edit_of_the_contacts_alone_waits_for_publishing(
    waiting_app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = waiting_app.test_client()
    login(client)
    assert "attendent d’être publiées" not in page_text(client.get("/desk/").data)
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        '"06 87 74 61 99"', '"01 45 00 00 00"'), encoding="utf-8")
    assert "Des modifications attendent d’être publiées." in page_text(client.get("/desk/").data)
    assert publish(client) == 302
    assert "attendent d’être publiées" not in page_text(client.get("/desk/").data)


def test_desk_form_sent_after_the_login_ended_says_so(app: Flask) -> None:  # noqa: F811
    # A form left open in another tab while the editor logged out (or overnight: 8 hours).
    client = app.test_client()
    login(client)
    form = lxml.html.fromstring(client.get("/desk/seances/bourges").data).xpath("//main//form")[0]
    client.post("/desk/deconnexion", data={"csrf_token": token(client, "/desk/")})
    answer = client.post("/desk/seances/bourges", data={**dict(form.form_values()),
                                                        "city": "Bourges (Cher)"})
    assert answer.status_code == 400
    assert "Votre connexion a pris fin" in page_text(answer.data)
    assert "rien n’a été enregistré. Gardez cette page : reconnectez-vous" in page_text(answer.data)
    login(client)
    answer = client.post("/desk/seances/bourges", data={"city": "Bourges"})  # logged in
    assert "dernière connexion ?" in page_text(answer.data)


@pytest.mark.parametrize("ended", ["after 8 hours", "logged out elsewhere"])
def test_desk_form_sent_with_a_cookie_of_a_login_ended_says_how_to_get_the_typing_back(
    app: Flask, monkeypatch: pytest.MonkeyPatch, ended: str  # noqa: F811
) -> None:
    # The cookie still valid (the editor active till a few minutes before), the login not:
    # 8 hours since it began, or « Se déconnecter » in another browser. The page said only
    # « Connectez-vous pour accéder au bureau des éditeurs », nothing of the text typed.
    client = app.test_client()
    login(client)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 7.9 * 3600)
    form = lxml.html.fromstring(client.get("/desk/seances/bourges").data).xpath("//main//form")[0]
    if ended == "after 8 hours":
        monkeypatch.setattr(time, "time", lambda: start + 8 * 3600 + 60)
    else:
        other = app.test_client()
        login(other)
        other.post("/desk/deconnexion", data={"csrf_token": token(other, "/desk/")})
    answer = client.post("/desk/seances/bourges", data={**dict(form.form_values()),
                                                        "city": "Bourges (Cher)"})
    assert answer.status_code in (400, 403)
    said = page_text(answer.data)
    assert "Votre connexion a pris fin" in said
    assert "rien n’a été enregistré. Gardez cette page : reconnectez-vous" in said
    assert lxml.html.fromstring(answer.data).xpath("//main//a[@target='_blank']/@href") == \
        ["/desk/connexion"]


@pytest.mark.parametrize("broken", [
    b'{"editor": "x", "base": "a", "text": "a', b"[1, 2]", b'{"base": 1, "text": "a"}',
    b'{"text": "a"}', b"\xff\xfe", b"",
])
def test_desk_draft_file_broken_by_hand_is_set_aside_and_said_in_french(
    app: Flask, schedule: Path, broken: bytes  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre corrigé"})[0] == 302
    folder = drafts.drafts_folder(schedule)
    (path,) = folder.glob("*.json")
    path.write_bytes(broken)
    for page in ("/desk/brouillon", "/desk/", "/desk/seances/clermont-ferrand"):
        answer = client.get(page)
        assert answer.status_code < 500, page
        if answer.status_code == 409:
            said = page_text(answer.data)
            assert f".drafts/{path.name}" in said and "mis de côté" in said
            (aside,) = folder.glob("*.illisible-*.json")
            assert f".drafts/{aside.name}" in said and aside.read_bytes() == broken
        else:  # set aside at the first page: the desk opens on the file as it is
            assert answer.status_code == 200, page
    assert client.get("/desk/brouillon").status_code == 200
    assert not path.exists()


def test_desk_drafts_broken_in_the_same_second_are_each_kept_aside(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # Set aside under a name made of the second alone, the second overwrote the first.
    client = app.test_client()
    login(client)
    folder = drafts.drafts_folder(schedule)
    path = folder / f"{drafts.key(EMAIL)}.json"
    broken = [f'{{"text": "brouillon {n}'.encode() for n in range(3)]
    for text in broken:
        assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre"})[0] == 302
        path.write_bytes(text)
        answer = client.get("/desk/brouillon")
        assert answer.status_code == 409
    kept = sorted(p.read_bytes() for p in folder.glob("*.illisible-*.json"))
    assert kept == broken


def test_desk_pages_say_the_durations_the_desk_applies(
    app: Flask, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # Each duration a page names comes from the number the rule uses, not a copy in words.
    monkeypatch.setattr(history, "CORRECTION_WINDOW", timedelta(minutes=20))
    monkeypatch.setattr(views, "LIFETIME", timedelta(hours=4))
    monkeypatch.setattr(views, "FAILURE_WINDOW", 30 * 60)
    monkeypatch.setattr(views, "FAILURES_PER_ACCOUNT", 1)
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre"})[0] == 302
    draft = page_text(client.get("/desk/brouillon").data)
    assert "Une modification publiée moins de 20 minutes après la précédente" in draft
    form = lxml.html.fromstring(client.get("/desk/seances/bourges").data).xpath("//main//form")[0]
    client.post("/desk/deconnexion", data={"csrf_token": token(client, "/desk/")})
    ended = client.post("/desk/seances/bourges", data=dict(form.form_values()))
    assert "Votre connexion a pris fin (au bout de 4 heures" in page_text(ended.data)
    refused = client.post("/desk/connexion", data={
        "csrf_token": token(client), "email": EMAIL, "password": "pas le bon"})
    assert refused.status_code == 429
    assert "Réessayez dans 30 minutes" in page_text(refused.data)


def test_desk_unknown_address_is_the_desks_own_404_in_french(app: Flask) -> None:  # noqa: F811
    client = app.test_client()
    login(client)
    for path in ("/desk/nimporte", "/desk/seances/x/y/z", "/desk/static/absent.css",
                 "/desk/apercu/absent"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["Cache-Control"] == "private, no-store", path
        assert "noindex" in answer.headers["X-Robots-Tag"], path
        assert answer.headers["Content-Security-Policy"] == views.POLICY, path
        assert lxml.html.fromstring(answer.data).get("lang") == "fr", path
        assert "Cette page n’existe pas" in page_text(answer.data), path
    logged_out = app.test_client().get("/desk/nimporte")
    assert logged_out.headers["Cache-Control"] == "private, no-store"
    for method, path in (("put", "/desk/nimporte"), ("put", "/desk/brouillon"),
                         ("delete", "/desk/"), ("patch", "/desk/seances/clermont-ferrand")):
        answer = getattr(client, method)(path)
        assert answer.status_code == 404, (method, path)
        assert answer.headers["Cache-Control"] == "private, no-store", (method, path)


def test_desk_says_what_to_do_in_the_desk_when_a_published_session_is_missing(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    client = app.test_client()
    marseille_published_then_cut(client, schedule)
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    (said,) = [" ".join(li.text_content().split()) for li in page.xpath("//main//li")
               if "marseille" in li.text_content()]
    assert "« Annuler »" in said and "administrateur" in said
    assert "agenda publish" not in said and "lancez" not in said
    # The command line keeps its own words: there, running a command is the way.
    refused = CliRunner().invoke(main, ["publish", str(schedule)])
    assert refused.exit_code != 0
    assert "agenda publish --withdraw marseille" in refused.output


def test_desk_draft_broken_while_publishing_does_not_say_nothing_was_published(
    app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre corrigé"})[0] == 302
    (path,) = drafts.drafts_folder(schedule).glob("*.json")
    real = views.publish

    def meanwhile(*args: object, **kwargs: object) -> object:
        path.write_bytes(b'{"text": ')  # another hand cuts the draft file short
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "publish", meanwhile)
    assert publish(client) == 302
    assert "Titre corrigé" in client.get("/events/clermont-ferrand").get_data(as_text=True)
    assert client.get("/desk/brouillon").status_code == 200


def test_desk_offers_a_replay_by_the_moment_the_pages_are_at(schedule: Path) -> None:  # noqa: F811
    # A service pinned to a moment (AGENDA_NOW, a staging unit): Clermont-Ferrand (19 May 2021)
    # is to come on its page, so the desk offers no replay for it, as it would not today.
    add_editor(schedule)
    client = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET, "TESTING": True,
                         "AGENDA_DESK_SECURE": False,
                         "AGENDA_NOW": "2021-05-17T12:00:00+02:00"}).test_client()
    assert client.get("/events/clermont-ferrand.json").get_json()["add_to_calendar"]  # to come
    login(client)
    page = lxml.html.fromstring(client.get("/desk/").data)
    row = page.xpath('//tr[@id="s-clermont-ferrand"]')[0]
    assert [a.text_content().split()[0] for a in row.xpath(".//a")] == [
        "Modifier", "Reporter", "Annuler"]


def test_desk_link_from_another_site_cannot_choose_the_kind_of_change(
    app: Flask,  # noqa: F811
) -> None:
    # A GET /desk/brouillon?mode=correction (a link or an <img> on any site: the cookie is
    # SameSite=Lax) chose « correction » for the editor's next « Publier »: a move then went
    # out without a news entry or the word « Reporté », the radio preset where it was seen.
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand/reporter",
                {"start": "2021-05-20T08:45", "end": "2021-05-20T10:15"})[0] == 302
    news = len(feedparser.parse(client.get("/desk/apercu/rss.xml").data).entries)
    with client.session_transaction("/desk/") as before:
        kept = dict(before)
    for method, path in desk_urls(app):  # no GET, whatever its query, changes the login
        if method == "GET":
            client.get(path, query_string={"mode": "correction", "next": "/", "publie": "2"})
    with client.session_transaction("/desk/") as after:
        assert dict(after) == kept
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    assert page.xpath("//input[@name='mode'][@checked]/@value") == ["regle"]
    assert len(feedparser.parse(client.get("/desk/apercu/rss.xml").data).entries) == news


def test_desk_logout_ends_this_login_even_when_the_editors_file_cannot_be_written(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # « Se déconnecter » wrote the editors file first: on a full disk (or a file the service
    # cannot write) it answered 503 and the cookie stayed a login for 8 hours, on a shared
    # computer too, the page saying only that nothing was published.
    client = app.test_client()
    login(client)
    csrf = token(client, "/desk/")
    with files_limited_to(1):
        answer = client.post("/desk/deconnexion", data={"csrf_token": csrf})
    assert answer.status_code == 503
    said = page_text(answer.data)
    assert "déconnecté dans ce navigateur" in said and "Se déconnecter" not in said
    again = client.get("/desk/")
    assert lxml.html.fromstring(again.data).xpath("//input[@name='password']"), page_text(
        again.data)


def test_desk_drafts_are_readable_by_the_service_alone(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A draft holds the whole schedule, private video links included: it was written 0644, in
    # a .drafts folder the preview had made 0755 first, so that every account of the server
    # read the links an operator had kept from them with a schedule file of mode 0600.
    schedule.chmod(0o600)
    before = os.umask(0o022)
    try:
        client = app.test_client()
        login(client)
        client.get("/desk/apercu/")  # before any draft: the preview makes the folder
        assert post(client, "/desk/seances/bourges", {"city": "Vierzon"})[0] == 302
    finally:
        os.umask(before)
    folder = schedule.with_name(".drafts")
    assert [p.name for p in folder.glob("*.json")] != []
    for path in [folder, *folder.glob("*.json")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_desk_two_previews_at_once_both_answer_and_leave_no_temporary_folder(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # Two tabs (or « Aperçu » and « Publier ») of one editor under the threaded development
    # server: both build the preview of one draft into the same folder at the same moment.
    client = app.test_client()
    login(client)
    cookie = client.get_cookie("agenda_desk", path="/desk")
    clients = [client, app.test_client()]
    clients[1].set_cookie("agenda_desk", cookie.value, path="/desk")
    start = threading.Barrier(len(clients))

    def preview(other: FlaskClient) -> str:
        start.wait()
        answer = other.get("/desk/apercu/")
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    folder = drafts.preview_folder(schedule, EMAIL)
    killed = folder / ".regle.k3_x9q0z.999999999.tmp" / "site"  # a build killed (a restart)
    killed.mkdir(parents=True)
    for title in ("Titre un", "Titre deux", "Titre trois", "Titre quatre"):
        assert post(client, "/desk/seances/clermont-ferrand", {"title": title})[0] == 302
        with ThreadPoolExecutor(len(clients)) as pool:
            assert [title in page for page in pool.map(preview, clients)] == [True, True]
    assert [p.name for p in folder.iterdir() if "tmp" in p.name] == []
