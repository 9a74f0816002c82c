"""The body store: built bodies shared by processes and restarts, bounded memory, a cache only.

Checked from the outside: answers (bytes, ETags) against an app that builds
everything itself in a store of its own, and the count of bodies each app built.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from agenda import create_app
from agenda.bodies import BodyStore
from agenda.digest import digest
from agenda.encoding import encode
from agenda.loader import load_schedule
from agenda.web.prebuild import paths_to_build
from tests.conftest import SEVERAL, SHIPPED

CODINGS = ("identity", "gzip", "br")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "sessions.toml"
    path.parent.mkdir()
    shutil.copyfile(SEVERAL, path)
    return path


def app_on(folder: Path, store: Path | None, **config: object) -> Flask:
    settings = {"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True, **config}
    if store is not None:
        settings["AGENDA_BODIES"] = str(store)
    return create_app(settings)


def built(app: Flask) -> int:
    return app.extensions["agenda.built"].count


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def same_answers(ours: FlaskClient, theirs: FlaskClient, paths: list[str]) -> None:
    for path in paths:
        for coding in CODINGS:
            mine = ours.get(path, headers={"Accept-Encoding": coding})
            other = theirs.get(path, headers={"Accept-Encoding": coding})
            assert mine.status_code == other.status_code == 200, path
            assert mine.data == other.data, (path, coding)
            assert mine.headers["ETag"] == other.headers["ETag"], (path, coding)


def public_paths(app: Flask) -> list[str]:
    return [p for p in paths_to_build(app.extensions["agenda.store"].served())
            if not p.endswith(".png")]


def test_a_second_worker_and_a_restart_build_nothing(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "bodies.sqlite"
    first = app_on(folder, store)
    assert built(first) > 0
    second = app_on(folder, store)  # another worker, or the same after a restart
    assert built(second) == 0
    alone = app_on(folder, tmp_path / "alone.sqlite", AGENDA_PREBUILD=False)
    same_answers(second.test_client(), alone.test_client(), public_paths(second))
    assert built(second) == 0


def test_the_default_store_is_beside_the_published_version(folder: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENDA_BODIES")
    app = app_on(folder, None)
    assert app.extensions["agenda.bodies"].path.parent == folder.parent
    assert app_on(folder, None).extensions["agenda.built"].count == 0


def test_a_folder_that_cannot_hold_the_store_falls_back_to_a_private_one(
    folder: Path, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    app = app_on(folder, blocked / "bodies.sqlite")
    assert app.extensions["agenda.bodies"].path.parent != blocked
    assert app.test_client().get("/calendar.ics").status_code == 200


def test_a_damaged_store_is_started_afresh(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "bodies.sqlite"
    store.write_bytes(b"this is no SQLite file at all, only bytes" * 100)
    app = app_on(folder, store)
    alone = app_on(folder, tmp_path / "alone.sqlite", AGENDA_PREBUILD=False)
    same_answers(app.test_client(), alone.test_client(), ["/", "/calendar.ics"])
    assert sqlite3.connect(store).execute("SELECT count(*) FROM answers").fetchone()[0] > 0


def test_an_answer_lost_from_the_store_is_built_again(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "bodies.sqlite"
    app = app_on(folder, store, AGENDA_MEMORY=0)  # nothing kept in memory: every answer read
    client = app.test_client()
    before = client.get("/events/automne").data
    with sqlite3.connect(store) as db:  # what a sweep by another process could do
        db.execute("DELETE FROM bodies")
    count = built(app)
    assert client.get("/events/automne").data == before
    assert built(app) == count + 1


def test_memory_stays_within_its_budget(folder: Path, tmp_path: Path) -> None:
    app = app_on(folder, tmp_path / "bodies.sqlite", AGENDA_MEMORY=0.02)  # about 20 kB
    client = app.test_client()
    alone = app_on(folder, tmp_path / "alone.sqlite", AGENDA_PREBUILD=False)
    paths = public_paths(app)
    same_answers(client, alone.test_client(), paths)
    hot = app.extensions["agenda.hot"]
    assert 0 < hot.size <= hot.budget


def test_edits_do_not_grow_the_store_without_end(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "bodies.sqlite"
    app = app_on(folder, store)
    client = app.test_client()

    def answers() -> int:
        return sqlite3.connect(store).execute("SELECT count(*) FROM answers").fetchone()[0]

    after_one = None
    for round_ in range(6):
        edit(folder, "Saint-Étienne" if round_ % 2 == 0 else "Roanne",
             "Roanne" if round_ % 2 == 0 else "Saint-Étienne")
        assert client.get("/healthz").status_code == 200
        if round_ == 1:
            after_one = answers()
    # Only this version's and the previous one's answers stay (and sessions' bodies).
    assert answers() <= after_one
    # A restart sweeps what the version in service does not use.
    again = app_on(folder, store)
    assert built(again) == 0
    live = answers()
    with sqlite3.connect(store) as db:
        orphans = db.execute(
            "SELECT count(*) FROM bodies WHERE plain NOT IN (SELECT etag FROM answers)"
        ).fetchone()[0]
    assert orphans == 0 and live > 0


def test_separate_processes_share_one_build(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "bodies.sqlite"
    script = (
        "import os, sys\n"
        "os.environ.update(AGENDA_WATCH='0', AGENDA_SETTLE='0')\n"
        "from agenda import create_app\n"
        "app = create_app({'AGENDA_DATA': sys.argv[1], 'AGENDA_BODIES': sys.argv[2],"
        " 'AGENDA_PREBUILD': True})\n"
        "print(app.extensions['agenda.built'].count)\n"
    )
    counts = []
    for seed in ("1", "2"):  # string hashing differs between the two processes
        out = subprocess.run(
            [sys.executable, "-c", script, str(folder), str(store)], check=True,
            capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED=seed),
        )
        counts.append(int(out.stdout.split()[-1]))
    assert counts[0] > 0 and counts[1] == 0


# --- digests: what names a body ----------------------------------------------------


def test_digests_agree_between_processes() -> None:
    script = (
        "from agenda.digest import digest\n"
        "from agenda.loader import load_schedule\n"
        f"print(digest(load_schedule({str(SHIPPED)!r})))\n"
    )
    found = {
        subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                       text=True, env=dict(os.environ, PYTHONHASHSEED=seed)).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert found == {digest(load_schedule(SHIPPED))}


SESSION_FIELDS = ("title", "city", "description", "registration_url", "video_url", "replay_url")


@given(field=st.sampled_from(SESSION_FIELDS), text=st.text(min_size=1, max_size=20))
def test_any_change_to_a_session_changes_its_digest(field: str, text: str) -> None:
    schedule = load_schedule(SEVERAL)
    session = schedule.sessions[0]
    value = text if "url" not in field else f"https://example.org/{text.encode().hex()}"
    changed = session.__class__(**{
        **{f: getattr(session, f) for f in session.__dataclass_fields__}, field: value})
    assert (digest(changed) == digest(session)) == (changed == session)


def test_digest_refuses_what_it_cannot_name() -> None:
    with pytest.raises(TypeError):
        digest(object())


def test_store_api_survives_a_closed_connection(tmp_path: Path) -> None:
    store = BodyStore(tmp_path / "s.sqlite")
    assert store.put("n", None, encode(b"body", "text/plain"), {"type": "text/plain"})
    assert store.get("n").bodies == {"identity": b"body"}
    store._db().close()  # noqa: SLF001 - as if the file went away under us
    assert store.get("n") is None and not store.has("n")


def test_large_bodies_are_sent_from_the_store_in_chunks(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lower the thresholds so that the fixture's documents count as large.
    import agenda.bodies
    import agenda.encoding
    import agenda.web.respond

    for module in (agenda.bodies, agenda.web.respond):
        monkeypatch.setattr(module, "LARGE", 1000)
    monkeypatch.setattr(agenda.bodies, "CHUNK", 700)
    monkeypatch.setattr(agenda.encoding, "SPILL", 2000)  # built through a temporary file
    app = app_on(folder, tmp_path / "bodies.sqlite")
    client = app.test_client()
    alone = app_on(folder, tmp_path / "alone.sqlite", AGENDA_PREBUILD=False,
                   AGENDA_MEMORY=1000)
    theirs = alone.test_client()
    for path in ("/calendar.ics", "/events.json", "/"):
        for coding in CODINGS:
            mine = client.get(path, headers={"Accept-Encoding": coding})
            other = theirs.get(path, headers={"Accept-Encoding": coding})
            assert mine.data == other.data and len(mine.data) > 0, (path, coding)
            assert mine.headers["Content-Length"] == str(len(mine.data))
            assert mine.headers["ETag"] == other.headers["ETag"]
            assert client.get(path, headers={"Accept-Encoding": coding, "If-None-Match":
                              mine.headers["ETag"]}).status_code == 304
        head = client.head(path)
        assert head.data == b"" and head.headers["Content-Length"] == str(
            len(client.get(path).data))
        ranged = {"Range": "bytes=10-19", "If-Match": other.headers["ETag"]}
        part, reference = client.get(path, headers=ranged), theirs.get(path, headers=ranged)
        assert (part.status_code, part.data) == (reference.status_code, reference.data)
    assert len(client.get("/events.json").data) > 2000


def test_an_edit_serializes_again_only_the_events_it_changed(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agenda.render import ical

    made: list[str] = []
    real = ical.build_event
    monkeypatch.setattr(ical, "build_event", lambda info, session: (
        made.append(session.id), real(info, session))[1])
    ical._event_bytes.cache_clear()  # what earlier tests left in this process's memory  # noqa: SLF001
    app = app_on(folder, tmp_path / "bodies.sqlite")
    assert made, "the first build serializes every event"
    made.clear()
    ical._event_bytes.cache_clear()  # as in another worker: only the store remembers  # noqa: SLF001
    edit(folder, "Saint-Étienne", "Roanne")  # the session "printemps"
    assert app.test_client().get("/healthz").status_code == 200
    assert set(made) == {"printemps"}


def test_compressed_forms_are_those_of_the_release_serving(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One plain body (one ETag), compressed by two releases with other settings:
    # each serves the bytes its own compressor makes, never the other's.
    import agenda.bodies
    import agenda.encoding

    store = tmp_path / "bodies.sqlite"
    app_on(folder, store)
    monkeypatch.setattr(agenda.bodies, "RELEASE", "@another-release")
    monkeypatch.setattr(agenda.encoding, "BROTLI_WINDOW_BITS", 18)
    client = app_on(folder, store).test_client()
    plain = client.get("/calendar.ics").data
    packed = client.get("/calendar.ics", headers={"Accept-Encoding": "br"}).data
    assert packed == agenda.encoding.brotli_bytes(plain)
