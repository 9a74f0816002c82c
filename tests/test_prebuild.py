"""Bodies built once per version, before it is served; unchanged sessions' bodies carried over."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from flask import Flask

from agenda import create_app
from agenda.web.prebuild import paths_to_build
from tests.conftest import SEVERAL


def built(app: Flask) -> int:
    """How many bodies `app` has built so far."""
    return app.extensions["agenda.built"].count


def fresh_client(folder: Path, tmp_path: Path):  # noqa: ANN201 - a FlaskClient
    """A client of an app that builds everything itself, in a store of its own."""
    return create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": False,
                       "AGENDA_BODIES": str(tmp_path / "fresh.sqlite")}).test_client()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    return path


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def test_every_body_is_built_before_the_first_request(folder: Path, tmp_path: Path) -> None:
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    version = app.extensions["agenda.store"].served()
    paths = [p for p in paths_to_build(version) if not p.endswith(".png")]
    assert built(app) >= len(paths)
    before = built(app)
    client = app.test_client()
    fresh = fresh_client(folder, tmp_path)
    for path in paths:
        for coding in ("identity", "gzip", "br"):
            answer = client.get(path, headers={"Accept-Encoding": coding})
            assert answer.status_code == 200, path
            theirs = fresh.get(path, headers={"Accept-Encoding": coding})
            assert answer.data == theirs.data, path
            assert answer.headers["ETag"] == theirs.headers["ETag"], path
            assert answer.headers.get("Last-Modified") == theirs.headers.get("Last-Modified")
    # Nothing was built by those requests: each body is built once per version.
    assert built(app) == before


def test_cards_are_drawn_on_first_request_then_kept(folder: Path) -> None:
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    client = app.test_client()
    before = built(app)
    card = client.get("/events/automne/card.png")
    assert card.status_code == 200 and card.data.startswith(b"\x89PNG")
    assert built(app) == before + 1
    assert client.get("/events/automne/card.png").data == card.data
    # A restart (or another worker) finds it in the store: drawn once in all.
    again = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    assert again.test_client().get("/events/automne/card.png").data == card.data
    assert built(again) == 0


def test_a_new_version_reuses_the_bodies_of_unchanged_sessions(
    folder: Path, tmp_path: Path
) -> None:
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    client = app.test_client()
    automne = client.get("/events/automne").data
    printemps = client.get("/events/printemps").data
    count = built(app)
    edit(folder, "Saint-Étienne", "Roanne")  # the session "printemps"
    assert client.get("/healthz").status_code == 200
    store = app.extensions["agenda.store"]
    assert store.served().number == 2
    rebuilt = built(app) - count
    # The edited session's page was built before the version was served, and
    # the documents of the whole schedule; not the pages of the others.
    assert 0 < rebuilt < count
    count = built(app)
    assert b"Roanne" in client.get("/events/printemps").data != printemps
    assert client.get("/events/automne").data == automne
    assert built(app) == count
    fresh = fresh_client(folder, tmp_path)
    for path in paths_to_build(store.served()):
        assert client.get(path).data == fresh.get(path).data, path


def test_the_previous_version_serves_while_the_next_is_built(folder: Path) -> None:
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    client = app.test_client()
    store = app.extensions["agenda.store"]
    build = store.prepare
    seen: list[str] = []

    def watched(old, new) -> None:  # noqa: ANN001 - the store's hook
        seen.append(client.get("/healthz").get_data(as_text=True).split(",")[0])
        build(old, new)

    store.prepare = watched
    edit(folder, "Saint-Étienne", "Roanne")
    after = client.get("/healthz").get_data(as_text=True).split(",")[0]
    assert seen and seen[0].startswith("ok: serving version 1 ")
    assert after.startswith("ok: serving version 2 ")


def test_two_edits_in_a_row_still_reuse_bodies_nobody_asked_for(folder: Path) -> None:
    # Nobody asks for automne's page between the edits: version 3 still has it, unbuilt.
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    client = app.test_client()
    store = app.extensions["agenda.store"]
    edit(folder, "Saint-Étienne", "Roanne")
    assert client.get("/healthz").status_code == 200 and store.served().number == 2
    edit(folder, "Roanne", "Firminy")
    assert client.get("/healthz").status_code == 200 and store.served().number == 3
    count = built(app)
    assert client.get("/events/automne").status_code == 200
    assert built(app) == count
