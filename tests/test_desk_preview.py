"""The desk's preview is what « Publier » sends: the same files, the same changes listed.

Each kind of edit is made through the desk's forms, previewed, then published; the preview's
folder is compared file by file with the folder then served, and the changes the draft page
lists with what the calendars (icalendar) and news feeds (feedparser) actually gained.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import lxml.html
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app, published
from agenda.cli import main
from agenda.desk import preview, views
from agenda.desk.drafts import preview_folder
from agenda.site import read_site
from tests.conftest import FIXTURES
from tests.test_desk import (
    EMAIL,
    PASSWORD,
    SECRET,
    add_editor,
    choose,
    login,
    post,
    publish,
    token,
)

SECRET_LINK = "https://zoom.example/j/secret-lyon"
LYON, NANTES, LILLE = "/desk/seances/lyon", "/desk/seances/nantes", "/desk/seances/lille"
BORDEAUX, REPLAY = "/desk/seances/bordeaux", "https://video.example/bordeaux"
# A session over already (a month before the tests' wall clock, whenever they run).
PAST = ("/desk/series/tour-des-villes/nouvelle", {
    "id": "bordeaux", "number": "9", "city": "Bordeaux", "status": "confirmed",
    "start": f"{datetime.now(UTC) - timedelta(days=30):%Y-%m-%d}T08:45",
    "end": f"{datetime.now(UTC) - timedelta(days=30):%Y-%m-%d}T10:15"})

# Each kind of edit: the forms it posts before (published first) and the forms of the draft;
# each is tried with the three kinds of change of the draft page.
Forms = list[tuple[str, dict[str, str | None]]]  # each form's path and values (None: unticked)
EDITS: dict[str, tuple[Forms, Forms]] = {
    "title": ([], [(LYON, {"title": "Lyon, la ville des deux fleuves"})]),
    "date": ([], [(LYON + "/reporter", {"start": "2027-03-17T08:45", "end": "2027-03-17T10:15"})]),
    "dst": ([], [(LYON + "/reporter", {"start": "2027-03-31T09:30", "end": "2027-03-31T11:00"})]),
    "cancel": ([], [(LYON + "/annuler", {})]),
    "restore": ([(LYON + "/annuler", {})], [(LYON + "/retablir", {})]),
    "city": ([], [(NANTES, {"city": "Nantes Métropole"})]),
    "speaker": ([], [(NANTES, {"speakers.0.name": "Johanna Rolland",
                               "speakers.0.role": "Maire de Nantes"})]),
    "private-link": ([], [(LYON, {"video_url": "https://zoom.example/j/secret-lyon-2"})]),
    "public-link": ([], [(NANTES, {"video_url": "https://live.example/nantes-2"})]),
    "added": ([], [("/desk/series/tour-des-villes/nouvelle", {
        "id": "rennes", "number": "4", "city": "Rennes", "start": "2027-05-19T08:45",
        "end": "2027-05-19T10:15", "status": "confirmed",
        "video_url": "https://zoom.example/j/secret-rennes"})]),
    "series": ([], [("/desk/series/tour-des-villes", {"title": "Le Tour des Villes"})]),
    "rhythm": ([], [("/desk/series/tour-des-villes", {
        "rhythm.rule": "FREQ=MONTHLY;COUNT=8;BYDAY=3WE", "rhythm.start": "09:00"})]),
    "shorter": ([], [("/desk/series/tour-des-villes", {
        "rhythm.rule": "FREQ=MONTHLY;COUNT=4;BYDAY=3WE"})]),
    "contacts": ([], [("/desk/contacts", {"contacts.0.phone": "06 00 00 00 00"})]),
    "planned": ([], [(LILLE, {"start": "2027-05-19T08:45", "end": "2027-05-19T10:15",
                              "announced": "2026-12-01", "status": "confirmed"})]),
    # The kinds of news that came with « Séance non confirmée » and « Modalités de participation ».
    "unconfirmed": ([], [(LYON, {"status": "tentative"})]),
    "registration-opened": ([], [(LYON, {"registration_url": "https://ceps.example/lyon"})]),
    "registration-closed": ([(NANTES, {"registration_url": "https://ceps.example/nantes"})],
                            [(NANTES, {"registration_url": ""})]),
    "video-made-public": ([], [(LYON, {"video_url": "https://live.example/lyon",
                                       "video_public": "1"})]),
    "video-made-private": ([], [(NANTES, {"video_public": None})]),
    "replay-added": ([PAST], [(BORDEAUX + "/replay", {"replay_url": REPLAY})]),
    "cancelled-unconfirmed": ([(LYON + "/annuler", {})], [(LYON, {"status": "tentative"})]),
    "announced-later": ([], [("/desk/series/tour-des-villes/nouvelle", {
        "id": "rennes", "number": "4", "city": "Rennes", "start": "2027-05-19T08:45",
        "end": "2027-05-19T10:15", "status": "confirmed", "announced": "2027-05-01"})]),
    "over-registration-closed": ([PAST, (BORDEAUX, {"registration_url": "https://c.example/b"})],
                                 [(BORDEAUX, {"registration_url": ""})]),
    # Held already, without a date: its announcement is of a session over (« date non
    # communiquée », not « date à venir »).
    "held-announced": ([], [(LILLE, {"held": "1", "announced": "2026-12-01",
                                     "status": "confirmed"})]),
    # Bordeaux is the file's last session: its replay was its last line, the draft the
    # beginning of the published file, refused as a save in progress (« Publier » too).
    "replay-removed": ([PAST, (BORDEAUX + "/replay", {"replay_url": REPLAY})],
                       [(BORDEAUX + "/replay", {"replay_url": ""})]),
    "cancelled-moved": ([(LYON + "/annuler", {})], [(LYON + "/reporter", {
        "start": "2027-04-14T08:45", "end": "2027-04-14T10:15"})]),
    "cancelled-moved-back": ([(LYON + "/annuler", {})], [(LYON + "/reporter", {
        "start": "2027-04-14T08:45", "end": "2027-04-14T10:15", "status": "confirmed"})]),
    "cancelled-moved-then-back": ([(LYON + "/annuler", {}), (LYON + "/reporter", {
        "start": "2027-04-14T08:45", "end": "2027-04-14T10:15"})], [(LYON + "/retablir", {})]),
}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    schedule = tmp_path / "sessions.toml"
    shutil.copy(FIXTURES / "desk_preview.toml", schedule)
    result = CliRunner().invoke(main, ["publish", "--new-history", str(schedule)])
    assert result.exit_code == 0, result.output
    add_editor(schedule)
    return create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET, "TESTING": True,
                       "AGENDA_DESK_SECURE": False})


def edit(client: FlaskClient, forms: Forms) -> None:
    for path, data in forms:
        status, page = post(client, path, data)
        assert status == 302, page


def files(folder: Path) -> dict[str, bytes]:
    """Every public file of a built folder, by URL path."""
    site = read_site(folder)
    found = {}
    for path, entry in site.entries.items():
        with site.open(entry, "identity") as handle:
            found[path] = handle.read()
    return found


def sequences(client: FlaskClient) -> dict[str, int]:
    feed = icalendar.Calendar.from_ical(client.get("/calendar.ics").data)
    return {str(e["UID"]): int(e.get("SEQUENCE", 0)) for e in feed.walk("VEVENT")}


def news(client: FlaskClient, feed: str = "/rss.xml") -> dict[str, str]:
    """A news feed's entries: their titles by id, spaces as a reader sees them."""
    entries = feedparser.parse(client.get(feed).data).entries
    return {e.id: " ".join(e.title.split()) for e in entries}


@pytest.mark.parametrize("mode", ["regle", "correction", "annonce"])
@pytest.mark.parametrize("kind", sorted(EDITS))
def test_desk_preview_is_what_publishing_sends(app: Flask, kind: str, mode: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    login(client)
    before, draft = EDITS[kind]
    if before:
        edit(client, before)
        assert publish(client) == 302
    # The preview's version is dated by the moment it is made, as « Publier » dates its own:
    # the same moment for both, the same bytes.
    moment = datetime.now(UTC)
    monkeypatch.setattr(views, "_now", lambda: moment)
    edit(client, draft)
    page = choose(client, mode)
    assert client.get("/desk/apercu/").status_code == 200
    schedule = Path(app.config["AGENDA_DATA"])
    shown = files(preview_folder(schedule, EMAIL) / mode)
    for path, body in shown.items():
        assert SECRET_LINK.encode() not in body, path
        assert b"secret-rennes" not in body and b"secret-lyon-2" not in body, path
    calendars, feeds, atom = sequences(client), news(client), news(client, "/atom.xml")
    assert publish(client, mode) == 302
    served = app.extensions["agenda.store"].site()
    sent = files(served.folder)
    assert sorted(shown) == sorted(sent)
    differ = [p for p in sent if shown[p] != sent[p]]
    assert not differ, differ
    # What the page listed is what the calendars and the news feeds gained.
    now = sequences(client)
    moved = {uid: (calendars.get(uid), after) for uid, after in now.items()
             if calendars.get(uid) != after}
    gone = [uid for uid in calendars if uid not in now]
    lines = [" ".join(p.itertext()) for p in page.xpath("//ul[@class='outgoing']/li//p")]
    said = sorted(m for line in lines if "Calendriers" in line
                  for m in re.findall(r"SEQUENCE (\d+) → (\d+)", line))
    assert said == sorted((str(b), str(a)) for b, a in moved.values() if b is not None), lines
    new = sum("nouvelle entrée dans les calendriers" in line for line in lines)
    assert new == sum(b is None for b, _a in moved.values()), lines
    assert sum("retirée des calendriers" in line for line in lines) == len(gone), lines
    gained = [title for entry, title in news(client).items() if entry not in feeds]
    titled = [t for line in lines if "actualité" in line and "pas de nouvelle" not in line
              and "pas avant" not in line  # an announcement to come: not in the feeds yet
              for t in re.findall(r"« (.+?) »", " ".join(line.split()))]
    assert sorted(titled) == sorted(gained), (lines, gained)
    assert not [line for line in lines if "»«" in "".join(line.split())], "two titles run on"
    assert sorted(gained) == sorted(
        title for entry, title in news(client, "/atom.xml").items() if entry not in atom)


def test_desk_preview_says_the_moment_its_documents_are_dated_by(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # The preview is built once for a draft and served again until it changes: its revisions
    # are dated by the moment it was built, which the banner said nothing of; « Publier » an
    # hour later dates them then.
    client = app.test_client()
    login(client)
    edit(client, EDITS["title"][1])
    built = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setattr(views, "_now", lambda: built)
    first = client.get("/desk/apercu/events/lyon").get_data(as_text=True)
    monkeypatch.setattr(views, "_now", lambda: built + timedelta(hours=1))
    page = client.get("/desk/apercu/events/lyon")
    banner = lxml.html.fromstring(page.data).xpath("//*[@class='desk-banner']")[0]
    said = " ".join(banner.text_content().split())
    hour = built.astimezone(ZoneInfo("Europe/Paris"))
    clock = f"{hour.hour} h" + (f" {hour.minute:02d}" if hour.minute else "")
    assert f"{hour.day} " in said and f"à {clock}." in said, said
    assert page.get_data(as_text=True) == first
    feed = feedparser.parse(client.get("/desk/apercu/atom.xml").data)
    assert datetime(*feed.entries[0].updated_parsed[:6], tzinfo=UTC) == built


def test_desk_preview_follows_what_changed_underneath(app: Flask) -> None:
    # The preview is never one built before: another tab's edit of the draft, another editor's
    # publication, a hand edit of the file.
    schedule = Path(app.config["AGENDA_DATA"])
    add_editor(schedule, "eva@in-darra.fr")
    helene, eva = app.test_client(), app.test_client()
    login(helene)
    assert eva.post("/desk/connexion", data={"csrf_token": token(eva), "email": "eva@in-darra.fr",
                                             "password": PASSWORD}).status_code == 302

    def shown(path: str = "/desk/apercu/events/lyon") -> str:
        answer = helene.get(path)
        return answer.get_data(as_text=True) if answer.status_code == 200 else ""

    edit(helene, [(LYON, {"title": "Premier titre"})])
    assert "Premier titre" in shown()
    edit(helene, [(LYON, {"title": "Second titre"})])  # another tab
    assert "Second titre" in shown() and "Premier titre" not in shown()
    edit(eva, [(NANTES, {"city": "Nantes Métropole"})])
    assert publish(eva) == 302
    assert shown() == "", "behind the file: the draft page says to carry it over"
    assert helene.post("/desk/reprendre", data={
        "csrf_token": token(helene, "/desk/brouillon")}).status_code == 302
    assert "Nantes Métropole" in shown("/desk/apercu/") and "Second titre" in shown()
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        'city = "Lyon"', 'city = "Lyon (Rhône)"'), encoding="utf-8")
    assert shown() == "", "a hand edit: the draft is behind the file"
    for path, body in files(preview_folder(schedule, EMAIL) / "regle").items():
        assert SECRET_LINK.encode() not in body, path


def test_desk_preview_pages_are_titled_as_a_preview(app: Flask) -> None:
    # An editor with the site and its preview open in two tabs: a screen reader, the tab bar
    # and the history named both alike (« Tour des Villes n° 3 : Lyon – … »).
    client = app.test_client()
    login(client)
    edit(client, EDITS["title"][1])
    for path in ("/", "/events/lyon", "/embed"):
        title = lxml.html.fromstring(client.get(path).data).findtext(".//title")
        shown = client.get("/desk/apercu" + path)
        assert lxml.html.fromstring(shown.data).findtext(".//title") == f"Aperçu : {title}"


def test_desk_preview_styles_and_scripts_do_not_read_the_draft_again(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # A page of the preview asks for the files of /static/ it links (style, icon, scripts),
    # the same in every folder of this release: each read and checked the whole draft again
    # first (a second each at 1,000 sessions), five for the agenda's page.
    client = app.test_client()
    login(client)
    edit(client, EDITS["title"][1])
    assert client.get("/desk/apercu/").status_code == 200
    asked: list[object] = []
    pending = preview.pending
    monkeypatch.setattr(preview, "pending", lambda *a, **k: asked.append(a) or pending(*a, **k))
    page = lxml.html.fromstring(client.get("/desk/apercu/").data)
    assert len(asked) == 1
    linked = [u for u in page.xpath("//link/@href | //script/@src") if "/apercu/static/" in u]
    assert len(linked) >= 3, linked
    for url in linked:
        shown = client.get(url)
        assert shown.status_code == 200, url
        assert shown.data == client.get(url.removeprefix("/desk/apercu")).data, url
    assert len(asked) == 1


def test_desk_publish_reads_the_version_served_no_more(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # « Publier » read the published text (the schedule served) into a schedule, then had
    # `publish` read it again: two parses of the whole file, a second and a half at 1,000
    # sessions, for the version the store holds in memory.
    client = app.test_client()
    login(client)
    edit(client, EDITS["title"][1])
    served = Path(app.config["AGENDA_DATA"]).read_bytes()
    parsed: list[bytes] = []
    parse = published.parse_bytes
    monkeypatch.setattr(published, "parse_bytes",
                        lambda raw, *rest: parsed.append(raw) or parse(raw, *rest))
    assert publish(client) == 302
    assert parsed.count(served) == 0
    assert "Lyon, la ville des deux fleuves" in client.get("/events/lyon").get_data(as_text=True)


@pytest.mark.parametrize(("kind", "now"), [("video-made-public", "public"),
                                           ("video-made-private", "privé")])
def test_desk_draft_says_which_way_the_video_link_went(app: Flask, kind: str, now: str) -> None:
    # The calendar line named the changed field by its box's label, « publier le lien de la
    # visioconférence »: said so too of a box unticked, the link then taken off the calendars.
    client = app.test_client()
    login(client)
    edit(client, EDITS[kind][1])
    page = choose(client, "annonce")
    (line,) = [" ".join(p.text_content().split()) for p in page.xpath(
        "//ul[@class='outgoing']/li/p") if "Calendriers" in p.text_content()]
    assert "publier" not in line and f"visioconférence rendu {now}" in line, line


def test_desk_publish_dates_its_version_when_the_page_was_checked(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # « Publier » checked what goes out at one moment, built the site (a minute at 10,000
    # sessions), then published at the clock's next reading: the 15-minute rule had made the
    # correction the page showed (no news) an announcement meanwhile, sent to the feeds.
    client = app.test_client()
    login(client)
    edit(client, [(NANTES, {"registration_url": "https://ceps.example/nantes"})])
    assert publish(client) == 302
    clock = [datetime.now(UTC) + timedelta(minutes=14)]
    store = app.extensions["agenda.store"]
    for name, owner in (("_now", views), ("clock", store), ("moment", store)):
        monkeypatch.setattr(owner, name, lambda: clock[0])
    edit(client, [(NANTES, {"registration_url": ""})])
    page = choose(client, "regle")
    (said,) = [" ".join(p.text_content().split()) for p in page.xpath(
        "//ul[@class='outgoing']/li/p") if "actualité" in p.text_content()]
    assert "pas de nouvelle entrée (correction" in said, said
    build = views._draft_site

    def slow(*args: object, **kwargs: object) -> object:
        built = build(*args, **kwargs)  # type: ignore[arg-type]
        clock[0] += timedelta(minutes=2)
        return built

    monkeypatch.setattr(views, "_draft_site", slow)
    feeds = news(client)
    assert publish(client) == 302
    assert [title for entry, title in news(client).items() if entry not in feeds] == []


@pytest.mark.parametrize("mode", ["regle", "correction", "annonce"])
def test_desk_draft_says_a_cancelled_session_moves_quietly(app: Flask, mode: str) -> None:
    # « Annoncer le changement » chosen, a cancelled session moved: the page said « pas de
    # nouvelle entrée » and no more, as if the choice were lost. (A correction says it is one:
    # its move will not be « Reporté » once the session is reinstated.)
    client = app.test_client()
    login(client)
    before, draft = EDITS["cancelled-moved"]
    edit(client, before)
    assert publish(client) == 302
    edit(client, draft)
    page = choose(client, mode)
    (said,) = [" ".join(p.text_content().split()) for p in page.xpath(
        "//ul[@class='outgoing']/li/p") if "actualité" in p.text_content()]
    if mode == "annonce":
        assert "annulée" in said and "rétabli" in said, said
    else:  # published within 15 minutes of the cancellation
        assert "(correction" in said, said
    feeds = news(client)
    assert publish(client, mode) == 302
    assert [entry for entry in news(client) if entry not in feeds] == []
