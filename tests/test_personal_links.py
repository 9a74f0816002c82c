"""Personal links (issue 9): the private video link reaches registered people and no one else."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import icalendar
import lxml.html
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from agenda import create_app
from agenda.cli import main
from tests.conftest import MINIMAL, SEVERAL
from tests.servers import fetch, free_port, gunicorn

SECRET = "test-secret-0123456789-abcdefghij"
PRIVATE = "https://meet.example.org/private-room-SECRET"


def make_link(runner: CliRunner, *args: str, secret: str | None = SECRET,
              data: Path = SEVERAL) -> str:
    """The URL `agenda link` prints on its last line, as a path with its query."""
    env = {"AGENDA_SECRET": secret} if secret is not None else {"AGENDA_SECRET": ""}
    result = runner.invoke(main, ["link", *args, "--data", str(data)], env=env)
    assert result.exit_code == 0, result.output
    url = urlsplit(result.output.splitlines()[-1])
    assert (url.scheme, url.netloc) == ("https", "agenda.example.org")
    return url.path + (f"?{url.query}" if url.query else "")


BEFORE_AUTUMN = "2021-07-01T12:00:00+02:00"


def client_with(secret: str | None, data: Path = SEVERAL) -> FlaskClient:
    # Before the sessions of the fixture end: their pages still offer to add them.
    config = {"AGENDA_DATA": str(data), "AGENDA_SECRET": secret, "AGENDA_NOW": BEFORE_AUTUMN}
    return create_app(config).test_client()


def ics_of(path: str) -> str:
    """The personal .ics address that goes with a personal page address."""
    page, _, query = path.partition("?")
    return page + ".ics" + (f"?{query}" if query else "")


def test_link_gives_the_page_with_the_private_video_link(runner: CliRunner) -> None:
    path = make_link(runner, "automne")
    response = client_with(SECRET).get(path)
    assert response.status_code == 200
    assert PRIVATE.encode() in response.data
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "ETag" not in response.headers


def test_personal_page_offers_the_personal_ics(runner: CliRunner) -> None:
    path = make_link(runner, "automne", "--email", "Jeanne@Example.org")
    page = client_with(SECRET).get(path).get_data(as_text=True)
    assert f'href="{ics_of(path).replace("&", "&amp;")}"' in page


def test_link_gives_the_ics_with_the_private_video_link(runner: CliRunner) -> None:
    path = ics_of(make_link(runner, "automne", "--email", "jeanne@example.org"))
    response = client_with(SECRET).get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    event = icalendar.Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert str(event["CONFERENCE"]) == PRIVATE
    assert PRIVATE in str(event["DESCRIPTION"])


def test_personal_ics_replaces_the_public_event_a_calendar_holds(runner: CliRunner) -> None:
    """Whoever added the public event first, then opens their personal .ics, gets the link:
    calendars replace an event of the same UID only when its SEQUENCE grows (CLIENTS.md)."""
    client = client_with(SECRET)

    def event(path: str) -> icalendar.Event:
        return icalendar.Calendar.from_ical(client.get(path).data).walk("VEVENT")[0]

    public, mine = event("/events/automne.ics"), event(ics_of(make_link(runner, "automne")))
    assert str(mine["UID"]) == str(public["UID"])
    assert int(mine["SEQUENCE"]) > int(public["SEQUENCE"])
    # A link already public: the same event, byte for byte.
    shared = client.get(ics_of(make_link(runner, "printemps", "--email", "a@example.org")))
    assert shared.data == client.get("/events/printemps.ics").data


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p.replace("/private/", "/private/x"),  # wrong signature
        lambda p: p.replace("automne", "printemps"),  # another session
        lambda p: p.replace("jeanne", "paul"),  # another person
        lambda p: p.split("?")[0],  # the address dropped
        lambda p: p.replace("/private/", "/private/é"),  # not even ASCII
    ],
)
def test_wrong_signature_is_a_bare_403(runner: CliRunner, tamper) -> None:
    path = tamper(make_link(runner, "automne", "--email", "jeanne@example.org"))
    for address in (path, ics_of(path)):
        response = client_with(SECRET).get(address)
        assert response.status_code == 403
        assert response.get_data(as_text=True) == (
            "403 – Ce lien ne donne pas accès à cette page.\n"
        )


def test_unknown_session_with_any_signature_is_403_not_404(runner: CliRunner) -> None:
    path = make_link(runner, "automne").replace("automne", "inconnue")
    assert client_with(SECRET).get(path).status_code == 403


def test_no_answer_at_a_personal_address_sends_it_on_as_referer(runner: CliRunner) -> None:
    """A refused link's HTML page (after the secret changed) loads the site's stylesheet too: a
    Referer would give the signature and the person's address to every access log."""
    path = make_link(runner, "automne", "--email", "jeanne@example.org")
    for client in (client_with(SECRET), client_with("another-secret-0123456789")):
        for address in (path, ics_of(path), path.replace("automne", "inconnue")):
            response = client.get(address, headers={"Accept": "text/html"})
            assert response.headers.getlist("Referrer-Policy") == ["no-referrer"], address


def test_rotating_the_secret_revokes_every_link(runner: CliRunner) -> None:
    path = make_link(runner, "automne")
    assert client_with(SECRET).get(path).status_code == 200
    assert client_with("another-secret-0123456789").get(path).status_code == 403
    assert client_with(None).get(path).status_code == 403


def test_link_without_secret_is_a_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["link", "automne", "--data", str(SEVERAL)],
                           env={"AGENDA_SECRET": ""})
    assert result.exit_code == 1
    assert result.output.startswith("agenda : AGENDA_SECRET n’est pas défini : ")


def test_link_with_a_short_secret_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(main, ["link", "automne", "--data", str(SEVERAL)],
                           env={"AGENDA_SECRET": "short"})
    assert result.exit_code == 1
    assert "AGENDA_SECRET a 5 caractères ; il en faut au moins 16" in result.output


def test_link_to_unknown_session_lists_sessions(runner: CliRunner) -> None:
    result = runner.invoke(main, ["link", "nulle-part", "--data", str(SEVERAL)],
                           env={"AGENDA_SECRET": SECRET})
    assert result.exit_code == 1
    assert result.output.startswith(f"agenda : pas de séance « nulle-part » dans {SEVERAL} ; ")


def test_link_on_a_schedule_without_sessions_says_there_is_none(runner: CliRunner,
                                                                 write_schedule) -> None:
    """The list of sessions it names was empty: « séances : . »."""
    result = runner.invoke(main, ["link", "lyon", "--data", str(write_schedule(MINIMAL))],
                           env={"AGENDA_SECRET": SECRET})
    assert result.exit_code == 1
    assert re.search(r":\s*[.,;]", result.output) is None
    assert result.output.endswith(" : aucune.\n"), result.output


def test_moved_session_same_link_gives_the_new_date(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "sessions.toml"
    text = SEVERAL.read_text(encoding="utf-8")
    data.write_text(text, encoding="utf-8")
    path = ics_of(make_link(runner, "automne", data=data))
    client = client_with(SECRET, data)
    before = icalendar.Calendar.from_ical(client.get(path).data).walk("VEVENT")[0]
    data.write_text(text.replace("2021-10-31T09:00:00", "2021-11-03T09:00:00", 1)
                        .replace("2021-10-31T10:30:00", "2021-11-03T10:30:00", 1)
                    + "# moved\n",  # a new size, so the reload never hinges on mtime alone
                    encoding="utf-8")
    after = icalendar.Calendar.from_ical(client.get(path).data).walk("VEVENT")[0]
    assert before.decoded("DTSTART").day == 31
    assert after.decoded("DTSTART").day == 3
    assert str(after["CONFERENCE"]) == PRIVATE


def test_signed_bytes_are_written_nowhere(runner: CliRunner, tmp_path: Path) -> None:
    # After personal requests of every kind, no file under the data folder or the
    # site folders (the build's temporary ones included) holds the private link.
    data = tmp_path / "data" / "sessions.toml"
    data.parent.mkdir()
    data.write_text(SEVERAL.read_text(encoding="utf-8"), encoding="utf-8")
    client = client_with(SECRET, data)
    path = make_link(runner, "automne", data=data)
    for address in (path, ics_of(path), path + "?email=a@example.org", "/events/automne",
                    "/events/automne.ics", "/calendar.ics", "/events.json"):
        assert client.get(address).status_code in (200, 403), address
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.suffix == ".ics" for f in files), "the site folder is beside the data"
    for file in files:
        body = file.read_bytes()
        if file.suffix == ".gz":
            body = zlib.decompress(body, wbits=31)
        elif file.suffix == ".br":
            body = brotli.decompress(body)
        if file.name != "sessions.toml" and not file.name.endswith(".published.json"):
            assert PRIVATE.encode() not in body, file
    public = client.get("/events/automne.ics")
    assert b"private-room" not in public.data


def test_the_access_log_keeps_no_personal_link(runner: CliRunner, tmp_path: Path) -> None:
    # The service's log (journald) is read by more people than the links were sent to: a
    # signature there opens the private video link to any of them, with whose it is.
    path = make_link(runner, "automne", "--email", "jeanne@example.org")
    log, port = tmp_path / "access.log", free_port()
    with gunicorn(SEVERAL, port, workers=1, env={"AGENDA_SECRET": SECRET}, access_log=str(log)):
        status, _headers, body = fetch(port, path)
        assert fetch(port, ics_of(path))[0] == 200
    assert status == 200 and PRIVATE.encode() in body
    written = log.read_text(encoding="utf-8")
    signed = path.split("/private/")[1].partition("?")[0]
    assert written.count('"GET /events/automne/private/… HTTP/1.1" 200') == 2  # each request
    assert signed not in written and "jeanne" not in written


def test_personal_page_tells_machines_only_what_the_public_page_does(runner: CliRunner) -> None:
    # A link preview (Slack, LinkedIn) or a search engine reads the head: the person's join
    # link is in the page's body for them, never in its share tags nor in JSON-LD.
    client = client_with(SECRET)
    personal = lxml.html.fromstring(client.get(make_link(runner, "automne")).data)
    public = lxml.html.fromstring(client.get("/events/automne").data)

    def head(page: lxml.html.HtmlElement) -> list[tuple[str, dict[str, str]]]:
        return [(e.tag, dict(e.attrib)) for e in page.xpath("//head/meta | //head/link")]

    assert head(personal) == head(public)
    assert personal.xpath("//link[@rel='canonical']/@href") == [
        "https://agenda.example.org/events/automne"]
    assert personal.xpath("//script[@type='application/ld+json']") == []
    assert PRIVATE not in lxml.html.tostring(personal.head, encoding=str)
