"""The static export: every URL's file equals the server's answer, also served by Debian's nginx."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app
from agenda.cli import main
from agenda.export import KEPT_HEADERS, export, file_for, site_paths
from tests.conftest import SEVERAL
from tests.servers import BROTLI_STATIC, fetch, free_port, nginx, nginx_binary

NOW = "2021-07-01T12:00:00+02:00"
CODINGS = ["identity", "gzip", "br"]


@pytest.fixture(scope="module")
def several_pinned() -> Flask:
    """The several-sessions app with its clock pinned, as the export sees it."""
    return create_app({"AGENDA_DATA": str(SEVERAL), "AGENDA_NOW": NOW, "TESTING": True})


@pytest.fixture(scope="module")
def exported(several_pinned: Flask, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export of the several-sessions fixture."""
    folder = tmp_path_factory.mktemp("export") / "site"
    export(several_pinned, folder)
    return folder


@pytest.fixture(scope="module")
def static_host(exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nginx serving the export with the snippet the export wrote; yields its port."""
    nginx_binary()
    port = free_port()
    snippet = exported / "_nginx" / "agenda-static.conf"
    if not BROTLI_STATIC.exists():  # as the snippet's comment says
        text = snippet.read_text().replace("brotli_static on;\n", "")
        snippet = tmp_path_factory.mktemp("conf") / "agenda-static.conf"
        snippet.write_text(text)
    block = f"server {{ listen 127.0.0.1:{port}; root {exported}; include {snippet}; }}"
    with nginx(tmp_path_factory.mktemp("nginx"), block, port, "/calendar.ics"):
        yield port


@pytest.mark.parametrize(
    ("path", "file"),
    [("/", "index.html"), ("/embed", "embed.html"), ("/events/lyon", "events/lyon.html"),
     ("/events/lyon.ics", "events/lyon.ics"), ("/series/s/rss.xml", "series/s/rss.xml")],
)
def test_file_for_pretty_urls(path: str, file: str) -> None:
    assert file_for(path) == file


def test_site_paths_cover_every_document(several_pinned: Flask) -> None:
    schedule = several_pinned.extensions["agenda.store"].schedule
    paths = site_paths(schedule)
    assert len(paths) == len(set(paths))
    assert "/cities/saint-etienne/atom.xml" in paths
    assert "/series/autres/calendar.ics" in paths
    assert "/events/sans-date" in paths and "/events/sans-date.ics" not in paths
    assert "/static/agenda.css" in paths


def test_export_files_equal_app_answers(
    exported: Path, several_pinned: Flask
) -> None:
    client = several_pinned.test_client()
    for path in site_paths(several_pinned.extensions["agenda.store"].schedule):
        plain = client.get(path)
        target = exported / file_for(path)
        assert target.read_bytes() == plain.data, path
        if "Last-Modified" in plain.headers:
            stamp = email.utils.parsedate_to_datetime(plain.headers["Last-Modified"]).timestamp()
            assert target.stat().st_mtime == stamp, path
        for coding, suffix in (("gzip", ".gz"), ("br", ".br")):
            packed = client.get(path, headers={"Accept-Encoding": coding})
            sibling = target.with_name(target.name + suffix)
            if packed.headers.get("Content-Encoding") == coding:
                assert sibling.read_bytes() == packed.data, (path, coding)
            else:
                assert not sibling.exists()


def _same_answer(path: str, coding: str, port: int, client: FlaskClient) -> None:
    headers = {"Accept-Encoding": coding}
    expected = client.get(path, headers=headers)
    status, got, body = fetch(port, path, headers)
    assert (status, body) == (200, expected.data), (path, coding)
    for name in (*KEPT_HEADERS, "Content-Encoding"):
        assert got.get(name) == expected.headers.get(name), (path, coding, name)
    if "Last-Modified" in expected.headers:  # nginx always sends one: the file's date
        assert got["Last-Modified"] == expected.headers["Last-Modified"], (path, coding)
    if "Vary" in expected.headers:
        assert got["Vary"] == "Accept-Encoding", (path, coding)
    again, _, empty = fetch(port, path, {**headers, "If-None-Match": got["ETag"]})
    assert (again, empty) == (304, b""), (path, coding)
    if "Last-Modified" in expected.headers:
        since = {**headers, "If-Modified-Since": expected.headers["Last-Modified"]}
        assert fetch(port, path, since)[0] == 304, (path, coding)


def test_nginx_on_export_answers_as_the_app(static_host: int, several_pinned: Flask) -> None:
    client = several_pinned.test_client()
    codings = CODINGS if BROTLI_STATIC.exists() else CODINGS[:2]
    for path in site_paths(several_pinned.extensions["agenda.store"].schedule):
        for coding in codings:
            _same_answer(path, coding, static_host, client)


def test_nginx_on_export_hides_its_own_files(static_host: int) -> None:
    assert fetch(static_host, "/_headers")[0] == 404
    assert fetch(static_host, "/_nginx/agenda-static.conf")[0] == 404


def test_build_cli_writes_and_refreshes(runner: CliRunner, tmp_path: Path, write_schedule) -> None:
    out = tmp_path / "site"
    result = runner.invoke(main, ["build", str(out), "--data", str(SEVERAL), "--now", NOW])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{out}: ")
    assert (out / "events" / "automne.html").is_file()
    assert (out / "_headers").is_file()
    # Rebuilt from a schedule without that session: its files go.
    text = SEVERAL.read_text(encoding="utf-8")
    smaller = text.replace('id = "automne"', 'id = "automne-2"')
    path = write_schedule(smaller)
    result = runner.invoke(main, ["build", str(out), "--data", str(path), "--now", NOW])
    assert result.exit_code == 0, result.output
    assert not (out / "events" / "automne.html").exists()
    assert (out / "events" / "automne-2.html").is_file()


def test_build_refuses_a_folder_that_is_not_an_export(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(main, ["build", str(tmp_path), "--data", str(SEVERAL)])
    assert result.exit_code == 1
    assert "holds no previous export" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_export_holds_no_private_link_nor_personal_page(exported: Path) -> None:
    # The fixture's "automne" has a private video link: registered people get it
    # through a signed personal link, which the export never holds.
    private = "private-room-SECRET"
    assert private in SEVERAL.read_text(encoding="utf-8")
    for file in exported.rglob("*"):
        if file.is_file() and file.suffix not in (".gz", ".br", ".png"):
            assert private.encode() not in file.read_bytes(), file
            assert "/private/" not in str(file.relative_to(exported))
