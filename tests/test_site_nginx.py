"""The site folder: every URL's file equals the app's answer, and Debian's nginx serves it alike."""

from __future__ import annotations

import email.utils
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app, site
from agenda.cli import main
from agenda.published import published_path
from agenda.render import html
from agenda.site import Site, file_for
from bench.run import schedule_text
from tests.conftest import LYON, SEVERAL, SHIPPED
from tests.servers import BROTLI_STATIC, fetch, free_port, nginx, nginx_binary

NOW = "2021-07-01T12:00:00+02:00"
CODINGS = ["identity", "gzip", "br"]
LATER = "Fri, 01 Jan 2100 00:00:00 GMT"  # after any file's time
# Headers a static host must send as the app does.
KEPT_HEADERS = ("Content-Type", "Cache-Control", "Content-Security-Policy", "X-Frame-Options",
                "X-Content-Type-Options", "Referrer-Policy", "Access-Control-Allow-Origin",
                "Strict-Transport-Security",
                "Access-Control-Expose-Headers", "Content-Disposition", "Link",
                "Content-Encoding", "Vary")


@pytest.fixture(scope="module")
def several_pinned(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The several-sessions app with its moment pinned, its site folders in a folder of its own."""
    return create_app({"AGENDA_DATA": str(SEVERAL), "AGENDA_NOW": NOW, "TESTING": True,
                       "AGENDA_SITE": str(tmp_path_factory.mktemp("site"))})


@pytest.fixture(scope="module")
def built(several_pinned: Flask) -> Site:
    """The folder the app serves."""
    return several_pinned.extensions["agenda.store"].site()


@pytest.fixture(scope="module")
def static_host(built: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nginx serving the folder with the configuration the builder wrote; yields its port."""
    nginx_binary()
    port = free_port()
    brotli = f"include {built.folder}/_nginx/brotli.conf;" if BROTLI_STATIC.exists() else ""
    block = (f"server {{ listen 127.0.0.1:{port}; root {built.folder}; "
             f"include {built.folder}/_nginx/agenda-static.conf; {brotli} }}")
    with nginx(tmp_path_factory.mktemp("nginx"), block, port, "/calendar.ics"):
        yield port


def public(built: Site) -> list[str]:
    """The URLs of the folder (not the parts it keeps for the next build)."""
    return [path for path in built.entries if not path.startswith("/_")]


@pytest.mark.parametrize(
    ("path", "file"),
    [("/", "index.html"), ("/embed", "embed.html"), ("/events/lyon", "events/lyon.html"),
     ("/events/lyon.ics", "events/lyon.ics"), ("/series/s/rss.xml", "series/s/rss.xml")],
)
def test_file_for_pretty_urls(path: str, file: str) -> None:
    assert file_for(path) == file


def test_folder_covers_every_document(built: Site) -> None:
    paths = set(built.entries)
    assert "/cities/saint-etienne/atom.xml" in paths
    assert "/series/autres/calendar.ics" in paths
    assert "/events/sans-date" in paths and "/events/sans-date.ics" not in paths
    assert "/static/agenda.css" in paths


def test_files_equal_app_answers(built: Site, several_pinned: Flask) -> None:
    client = several_pinned.test_client()
    for path in public(built):
        plain = client.get(path)
        target = built.folder / file_for(path)
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
    for name in KEPT_HEADERS:
        assert got.get(name) == expected.headers.get(name), (path, coding, name)
    # The app's date, or none: nginx sent the build's clock for an undated session's page, a
    # city's calendar of undated sessions, /robots.txt, /static/, and a 304 by it.
    assert got["Last-Modified"] == expected.headers.get("Last-Modified"), (path, coding)
    again, _, empty = fetch(port, path, {**headers, "If-None-Match": got["ETag"]})
    assert (again, empty) == (304, b""), (path, coding)
    since = {**headers, "If-Modified-Since": expected.headers.get("Last-Modified", LATER)}
    dated = 304 if "Last-Modified" in expected.headers else 200
    assert fetch(port, path, since)[0] == client.get(path, headers=since).status_code == dated, \
        (path, coding)


def test_nginx_on_the_folder_answers_as_the_app(
    static_host: int, built: Site, several_pinned: Flask
) -> None:
    client = several_pinned.test_client()
    codings = CODINGS if BROTLI_STATIC.exists() else CODINGS[:2]
    for path in public(built):
        for coding in codings:
            _same_answer(path, coding, static_host, client)


def test_the_snippet_nginx_loaded_fits_the_sessions_added_since(tmp_path: Path) -> None:
    # nginx reads _nginx/agenda-static.conf when it starts; later versions are served from
    # `current` with that same snippet. The shipped schedule has one dated session: a second
    # one's page, download and JSON must still get their own headers, not nginx's guesses.
    nginx_binary()
    data = tmp_path / "sessions.toml"
    shutil.copyfile(SHIPPED, data)
    shutil.copyfile(published_path(SHIPPED), published_path(data))
    app = create_app({"AGENDA_DATA": str(data), "AGENDA_NOW": NOW, "TESTING": True,
                      "AGENDA_SITE": str(tmp_path / "site")})
    client = app.test_client()
    current = tmp_path / "site" / "current"
    port = free_port()
    block = (f"server {{ listen 127.0.0.1:{port}; root {current}; "
             f"include {current}/_nginx/agenda-static.conf; }}")
    with nginx(tmp_path / "nginx", block, port, "/calendar.ics"):
        with data.open("a", encoding="utf-8") as out:
            out.write(LYON)
        info = data.stat()
        os.utime(data, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        assert client.get("/events/lyon").status_code == 200  # published and built
        for path in ("/events/lyon", "/events/lyon.ics", "/events/lyon.json"):
            for coding in CODINGS[:2]:
                _same_answer(path, coding, port, client)


def test_a_release_that_changes_bytes_but_not_their_size_reaches_readers_behind_nginx(
    several_pinned: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new release of agenda changing a page's bytes but not its size nor its date (a wording
    fix of the same length): nginx's ETag is the file's time and size, so a reader revalidating
    with If-None-Match got a 304 from nginx and kept the old page for good."""
    nginx_binary()
    store = several_pinned.extensions["agenda.store"]
    old = store.site()
    monkeypatch.setattr(site, "RELEASE", "another-release")  # its files are rendered anew
    monkeypatch.setattr(site, "_release", lambda: "another-release")
    wording = html.session_page
    monkeypatch.setattr(html, "session_page", lambda *a: wording(*a).replace(b"<html", b"<HTML"))
    new = site.build(store.served(), datetime.fromisoformat(NOW), tmp_path / "new", old, 1)
    served = tmp_path / "served"
    served.symlink_to(old.folder)
    port = free_port()
    block = (f"server {{ listen 127.0.0.1:{port}; root {served}; "
             f"include {old.folder}/_nginx/agenda-static.conf; }}")
    with nginx(tmp_path / "nginx", block, port, "/calendar.ics"):
        before = {p: fetch(port, p)[1] for p in ("/events/printemps", "/events/automne")}
        served.unlink()
        served.symlink_to(new.folder)
        for path, got in before.items():
            status, headers, body = fetch(port, path, {"If-None-Match": got["ETag"]})
            assert (status, body) == (200, (new.folder / file_for(path)).read_bytes()), path
            assert headers["Last-Modified"] == new.entries[path].modified, path
        # A second after the old date where the period allows (a revalidation by date gets it
        # too), else a second before (the automne page is dated at the period's start).
        assert fetch(port, "/events/printemps", {
            "If-Modified-Since": before["/events/printemps"]["Last-Modified"]})[0] == 200


@pytest.mark.parametrize("then", ["2021-03-20T12:00:00+01:00", "2022-01-10T12:00:00+01:00"])
def test_a_folder_built_beside_one_of_another_moment_is_dated_as_one_built_alone(
    several_pinned: Flask, tmp_path: Path, then: str
) -> None:
    # A document changes its bytes from one moment to another: only a release's change of
    # bytes, its date not moving on, is dated a second off the previous folder's; an export
    # pinned before the folder served (agenda build --now) is dated as if built alone.
    store = several_pinned.extensions["agenda.store"]
    moment = datetime.fromisoformat(then)
    beside = site.build(store.served(), moment, tmp_path / "beside", store.site(), 1)
    alone = site.build(store.served(), moment, tmp_path / "alone", None, 1)
    assert {p: e.modified for p, e in beside.entries.items()} == \
        {p: e.modified for p, e in alone.entries.items()}


def test_nginx_hides_the_folder_own_files_and_answers_404_in_french(
    static_host: int, several_pinned: Flask
) -> None:
    assert fetch(static_host, "/_headers")[0] == 404
    assert fetch(static_host, "/_manifest.jsonl")[0] == 404
    assert fetch(static_host, "/_nginx/agenda-static.conf")[0] == 404
    status, got, body = fetch(static_host, "/nulle-part")
    assert status == 404
    assert "Page introuvable" in body.decode("utf-8")
    assert got["Content-Type"] == "text/html; charset=utf-8"
    assert got["Cache-Control"] == "no-cache"  # nginx adds headers to a 404 only "always"
    # The app's 404s too (behind agenda-proxy.conf it answers every URL): a CDN that kept a
    # session page's 404 kept it after the session was published.
    client = several_pinned.test_client()
    for path, accept in (("/nulle-part", "text/html"), ("/events/nope.json", "*/*"),
                         ("/calendar.ics?city=Nulle", "*/*")):
        answer = client.get(path, headers={"Accept": accept})
        assert (answer.status_code, answer.headers["Cache-Control"]) == (404, got["Cache-Control"])


def test_nginx_404_carries_the_security_headers_of_the_app_404(
    static_host: int, several_pinned: Flask
) -> None:
    # A 404 page is HTML like any other: framed or sniffed, it is the app's 404 that says no.
    client = several_pinned.test_client()
    for path in ("/nulle-part", "/events/nope", "/events/nope.json", "/cities/nulle/rss.xml"):
        status, got, _body = fetch(static_host, path)
        expected = client.get(path, headers={"Accept": "text/html"})
        assert (status, expected.status_code) == (404, 404), path
        for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                     "Referrer-Policy", "Access-Control-Allow-Origin", "Strict-Transport-Security"):
            if name in expected.headers:
                assert got.get(name) == expected.headers[name], (path, name)


def test_nginx_answers_404_for_the_files_behind_pretty_urls_as_the_app(
    static_host: int, built: Site, several_pinned: Flask
) -> None:
    # /events/lyon.html or /calendar.ics.gz are files of the folder, not URLs: nginx sent them
    # with its own guess (text/plain for gzip bytes) and none of the app's headers; a folder
    # got nginx's English 403.
    client = several_pinned.test_client()
    siblings = [f"/{p.relative_to(built.folder)}" for p in built.folder.rglob("*")
                if p.suffix in (".html", ".gz", ".br") and not p.name.startswith("404")]
    assert "/index.html" in siblings and "/calendar.ics.gz" in siblings
    for path in [*siblings, "/events", "/cities/saint-etienne", "/static"]:  # folders too
        status, got, body = fetch(static_host, path)
        assert status == 404, path
        assert got["Content-Type"] == "text/html; charset=utf-8", path
        assert "Page introuvable" in body.decode("utf-8"), path
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("path", ["/events/automne/", "/events/automne//", "/embed/",
                                  "/events/automne.ics/", "/series/essais/rss.xml/?x=1", "/events/",
                                  "/cities/saint-etienne/", "/static/", "/nulle-part/",
                                  "/events//automne", "//events/automne", "//", "//calendar.ics",
                                  "/cities//saint-etienne/calendar.ics", "/events//automne/?x=1",
                                  "///cities//saint-etienne//rss.xml", "/nulle//part"])
def test_nginx_sends_an_address_with_a_final_or_doubled_slash_where_the_app_does(
    static_host: int, several_pinned: Flask, path: str
) -> None:
    """A link pasted with a final slash (a CMS adds one) or a doubled one (a base URL ending in
    "/" before "/calendar.ics"): the app sent it to the address without it; nginx on the folder
    answered 404 to the first, and 200 to the second (it merges slashes), so crawlers and caches
    saw one document at two addresses there. Both redirect alike to the one address, which
    answers alike."""
    client = several_pinned.test_client()
    status, got, _body = fetch(static_host, path)
    bare, _, query = path.partition("?")  # as sent: the client would read "//x" as a host
    answer = client.get("/", environ_overrides={"PATH_INFO": bare, "QUERY_STRING": query})
    expected = (re.sub("/+", "/", bare).rstrip("/") or "/") + (f"?{query}" if query else "")
    assert (status, got.get("Location")) == (answer.status_code, answer.headers["Location"]) \
        == (308, "https://agenda.example.org" + expected), path
    target = urlsplit(got["Location"])
    there = target.path + (f"?{target.query}" if target.query else "")
    assert fetch(static_host, there)[0] == client.get(there).status_code \
        == (404 if path in ("/events/", "/cities/saint-etienne/", "/static/", "/nulle-part/",
                            "/nulle//part") else 200), path


def _rules(text: str) -> dict[str, dict[str, str]]:
    """`_headers` read by the grammar Netlify's parser applies (@netlify/headers-parser): lines
    trimmed, `#` comments, a path line starts with "/", a header splits at its first ":"."""
    rules: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in (raw.strip() for raw in text.split("\n")):
        if line.startswith("/"):
            current = rules.setdefault(line, {})
        elif line and not line.startswith("#"):
            name, value = line.split(":", 1)
            current[name.strip()] = value.strip()
    return rules


def test_headers_file_gives_every_url_the_app_headers(built: Site, several_pinned: Flask) -> None:
    client = several_pinned.test_client()
    rules = _rules((built.folder / "_headers").read_text("utf-8"))
    assert sorted(rules) == sorted(public(built))
    for path, headers in rules.items():
        expected = client.get(path, headers={"Accept-Encoding": "identity"}).headers
        # The host's own: validators, length and coding are the file's, Vary the host's.
        mine = {k: v for k, v in expected.items() if k not in (
            "ETag", "Last-Modified", "Content-Length", "Vary")}
        assert headers == mine, path


def exported(runner: CliRunner, tmp_path: Path, path: Path) -> Result:
    """`agenda build` of the schedule at `path` into tmp_path/site, at NOW; it succeeded."""
    result = runner.invoke(main, ["build", str(tmp_path / "site"), "--data", str(path),
                                  "--now", NOW])
    assert result.exit_code == 0, result.output
    return result


def test_headers_file_puts_the_site_own_urls_within_cloudflare_first_rules(
    runner: CliRunner, tmp_path: Path, write_schedule
) -> None:
    # Cloudflare Pages applies the first 100 rules: in path order, 40 cities' feeds and 40
    # sessions came before /rss.xml, /schemas/events.json and /static/, which got none.
    exported(runner, tmp_path, write_schedule(schedule_text(40)))
    rules = list(_rules((tmp_path / "site" / "_headers").read_text("utf-8")))
    assert len(rules) > 100
    site_own = [p for p in rules if p.count("/") == 1 or p.startswith(("/static/", "/schemas/"))]
    assert set(site_own) <= set(rules[:100])
    assert "/rss.xml" in site_own and "/events.json" in site_own and "/embed" in site_own


def test_nginx_configuration_passes_nginx_t_without_the_brotli_module(
    built: Site, tmp_path: Path
) -> None:
    # Debian's nginx-light has no brotli module: the snippet alone must not need it.
    binary = nginx_binary()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ }}
http {{
    server {{ listen 127.0.0.1:{free_port()}; root {built.folder};
             include {built.folder}/_nginx/agenda-static.conf; }}
}}
""", encoding="utf-8")
    result = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(conf)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_build_cli_copies_the_published_folder_and_refreshes(
    runner: CliRunner, tmp_path: Path, write_schedule
) -> None:
    text = SEVERAL.read_text(encoding="utf-8")
    path = write_schedule(text)
    out = tmp_path / "site"
    result = runner.invoke(main, ["build", str(out), "--data", str(path), "--now", NOW])
    assert result.exit_code == 0, result.output
    assert "aucune version publiée" in result.output  # it says it starts a history
    assert (out / "events" / "automne.html").is_file()
    assert (out / "_headers").is_file()
    path.write_text(text.replace("Le jour où l’on recule l’heure", "Le jour d’après"),
                    encoding="utf-8")
    result = runner.invoke(main, ["build", str(out), "--data", str(path), "--now", NOW])
    # An edit that is not published: refused, with what differs and the way out.
    assert result.exit_code == 1
    assert "automne" in result.output and "agenda build --publish" in result.output
    assert "Le jour d’après" not in (out / "events" / "automne.html").read_text("utf-8")
    result = runner.invoke(main, ["build", str(out), "--publish", "--data", str(path),
                                  "--now", NOW])
    assert result.exit_code == 0, result.output
    assert "version 2" in result.output
    assert "Le jour d’après" in (out / "events" / "automne.html").read_text("utf-8")
    # One version, byte for byte: the export is the published version's folder (built for
    # the moment pinned, which is not the one `current` serves: an export leaves it alone).
    [built] = [p for p in path.with_name("sessions.site").iterdir() if p.name.startswith("v2-")]
    exported = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert exported == sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
    for name in exported:
        assert (out / name).read_bytes() == (built / name).read_bytes(), name


def test_build_refuses_a_folder_that_is_not_an_export(runner: CliRunner, tmp_path: Path,
                                                      write_schedule) -> None:
    path = write_schedule(SEVERAL.read_text(encoding="utf-8"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    result = runner.invoke(main, ["build", str(tmp_path / "out"), "--data", str(path)])
    assert result.exit_code == 1
    assert "ne contient pas d’export précédent" in result.output
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_folder_holds_no_private_link_nor_personal_page(built: Site) -> None:
    # The fixture's "automne" has a private video link: registered people get it
    # through a signed personal link, which no built file holds.
    private = "private-room-SECRET"
    assert private in SEVERAL.read_text(encoding="utf-8")
    for file in built.folder.rglob("*"):
        if file.is_file() and file.suffix not in (".gz", ".br", ".png"):
            assert private.encode() not in file.read_bytes(), file
            assert "/private/" not in str(file.relative_to(built.folder))


def test_build_says_when_cloudflare_would_drop_headers(
    runner: CliRunner, tmp_path: Path, write_schedule
) -> None:
    # Twenty sessions in as many cities make more than the 100 rules of
    # _headers that Cloudflare Pages applies: the export says so instead of leaving
    # the last URLs without their headers there, silently.
    result = exported(runner, tmp_path, write_schedule(schedule_text(20)))
    rules = (tmp_path / "site" / "_headers").read_text("utf-8").count("\n/")
    assert rules > 100
    assert f"_headers a {rules} règles ; Cloudflare Pages n’applique que les 100 " in result.output
    fewer = tmp_path / "fewer" / "sessions.toml"  # 66 URLs
    fewer.parent.mkdir()
    shutil.copyfile(SEVERAL, fewer)
    small = runner.invoke(main, ["build", str(tmp_path / "small"), "--data", str(fewer),
                                 "--now", NOW])
    assert small.exit_code == 0 and "Cloudflare" not in small.output



@pytest.mark.parametrize("headers", [
    {"Range": "bytes=0-9"}, {"Range": "bytes=0-9", "Accept-Encoding": "gzip"},
    {"Accept-Encoding": "gzip", "Via": "1.1 cdn"},
    {"Accept-Encoding": "gzip, br", "Via": "1.1 cdn"},
    {"Accept-Encoding": "gzip", "Via": "1.1 cdn", "If-None-Match": '"x"'},
])
def test_nginx_answers_a_range_or_a_cdn_request_as_the_app(
    static_host: int, several_pinned: Flask, headers: dict[str, str]
) -> None:
    """A CDN in front of nginx says Via: nginx (gzip_proxied off) sent it the plain bytes where
    the app sends gzip; a Range got nginx's 206 and the app's 200: a cache between the two kept
    either, under other ETags. The same answer from both, for any of them."""
    client = several_pinned.test_client()
    for path in ("/calendar.ics", "/events/automne", "/events/automne.json"):
        status, got, body = fetch(static_host, path, headers)
        expected = client.get(path, headers=headers)
        assert (status, body) == (expected.status_code, expected.data), (path, headers)
        for name in ("Content-Encoding", "Content-Range", "Accept-Ranges", "ETag"):
            assert (name in got) == (name in expected.headers), (path, headers, name)


@pytest.mark.parametrize("accepted", ["br;q=0.5, gzip", "gzip;q=1, br;q=0.1", "*", "x-gzip",
                                      "*;q=0.2, br;q=0", "identity;q=1, gzip;q=0.5", "GZIP;Q=0.8",
                                      "br;q=0, gzip;q=0", "gzip;q=bad, br", "deflate, x-gzip, br"])
def test_nginx_and_the_app_choose_one_coding(
    static_host: int, several_pinned: Flask, accepted: str
) -> None:
    """The same Accept-Encoding, the same bytes from both: the app ranked codings by q-value
    and read `*` and x-gzip, nginx's gzip_static and brotli_static take the first named with a
    q-value above 0, so the two sent other bytes under other ETags for one request."""
    if not BROTLI_STATIC.exists():
        pytest.skip("nginx without its brotli module sends no br")
    headers = {"Accept-Encoding": accepted}
    status, got, body = fetch(static_host, "/calendar.ics", headers)
    expected = several_pinned.test_client().get("/calendar.ics", headers=headers)
    assert (status, got["Content-Encoding"], body) == (
        200, expected.headers.get("Content-Encoding"), expected.data)


@pytest.mark.parametrize("path", ["/calendar.ics?series=autres", "/rss.xml?city=brest&x=1",
                                  "/atom.xml?city=saint-etienne", "/calendar.ics?series=",
                                  "/events.json?series=autres", "/calendar.ics?series=nope",
                                  "/calendar.ics?city=Nulle%20part", "/rss.xml?city=a&city=b",
                                  "/calendar.ics?City=saint-etienne", "/rss.xml?CITY=Nulle",
                                  "/atom.xml?Series=autres"])
def test_nginx_alone_never_answers_a_filter_with_the_whole_document(
    static_host: int, several_pinned: Flask, path: str
) -> None:
    """A subscriber's /calendar.ics?series=autres on the folder served by nginx alone (no app
    behind it) got every session, and a filter that applies to nothing a whole document, where
    the app answers the path form's file or a 404. An id or a slug as written is the path form
    (the app reads any case and spelling); anything else is a 404, never all of it."""
    status, _got, body = fetch(static_host, path)
    expected = several_pinned.test_client().get(path)
    assert (status, body if status == 200 else None) == (
        expected.status_code, expected.data if status == 200 else None), path


def test_nginx_compresses_for_an_http_1_0_proxy_as_the_app(
    static_host: int, several_pinned: Flask
) -> None:
    # nginx's proxy_pass speaks HTTP/1.0 unless told: nginx sent such a proxy the plain bytes.
    with socket.create_connection(("127.0.0.1", static_host), timeout=10) as connection:
        connection.sendall(b"GET /calendar.ics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n")
        head = connection.makefile("rb").read().partition(b"\r\n\r\n")[0].decode("latin-1")
    expected = several_pinned.test_client().get(
        "/calendar.ics", headers={"Accept-Encoding": "gzip"},
        environ_overrides={"SERVER_PROTOCOL": "HTTP/1.0"})
    assert f"Content-Encoding: {expected.headers['Content-Encoding']}" in head.split("\r\n")


def test_nginx_answers_the_preflight_of_a_conditional_fetch_as_the_app(
    static_host: int, built: Site, several_pinned: Flask
) -> None:
    """The CEPS site revalidating /events.json from its pages (fetch() with If-None-Match)
    makes browsers ask OPTIONS first: nginx serving the folder answered 405 without CORS,
    and the fetch() failed; its 404s had no CORS either, and looked like a network failure.
    The calendars and feeds too: a script reads them as it reads the JSON."""
    client = several_pinned.test_client()
    asked = {"Origin": "https://ceps-oing.org", "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "if-none-match"}
    cors = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers", "Access-Control-Max-Age")
    paths = [p for p in public(built) if p.endswith((".json", ".ics", ".xml"))]
    assert "/events.json" in paths and "/events/printemps.json" in paths
    for path in paths:
        expected = client.options(path, headers=asked)
        status, got, _ = fetch(static_host, path, asked, method="OPTIONS")
        assert 200 <= status < 300 and 200 <= expected.status_code < 300, path
        allowed = got["Access-Control-Allow-Headers"].lower()
        assert allowed == "*" or "if-none-match" in allowed  # "*": any header a script adds
        for name in cors:
            assert got.get(name) == expected.headers.get(name), (path, name)
    status, got, _ = fetch(static_host, "/events/nope.json", {"Origin": "https://ceps-oing.org"})
    expected = client.get("/events/nope.json", headers={"Origin": "https://ceps-oing.org"})
    assert status == expected.status_code == 404  # and the script can read that it is a 404:
    assert got["Access-Control-Allow-Origin"] == expected.headers["Access-Control-Allow-Origin"]
