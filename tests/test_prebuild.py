"""Bodies built once per version, before it is served; unchanged sessions' bodies carried over."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from flask import Flask

from agenda import create_app
from agenda.web.prebuild import paths_to_build
from agenda.web.respond import Prepared
from tests.conftest import SEVERAL


def prepared(app: Flask) -> dict:
    version = app.extensions["agenda.store"].served()
    return {k: v for k, v in version.cache.items() if isinstance(v, Prepared)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    return path


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def test_every_body_is_built_before_the_first_request(folder: Path) -> None:
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    built = prepared(app)
    version = app.extensions["agenda.store"].served()
    assert len(built) >= len(paths_to_build(version))
    client = app.test_client()
    fresh = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": False}).test_client()
    for path in paths_to_build(version):
        for coding in ("identity", "gzip", "br"):
            answer = client.get(path, headers={"Accept-Encoding": coding})
            assert answer.status_code == 200, path
            assert answer.data == fresh.get(path, headers={"Accept-Encoding": coding}).data
            assert answer.headers["ETag"] == fresh.get(
                path, headers={"Accept-Encoding": coding}).headers["ETag"]
    # Nothing was built by those requests: each body is built once per version.
    assert prepared(app).keys() == built.keys()
    assert all(prepared(app)[k] is built[k] for k in built)


def test_a_new_version_reuses_the_bodies_of_unchanged_sessions(folder: Path) -> None:
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    client = app.test_client()
    before = prepared(app)
    edit(folder, "Saint-Étienne", "Roanne")  # the session "printemps"
    assert client.get("/events/printemps").status_code == 200
    store = app.extensions["agenda.store"]
    assert store.served().number == 2
    # The edited session's page was built before the version was served...
    assert any(k[0] == "event.html" and k[1].value[2].id == "printemps"
               for k in prepared(app) if isinstance(k, tuple) and len(k) > 1
               and hasattr(k[1], "value"))
    # ...the others are taken from the last version when first asked for.
    assert client.get("/events/automne").status_code == 200
    after = prepared(app)

    def page_of(bodies: dict, session_id: str) -> Prepared:
        (found,) = [v for k, v in bodies.items()
                    if k[0] == "event.html" and k[1].value[2].id == session_id]
        return found

    assert page_of(after, "automne") is page_of(before, "automne")  # carried over
    assert page_of(after, "printemps") is not page_of(before, "printemps")  # rebuilt
    assert b"Roanne" in page_of(after, "printemps").body
    fresh = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": False}).test_client()
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
    # Version 2 takes automne's page from version 1 only when asked; nobody asks
    # before version 3 is published: version 3 must still have it, unbuilt.
    app = create_app({"AGENDA_DATA": str(folder), "AGENDA_PREBUILD": True})
    client = app.test_client()
    store = app.extensions["agenda.store"]

    def automne_page(bodies: dict) -> Prepared:
        (found,) = [v for k, v in bodies.items()
                    if isinstance(k, tuple) and len(k) > 1 and hasattr(k[1], "value")
                    and k[0] == "event.html" and k[1].value[2].id == "automne"]
        return found

    first = automne_page(prepared(app))
    edit(folder, "Saint-Étienne", "Roanne")
    assert client.get("/healthz").status_code == 200 and store.served().number == 2
    edit(folder, "Roanne", "Firminy")
    assert client.get("/healthz").status_code == 200 and store.served().number == 3
    assert client.get("/events/automne").status_code == 200
    assert automne_page(prepared(app)) is first
