"""The store: which version a process serves, and when it publishes one.

Published versions are files; these tests run several stores (and processes)
on one folder and check what each serves, what is written, and what is not.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner

from agenda import create_app, published
from agenda.cli import main
from agenda.history import Entry
from agenda.model import Change, Revision
from agenda.published import (
    first_version,
    from_json,
    next_version,
    published_path,
    write_version,
)
from agenda.store import VersionStore
from tests.conftest import MINIMAL, SEVERAL, SHIPPED, to_json


def copy_folder(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "sessions.toml"
    shutil.copyfile(source, target)
    return target


def touch_later(path: Path, seconds: int = 1) -> None:
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 1_000_000_000))


@pytest.mark.parametrize("schedule", [SHIPPED, SEVERAL], ids=["shipped", "several"])
def test_committed_published_version_is_the_files_first_version(schedule: Path) -> None:
    # The repository carries published versions beside its schedules; they must
    # be what a first publication of the file alone gives, byte for byte.
    raw = schedule.read_bytes()
    expected = to_json(first_version(raw, str(schedule)), schedule.name)
    assert published_path(schedule).read_bytes() == expected


# Lines that JSON escapes or that are not ASCII, a rhythm (planned dates) and a
# session to withdraw; CRLF line ends are kept as they are.
ODD = MINIMAL + """rhythm = { rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=4", first = 2021-03-17, \
start = 08:45:00, end = 10:15:00 }
# « guillemets », "quotes", \\ backslash,\ttab, 🎉 and \u2028 are kept in the lines\r
[[sessions]]
id = "lyon"
series = "s"
number = 2
city = 'Lyon \\ « d’été » "x"'
start = 2021-04-21T08:45:00
end = 2021-04-21T10:15:00
announced = 2021-04-01
description = '''
Deux lignes,\r
avec 🎉.'''

[[sessions]]
id = "nantes"
series = "s"
city = "Nantes"
"""


def test_the_published_file_is_json_dumps_of_its_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file is written a piece at a time; its bytes must stay those of
    # json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n",
    # whatever the schedule's lines hold and wherever the blocks of lines end.
    first, moved, withdrawn, empty = _odd_versions()
    assert withdrawn.history.sessions["nantes"].withdrawn is not None
    assert first.history.planned and not empty.history.planned
    assert {c for r in moved.history.sessions["lyon"].revisions for c in r.news} == {
        Change.CANCELLED, Change.RESCHEDULED
    }
    for version in _odd_versions():
        data = to_json(version, "sessions « 1 ».toml")
        document = _document(version, "sessions « 1 ».toml")
        dumped = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
        assert data == dumped.encode("utf-8")
        assert document["schedule"]["lines"] == version.raw.decode("utf-8").split("\n")
        assert from_json(data, "here") == (version.raw, version.history)
        target = tmp_path / "sessions.published.json"
        write_version(version, target, "sessions « 1 ».toml")
        assert target.read_bytes() == data


def _document(version: published.Version, name: str) -> dict:
    """What the file holds, as the format has it: the file must be json.dumps of this."""
    def time(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    def revision(r: Revision) -> dict:
        was = {"start": time(r.previous_start), "end": time(r.previous_end),
               "status": r.previous_status.value if r.previous_status else None}
        return {"at": time(r.at), "sequence": r.sequence, "fields": list(r.fields)} | (
            {"news": [n.value for n in r.news]} if r.news else {}
        ) | ({"was": {k: v for k, v in was.items() if v}} if any(was.values()) else {})

    def entry(e: Entry) -> dict:
        return {"uid": e.uid, "sequence": e.sequence, "fingerprint": e.fingerprint,
                "in_calendar": e.in_calendar, "revisions": [revision(r) for r in e.revisions]
                } | ({"withdrawn": time(e.withdrawn)} if e.withdrawn else {}) | (
                    {"due": time(e.due)} if e.due else {})

    history = version.history
    return {
        "format": "agenda-published/1", "version": history.version,
        "published": time(history.published),
        "schedule": {"file": name, "sha256": version.digest,
                     "lines": version.raw.decode("utf-8").split("\n")},
        "sessions": {k: entry(v) for k, v in history.sessions.items()},
        "planned": {k: entry(v) for k, v in history.planned.items()},
    } | ({"shared": time(history.shared)} if history.shared else {}) | (
        {"listed": {k: time(v) for k, v in history.listed.items()}} if history.listed else {}
    ) | ({"gone": {
        k: v for k, v in (("cities", list(history.gone_cities)),
                          ("series", dict(history.gone_series))) if v}}
        if history.gone_cities or history.gone_series else {})


def _odd_versions() -> list[published.Version]:
    first = first_version(ODD.encode(), "sessions.toml")
    moved_and_called_off = ODD.replace("2021-04-21", "2021-04-28").replace(
        'city = \'Lyon', 'status = "cancelled"\ncity = \'Lyon'
    )
    moved, _ = next_version(
        first, moved_and_called_off.encode(), "sessions.toml",
        datetime(2021, 4, 10, 7, tzinfo=UTC),
    )
    without = moved_and_called_off[:moved_and_called_off.index('[[sessions]]\nid = "nantes"')]
    withdrawn, _ = next_version(
        moved, without.encode(), "sessions.toml", datetime(2021, 4, 11, tzinfo=UTC), ["nantes"]
    )
    empty, _ = next_version(None, MINIMAL.rstrip("\n").encode(), "sessions.toml",
                            datetime(2021, 4, 11, tzinfo=UTC))
    return [first, moved, withdrawn, empty]


def _edited(document: dict, **changes: object) -> bytes:
    """The published document with keys (a__b for document["a"]["b"]) set or, for None, removed."""
    document = json.loads(json.dumps(document))
    for path, value in changes.items():
        *parents, key = path.split("__")
        table = document
        for parent in parents:
            table = table[parent]
        if value is None:
            del table[key]
        else:
            table[key] = value
    return json.dumps(document).encode("utf-8")


def test_a_broken_published_file_is_refused_with_what_is_wrong() -> None:
    # The file is read without keeping its whole text or document; what is wrong
    # with it is still told, in French (JSON's and Python's own reasons are English).
    good = json.loads(SEVERAL.with_name("several_sessions.published.json").read_bytes())
    many = ["ligne"] * 5000
    damaged = "pas du JSON tel qu’agenda l’écrit"  # JSON's and Python's own reasons are English
    key = next(iter(good["sessions"]))
    cases = {
        b"\xff{}": damaged,
        b"{": damaged,
        b"[]": damaged,
        _edited(good, schedule=None): damaged,
        _edited(good, schedule__lines=[*many, 3]): damaged,
        _edited(good, schedule__lines=[*many, "ab\ud800"]): damaged,
        _edited(good, format="agenda-published/2"): "format 'agenda-published/2' au lieu de "
            "'agenda-published/1' (écrit par une autre version d’agenda ?)",
        _edited(good, published="2021-05-14T00:00:00"):
            "heure sans décalage UTC : 2021-05-14T00:00:00",
        _edited(good, schedule__lines="abc"):
            "le texte du calendrier ne correspond pas à son sha256 (modifié à la main ?)",
        _edited(good, sessions=[1]): damaged,
        _edited(good, **{f"sessions__{key}__uid": None}): damaged,
        _edited(good, planned=[]): damaged,
        _edited(good, **{"sessions__a/b": good["sessions"][key]}): "'a/b' n’est pas un identifiant",
        _edited(good, gone={"series": {"../../x": "X"}}): "'../../x' n’est pas un identifiant",
        # Too long to name a file (the loader's limit): the build would fail on every start.
        _edited(good, **{f"sessions__{'a' * 101}": good["sessions"][key]}):
            f"'{'a' * 101}' n’est pas un identifiant",
        _edited(good, gone={"cities": ["x" * 101]}): f"'{'x' * 101}' n’est pas un identifiant",
    }
    for data, message in cases.items():
        with pytest.raises(published.PublishedError) as error:
            from_json(data, "here")
        assert str(error.value).startswith(f"here : pas une version publiée qu’agenda sache "
                                           f"lire ({message}) ; remettez sa dernière copie ")
    raw, history = from_json(_edited(good), "here")
    assert raw == SEVERAL.read_bytes() and history.sessions[key].uid


def test_ids_of_a_hand_edited_published_file_never_name_a_file_outside_the_folders(
    tmp_path: Path,
) -> None:
    """The builder makes paths of the history's ids (the feeds of a series gone): a published
    file edited by hand is refused, with why, before anything is written anywhere."""
    data = tmp_path / "data"
    data.mkdir()
    path = copy_folder(SEVERAL, data)
    document = json.loads(to_json(first_version(path.read_bytes(), str(path)), path.name))
    document["gone"] = {"series": {"../../../../outside": "Dehors"}}  # into tmp_path
    published_path(path).write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(tmp_path / "out")], env={
        "AGENDA_DATA": str(path)})
    assert result.exit_code == 1, result.output
    assert "'../../../../outside' n’est pas un identifiant" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert not list(tmp_path.rglob("*outside*"))


def test_the_version_known_is_reused_when_the_file_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_folder(SEVERAL, tmp_path)
    target = published_path(path)
    known = first_version(path.read_bytes(), str(path))
    write_version(known, target, path.name)
    assert published.read_version(target, str(path), known) is known
    # Another file name in it: still the same version.
    write_version(known, target, "autre.toml")
    assert published.read_version(target, str(path), known) is known
    # Another version: parsed, and read as it is.
    later, _ = next_version(known, path.read_bytes() + b"# fin\n", str(path),
                            datetime(2030, 1, 1, tzinfo=UTC))
    write_version(later, target, path.name)
    found = published.read_version(target, str(path), known)
    assert found is not None and found is not known and found.number == 2
    assert published.read_version(tmp_path / "nothing.json", str(path), known) is None



def test_a_version_another_process_published_reuses_the_sessions_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker reading the version another process published (a desk edit at 10,000 sessions:
    1.8 s, then 0.4 s) takes the sessions whose text it read already from the version it serves,
    and makes the very version a process reading the file alone makes."""
    path = copy_folder(SEVERAL, tmp_path)
    target = published_path(path)
    served = published.publish(path, target, datetime(2030, 1, 1, tzinfo=UTC)).version
    served = published.read_version(target, str(path))  # as a worker read it at its start
    assert served is not None
    edited = path.read_bytes().replace("l’on avance".encode(), "l’on recule".encode(), 1)
    later, _ = next_version(served, edited, str(path), datetime(2030, 1, 2, tzinfo=UTC))
    write_version(later, target, path.name)  # by another process
    read, parse = [], published.parse_bytes
    monkeypatch.setattr(published, "parse_bytes", lambda raw, source, known=None: (
        read.append(len(known or {})) or parse(raw, source, known or {})))
    found = published.read_version(target, str(path), served)
    alone = published.read_version(target, str(path))
    assert found is not None and alone is not None and read == [len(served.schedule.parsed), 0]
    assert repr(found.schedule) == repr(alone.schedule) and found.history == alone.history
    kept = [s for s in found.schedule.sessions if s in served.schedule.sessions]
    assert kept and all(any(s is t for t in served.schedule.sessions) for s in kept)
    assert "l’on recule" in found.schedule.session("automne").title

def test_a_version_published_is_not_decoded_again_while_its_very_file_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next publication starts from the version it wrote (0.2 s of JSON at 10,000 sessions
    not decoded again), but only while the file is those very bytes: another process's, read."""
    path = copy_folder(SEVERAL, tmp_path)
    target = published_path(path)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    mine = published.publish(path, target, now).version
    decoded = published.from_json
    monkeypatch.setattr(published, "from_json", lambda *_: pytest.fail("decoded again"))
    assert published.read_version(target, str(path), mine) is mine
    monkeypatch.setattr(published, "from_json", decoded)
    path.write_bytes(path.read_bytes() + b"# fin\n")  # published by another process
    theirs = published.publish(path, target, now, known=first_version(
        path.read_bytes(), str(path))).version
    found = published.read_version(target, str(path), mine)
    assert found is not mine and found is not None and found.number == theirs.number == 2


def test_a_process_starts_from_the_published_version_not_the_file(tmp_path: Path) -> None:
    path = copy_folder(SEVERAL, tmp_path)
    before = VersionStore(path, watch=False, settle=0).current()
    path.write_text("[calendar]\nname = 'cassé'\n", encoding="utf-8")  # invalid
    restarted = VersionStore(path, watch=False, settle=0)
    assert restarted.current().digest == before.digest
    assert restarted.pending is not None and restarted.pending.state == "invalid"
    assert "champ base_url : est obligatoire" in "\n".join(restarted.pending.problems)


def test_an_invalid_file_with_nothing_published_cannot_start(tmp_path: Path) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text("[calendar]\nname = 'cassé'\n", encoding="utf-8")
    with pytest.raises(Exception, match="base_url"):
        VersionStore(path, watch=False, settle=0)


def test_an_edit_is_published_only_once_it_has_settled(tmp_path: Path) -> None:
    path = copy_folder(SEVERAL, tmp_path)
    store = VersionStore(path, watch=False, settle=0.3)
    first = store.current()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Saint-Étienne", "Roanne"), encoding="utf-8")
    touch_later(path)
    assert store.current() is first
    assert store.pending is not None and store.pending.state == "waiting"
    time.sleep(0.35)
    assert store.current().number == first.number + 1
    assert store.pending is None


def test_a_file_put_back_while_it_settles_is_no_longer_pending(tmp_path: Path) -> None:
    # An edit, then the file it replaced put back before it settled (`mv sessions.toml~
    # sessions.toml`: its very inode, size and date): nothing waits any more.
    path = copy_folder(SEVERAL, tmp_path)
    store = VersionStore(path, watch=False, settle=60)
    first = store.current()
    kept = path.with_name("sessions.toml~")
    os.link(path, kept)
    edited = path.with_name("edited.toml")
    edited.write_text(path.read_text(encoding="utf-8").replace("Saint-Étienne", "Roanne"),
                      encoding="utf-8")
    os.replace(edited, path)
    assert store.current() is first
    assert store.pending is not None and store.pending.state == "waiting"
    os.replace(kept, path)
    assert store.current() is first
    assert store.pending is None


def test_a_save_in_progress_is_never_published(tmp_path: Path) -> None:
    # Truncate, then write in pieces, as editors saving in place do; the store
    # looks after every piece. It publishes the whole file, once, at the end.
    path = copy_folder(SEVERAL, tmp_path)
    store = VersionStore(path, watch=False, settle=0.2)
    first = store.current()
    new = path.read_bytes().replace("Saint-Étienne".encode(), b"Roanne")
    with open(path, "r+b") as handle:
        handle.truncate(0)
        for start in range(0, len(new), 700):
            handle.write(new[start:start + 700])
            handle.flush()
            os.utime(path, ns=(time.time_ns(), time.time_ns() + start))
            assert store.current() is first
    time.sleep(0.25)
    final = store.current()
    assert final.number == first.number + 1
    assert final.raw == new


def test_a_cut_copy_of_the_published_file_is_never_published(tmp_path: Path) -> None:
    path = copy_folder(SHIPPED, tmp_path)
    store = VersionStore(path, watch=False, settle=0)
    first = store.current()
    raw = path.read_bytes()
    for end in range(0, len(raw), 97):
        path.write_bytes(raw[:end])
        touch_later(path, end + 1)
        assert store.current() is first
        assert store.pending is not None


def _publish_in_process(path: str, barrier, results) -> None:  # noqa: ANN001 - multiprocessing
    store = VersionStore(path, watch=False, settle=0)
    barrier.wait()
    store.poll()
    results.put((store.current().number, store.current().digest))


def test_four_processes_seeing_one_edit_make_one_revision(tmp_path: Path) -> None:
    path = copy_folder(SEVERAL, tmp_path)
    VersionStore(path, watch=False, settle=0)  # version 1 on disk
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    results = context.Queue()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Saint-Étienne", "Roanne"), encoding="utf-8")
    touch_later(path)
    workers = [
        context.Process(target=_publish_in_process, args=(str(path), barrier, results))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    seen = {results.get(timeout=5) for _ in workers}
    assert len(seen) == 1
    ((number, _),) = seen
    assert number == 2
    _, history = from_json(published_path(path).read_bytes(), "published")
    assert history.version == 2
    (revision,) = history.sessions["printemps"].revisions[1:]
    assert revision.fields == ("city",)


def test_a_folder_that_cannot_be_written_keeps_serving_and_says_so(tmp_path: Path) -> None:
    path = copy_folder(SEVERAL, tmp_path)
    nowhere = tmp_path / "missing-folder" / "published.json"
    app = create_app({"AGENDA_DATA": str(path), "AGENDA_PUBLISHED": str(nowhere)})
    client = app.test_client()
    before = client.get("/calendar.ics")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Saint-Étienne", "Roanne"), encoding="utf-8")
    touch_later(path)
    after = client.get("/calendar.ics")
    assert after.data == before.data
    health = client.get("/healthz")
    assert health.status_code == 200
    assert "impossible d'écrire la version publiée" in health.get_data(as_text=True)
    assert client.get("/healthz?strict=1").status_code == 503


def test_two_services_from_the_file_alone_serve_the_same_bytes(tmp_path: Path) -> None:
    # Containers without a shared volume: each derives the first version itself.
    answers = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        path = copy_folder(SEVERAL, folder)
        client = create_app({"AGENDA_DATA": str(path)}).test_client()
        answers.append([client.get(p) for p in ("/calendar.ics", "/rss.xml", "/events.json")])
        time.sleep(1.1)  # a clock that moved must change nothing
    for first, second in zip(*answers, strict=True):
        assert first.data == second.data
        assert first.headers["ETag"] == second.headers["ETag"]


def test_healthz_reports_an_invalid_edit_with_file_session_and_field(tmp_path: Path) -> None:
    path = copy_folder(SEVERAL, tmp_path)
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("start = 2021-03-28", "strat = 2021-03-28"), encoding="utf-8")
    touch_later(path)
    body = client.get("/healthz").get_data(as_text=True)
    assert body.splitlines()[0].startswith("ok: serving version 1 (")
    assert "pending since " in body
    assert f"{path}, séance « printemps », champ strat : clé inconnue" in body
    calendar = icalendar.Calendar.from_ical(client.get("/calendar.ics").data)
    assert len(calendar.walk("VEVENT")) == 6


@pytest.mark.parametrize("typed", ["https://meet.example.org:99999/private-room-SECRET",
                                   "meet.example.org/private-room-SECRET",
                                   "https://meet.example.org/private room-SECRET"])
def test_a_mistyped_private_video_link_is_never_quoted_on_healthz(
    tmp_path: Path, typed: str
) -> None:
    # /healthz is public (nginx passes it on); the problem names the file, session and
    # field, not the link, which is only for registered people even when mistyped.
    path = copy_folder(SEVERAL, tmp_path)
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("https://meet.example.org/private-room-SECRET", typed),
                    encoding="utf-8")
    touch_later(path)
    body = client.get("/healthz").get_data(as_text=True)
    assert f"{path}, séance « automne », champ video_url : n'est pas une adresse" in body
    assert "SECRET" not in body


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_the_published_file_is_no_more_readable_than_the_schedule(
    tmp_path: Path, mode: int
) -> None:
    # It holds the schedule's text, private video links included: a schedule kept from
    # other local users (0600, 0640) must not be copied beside it for all of them to read.
    schedule = copy_folder(SEVERAL, tmp_path)
    schedule.chmod(mode)
    result = CliRunner().invoke(main, ["publish", "--new-history", str(schedule)])
    assert result.exit_code == 0, result.output
    assert "private-room" in published_path(schedule).read_text(encoding="utf-8")
    assert published_path(schedule).stat().st_mode & 0o777 == mode
