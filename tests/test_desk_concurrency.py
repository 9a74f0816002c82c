"""The desk with others at work: editors, the command line and the service at the same time.

Each test reproduces what two communications officers (or an operator at the server) meet
when they act within the same seconds; the others are real threads and processes, and
the results are read back with independent parsers (json, feedparser, lxml).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
import tomlkit
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app, store
from agenda.desk import drafts, views
from tests.test_desk import (
    EMAIL,
    PASSWORD,
    SECRET,
    add_editor,
    app,  # noqa: F401 (fixture)
    login,
    post,
    publish,
    schedule,  # noqa: F401 (fixture)
    token,
)


def test_desk_publish_keeps_its_kind_of_change_when_agenda_publish_runs_meanwhile(
    app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # An editor publishes a date typo put right as « C'est une correction » (no news) while
    # an operator runs `agenda publish` at the server: the desk wrote the file, then let go
    # of the lock before publishing it, and the command published the editor's text as an
    # announcement (« Nouvelle date » to journalists), by nobody.
    client = app.test_client()
    login(client)
    entries = len(feedparser.parse(client.get("/rss.xml").data).entries)
    post(client, "/desk/seances/clermont-ferrand/reporter",
         {"start": "2021-05-20T08:45", "end": "2021-05-20T10:15"})
    command = [sys.executable, "-c", "from agenda.cli import main; main()", "publish",
               str(schedule)]
    real, others = views.publish, []

    def with_the_command_meanwhile(*args: Any, **kwargs: Any) -> Any:
        # `agenda publish` starts once the desk has written the file; given three seconds
        # to go through first (the lock free), or to wait for the desk (the lock held).
        others.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        try:
            others[0].wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "publish", with_the_command_meanwhile)
    assert publish(client, "correction") == 302
    assert others[0].wait(timeout=60) == 0
    history = json.loads(schedule.with_name("sessions.published.json").read_text("utf-8"))
    last = history["sessions"]["clermont-ferrand"]["revisions"][-1]
    assert (last["by"], last["correction"]) == (EMAIL, True)
    assert len(feedparser.parse(client.get("/rss.xml").data).entries) == entries


def test_desk_pages_read_the_draft_with_the_loaders_parser_and_edit_it_with_tomlkit_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # tomlkit, which keeps the file's layout for the edits, reads 1,000 sessions in a second,
    # tomllib in a tenth: the list of sessions parsed the text twice with it (3 s with a
    # draft), a session's form twice (1.5 s), a form saved three times (2.5 s).
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre corrigé"})[0] == 302
    parsed: list[str] = []
    real = tomlkit.parse

    def counted(text: str) -> Any:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(tomlkit, "parse", counted)
    session = "/desk/seances/clermont-ferrand"
    for path in ("/desk/", "/desk/brouillon", session, f"{session}/reporter",
                 f"{session}/annuler", "/desk/series/tour-des-villes",
                 "/desk/series/tour-des-villes/nouvelle", "/desk/agenda", "/desk/contacts"):
        assert client.get(path).status_code == 200, path
        assert parsed == [], path
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Autre titre"})[0] == 302
    assert len(parsed) == 1


def test_desk_two_forms_saved_at_the_same_moment_keep_both_changes(
    app: Flask, schedule: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # Two officers on the desk's shared login (or two tabs), « Enregistrer » within the same
    # second: each read the draft, carried its change over, and wrote it, the later over the
    # earlier: both were told it was saved, one of the changes was gone.
    client = app.test_client()
    login(client)
    other = app.test_client()
    other.set_cookie("agenda_desk", client.get_cookie("agenda_desk", path="/desk").value,
                     path="/desk")
    titles = {"bourges": "Titre de Bourges", "clermont-ferrand": "Titre de Clermont"}
    forms = {}
    for who, session_id in zip((client, other), titles, strict=True):
        form = lxml.html.fromstring(who.get(f"/desk/seances/{session_id}").data)
        forms[session_id] = {**dict(form.xpath("//main//form")[0].form_values()),
                             "title": titles[session_id]}
    both, real = threading.Barrier(2), drafts.save_draft

    def together(*args: Any) -> None:
        # Both requests write together when nothing keeps the second waiting; one that
        # waits finds the barrier broken after two seconds and goes on.
        with contextlib.suppress(threading.BrokenBarrierError):
            both.wait(timeout=2)
        real(*args)

    monkeypatch.setattr(drafts, "save_draft", together)

    def save(who: FlaskClient, session_id: str) -> int:
        return who.post(f"/desk/seances/{session_id}", data=forms[session_id]).status_code

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(save, (client, other), titles)) == [302, 302]
    draft = tomllib.loads(drafts.load_draft(schedule, EMAIL).text)
    assert {s["id"]: s.get("title") for s in draft["sessions"] if s["id"] in titles} == titles


def test_desk_lists_nothing_going_out_right_after_publishing_while_the_service_catches_up(
    schedule: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # A served process follows a publication at its watcher's next look (half a second; more
    # in another worker, or while it builds the new folder): the page « Publier » leads to
    # said « Version 2 publiée. » over « Des modifications attendent d'être publiées », and the
    # draft page listed again, as going out, the change just sent.
    monkeypatch.setattr(store, "POLL_SECONDS", 3600)  # a watcher that looks after the test
    add_editor(schedule)
    watched = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET,
                          "AGENDA_DESK_SECURE": False, "AGENDA_WATCH": True,
                          "AGENDA_SETTLE": 7200})
    client = watched.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre corrigé"})[0] == 302
    answer = client.post("/desk/publier", data={
        "csrf_token": token(client, "/desk/brouillon"), "mode": "regle"}, follow_redirects=True)
    said = " ".join(lxml.html.fromstring(answer.data).xpath("//main")[0].text_content().split())
    assert "Version 2 publiée." in said
    assert "attendent" not in said and "brouillon" not in said
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    assert page.xpath("//*[contains(text(), 'Clermont-Ferrand')]") == []
    assert publish(client) == 302  # once more: nothing to publish, version 2 still
    published = json.loads(schedule.with_name("sessions.published.json").read_text("utf-8"))
    assert published["version"] == 2


def test_desk_form_shown_before_another_editors_change_to_its_field_does_not_write_over_it(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # Hélène and Marc open Clermont's form; she corrects the city and publishes; he, the form
    # still showing the old city, types his own: it replaced hers without a word, and went
    # out at his « Publier ». Now the form comes back saying what the field holds, with his
    # typing, which a second « Enregistrer » saves; a field nobody else changed goes through.
    add_editor(schedule, "marc@ceps-oing.org")
    helene, marc = app.test_client(), app.test_client()
    login(helene)
    marc.post("/desk/connexion", data={"csrf_token": token(marc), "email": "marc@ceps-oing.org",
                                       "password": PASSWORD})
    path = "/desk/seances/clermont-ferrand"

    def form(who: FlaskClient, answer: bytes | None = None) -> dict[str, str]:
        page = lxml.html.fromstring(answer or who.get(path).data)
        return dict(page.xpath("//main//form")[0].form_values())

    his, double = form(marc), form(marc)
    assert helene.post(path, data={**form(helene), "city": "Clermont (Puy-de-Dôme)"}).status_code \
        == 302
    assert publish(helene) == 302
    answer = marc.post(path, data={**his, "city": "Clermont-Ferrand (63)"})
    assert answer.status_code == 409
    said = " ".join(lxml.html.fromstring(answer.data).xpath("//main")[0].text_content().split())
    assert "Ville" in said and "Modifié entre-temps" in said
    assert "c’est maintenant « Clermont (Puy-de-Dôme) »" in said
    again = form(marc, answer.data)
    assert again["city"] == "Clermont-Ferrand (63)"
    assert drafts.load_draft(schedule, "marc@ceps-oing.org") is None  # nothing saved
    assert marc.post(path, data=again).status_code == 302
    draft = tomllib.loads(drafts.load_draft(schedule, "marc@ceps-oing.org").text)
    (clermont,) = [s for s in draft["sessions"] if s["id"] == "clermont-ferrand"]
    assert clermont["city"] == "Clermont-Ferrand (63)"
    # His other tab, opened at the same time, changes the title alone: saved, the city kept.
    assert marc.post(path, data={**double, "title": "Un autre titre"}).status_code == 302
    draft = tomllib.loads(drafts.load_draft(schedule, "marc@ceps-oing.org").text)
    (clermont,) = [s for s in draft["sessions"] if s["id"] == "clermont-ferrand"]
    assert (clermont["city"], clermont["title"]) == ("Clermont-Ferrand (63)", "Un autre titre")
    # The same form sent twice (a double click, a reload): the same change, no conflict.
    assert marc.post(path, data={**double, "title": "Un autre titre"}).status_code == 302


def test_desk_abandon_clicked_twice_says_the_draft_is_abandoned(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A double click on « Abandonner le brouillon »: the first request abandoned it; the
    # second, the one the browser shows, found the draft « changed meanwhile » (there was
    # none left) and said « rien n'a été abandonné », over an empty list of changes.
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre corrigé"})[0] == 302
    page = lxml.html.fromstring(client.get("/desk/abandonner").data)
    form = dict(page.xpath("//main//form")[0].form_values())
    answers = [client.post("/desk/abandonner", data=form) for _ in range(2)]
    assert [a.status_code for a in answers] == [302, 302]
    assert drafts.load_draft(schedule, EMAIL) is None


@pytest.mark.parametrize(("now", "link"), [("2021-05-17T12:00:00+02:00", "#s-clermont-ferrand"),
                                           (None, None)])
def test_desk_list_of_sessions_links_each_series_to_its_next_session(
    schedule: Path, now: str | None, link: str | None  # noqa: F811
) -> None:
    # At 1,000 sessions the list is 38,000 pixels tall in Chromium, sorted by number: the
    # sessions an editor works on, those to come, begin some 700 rows below the first.
    add_editor(schedule)
    client = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET, "TESTING": True,
                         "AGENDA_DESK_SECURE": False, "AGENDA_NOW": now}).test_client()
    login(client)
    page = lxml.html.fromstring(client.get("/desk/").data)
    (series,) = page.xpath("//section[@class='series']")
    found = series.xpath(".//p[@class='actions']/a[starts-with(@href, '#')]")
    assert [a.get("href") for a in found] == ([link] if link else [])
    if link:
        assert " ".join(found[0].text_content().split()) == \
            "Aller à la prochaine séance : Clermont-Ferrand"
        assert page.xpath(f"//tr[@id='{link[1:]}']")


def test_desk_pages_open_while_the_published_file_cannot_be_read(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # The pages compare the draft with the published file (its version may be ahead of the
    # one served); a damaged file is for « Publier » and /healthz to say: the editors still
    # see the list and their draft, and edit it, as with the version served.
    client = app.test_client()
    login(client)
    schedule.with_name("sessions.published.json").write_text("{ pas du JSON", encoding="utf-8")
    for path in ("/desk/", "/desk/brouillon", "/desk/seances/clermont-ferrand"):
        assert client.get(path).status_code == 200, path
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre corrigé"})[0] == 302
