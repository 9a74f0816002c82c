"""Site folders under edits, time, faults and kills: built once, never a wrong answer."""

from __future__ import annotations

import errno
import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import brotli
import icalendar
import pytest
from flask import Flask

import agenda.store
from agenda import create_app, encoding, site
from agenda.published import published_path, publishing_lock, read_version
from agenda.render import cards
from agenda.store import CURRENT, VersionStore
from tests.conftest import SEVERAL
from tests.servers import ROOT, fetch, free_port, running
from tests.test_cli import french

BEFORE = "2021-03-02T12:00:00+01:00"  # before every session of the fixture
AFTER_PRINTEMPS = "2021-04-01T12:00:00+02:00"  # printemps (28 March) is over, automne is not


def data_copy(tmp_path: Path) -> Path:
    # With its history: a first start without one is a problem for strict health.
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    shutil.copyfile(published_path(SEVERAL), published_path(path))
    return path


def later(path: Path, seconds: int = 1) -> None:
    """Give the file a later modification time, as a save does."""
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 1_000_000_000))


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text("utf-8").replace(old, new, 1), encoding="utf-8")
    later(path)


def app_on(path: Path, now: str = BEFORE) -> Flask:
    return create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": now, "TESTING": True})


def served(app: Flask) -> site.Site:
    store: VersionStore = app.extensions["agenda.store"]
    return store.site()


def served_digest(app: Flask) -> str:
    return read_version(published_path(Path(app.config["AGENDA_DATA"])), "x").digest[:12]


def inode(built: site.Site, url: str) -> int:
    return (built.folder / site.file_for(url)).stat().st_ino


def folders(root: Path) -> list[str]:
    """The site folders in `root`; a spare (site.prepare: links, made ahead) beside them at most,
    of the folder served."""
    spares = [p.name for p in root.glob(".*.spare.*.tmp")]
    assert len(spares) <= 1 and all(p.startswith(f".{os.readlink(root / 'current')}.")
                                    for p in spares), spares
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink()
                  and p.name not in spares)


def test_an_edit_renders_again_only_what_it_touched(tmp_path: Path) -> None:
    path = data_copy(tmp_path)
    app = app_on(path)
    client = app.test_client()
    first = served(app)
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    assert "Le jour d’après" in client.get("/events/automne").get_data(as_text=True)
    second = served(app)
    assert second.folder != first.folder and second.version == first.version + 1
    # Untouched sessions keep their very files (hard links); the touched one is new.
    for url in ("/events/printemps", "/events/printemps.ics", "/events/printemps.png",
                "/static/agenda.css", "/cities/lille/calendar.ics"):
        assert inode(second, url) == inode(first, url), url
    for url in ("/events/automne", "/events/automne.ics", "/calendar.ics", "/events.json"):
        assert inode(second, url) != inode(first, url), url
    # So do the files of static hosts: the URLs and their headers are the same.
    for name in site.EXTRAS:
        assert (second.folder / name).stat().st_ino == (first.folder / name).stat().st_ino, name
    # The current folder and the one before it are kept; older ones go.
    edit(path, "Le jour d’après", "Le surlendemain")
    client.get("/events/automne")
    assert not first.folder.exists()
    assert len(folders(first.folder.parent)) == 2


def test_once_idle_the_service_links_the_next_build_s_folder_ahead(tmp_path: Path) -> None:
    # An edit at 10,000 sessions spent seconds linking 180,000 files: they are linked ahead,
    # in a spare, once the service is idle; the next build is that folder, renamed into place.
    path = data_copy(tmp_path)
    root = tmp_path / "site"
    store = VersionStore(path, settle=0, watch=False, site_root=root,
                         moment=lambda: datetime.fromisoformat(BEFORE))
    first = store.site()  # (a poll: idle)

    def spare() -> Path:
        [found] = root.glob(".*.spare.*.tmp")
        return found

    assert spare().name.startswith(f".{first.folder.name}.")
    made = (spare() / "site").stat().st_ino
    for _ in range(3):  # idle again: the spare is kept, not made anew
        store.poll()
        assert (spare() / "site").stat().st_ino == made
    with publishing_lock(root / "site"):  # one held by another process: not waited for
        store.poll()
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    store.poll()
    second = store.site()
    assert second.version == 2 and second.folder.stat().st_ino == made
    assert inode(second, "/events/printemps") == inode(first, "/events/printemps")
    assert inode(second, "/events/automne") != inode(first, "/events/automne")
    assert spare().name.startswith(f".{second.folder.name}.")  # the next one's, once idle
    assert (first.folder / "events" / "automne.html").read_text("utf-8").count("d’après") == 0


def test_a_file_gone_from_the_previous_folder_is_rendered_again(tmp_path: Path) -> None:
    path = data_copy(tmp_path)
    app = app_on(path)
    first = served(app)
    gone = ["events/printemps.html.br", "cities/brest/calendar.ics", "events/printemps.png"]
    for name in gone:
        (first.folder / name).unlink()
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    app.test_client().get("/events/automne")
    second = served(app)
    assert second.version == first.version + 1
    complete(first.folder.parent)
    (tmp_path / "fresh").mkdir()
    again = data_copy(tmp_path / "fresh")  # the same edit, built from scratch
    edit(again, "Le jour où l’on recule l’heure", "Le jour d’après")
    fresh = served(app_on(again))
    for name in gone:
        assert (second.folder / name).read_bytes() == (fresh.folder / name).read_bytes(), name


def test_a_worker_serves_the_folder_another_built_before_it_reads_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = data_copy(tmp_path)
    moment = datetime.fromisoformat(BEFORE)
    publisher, follower = (VersionStore(path, settle=settle, watch=False, moment=lambda: moment)
                           for settle in (0, 3600))
    old = follower.site()
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    publisher.poll()
    built = publisher.site()
    served_while_reading = []

    def reading(*args: object, **kwargs: object) -> object:
        served_while_reading.append(follower.site().folder)  # what a request gets meanwhile
        return read_version(*args, **kwargs)

    monkeypatch.setattr(agenda.store, "read_version", reading)
    follower.poll()
    assert served_while_reading == [built.folder]
    assert follower.served().number == built.version and follower.site().folder == built.folder
    # A worker holds two folders' entries while it switches: the new one's are the old one's
    # objects wherever they are equal (the memory target), and only there.
    new = follower.site().entries
    assert new["/events/printemps"] is old.entries["/events/printemps"]
    assert new["/events/automne"] != old.entries["/events/automne"]
    assert sum(e is old.entries.get(e.path) for e in new.values()) > len(new) / 2


def test_a_worker_that_never_publishes_serves_the_edit_another_process_built(
    tmp_path: Path,
) -> None:
    # A worker reads the new folder from the changes since the one it serves (site.CHANGES):
    # it answers with the new bytes, and holds the folder a whole read gives.
    path = data_copy(tmp_path)
    publisher = app_on(path)
    follower = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": BEFORE, "TESTING": True,
                           "AGENDA_AUTOPUBLISH": False})
    old = served(follower)
    assert served(publisher).folder == old.folder
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    publisher.test_client().get("/events/automne")
    built = served(publisher)
    assert (built.folder / site.CHANGES).exists() and built.version == old.version + 1
    page = follower.test_client().get("/events/automne").get_data(as_text=True)
    assert "Le jour d’après" in page
    assert served(follower) == site.read_site(built.folder)
    assert served(follower).entries["/events/printemps"] is old.entries["/events/printemps"]


def test_the_process_that_publishes_serves_the_new_folder_before_pruning_old_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Removing a folder of 10,000 sessions (200,000 files) takes seconds: meanwhile the
    # worker that published went on serving the version before, after the others switched.
    path = data_copy(tmp_path)
    moment = datetime.fromisoformat(BEFORE)
    store = VersionStore(path, settle=0, watch=False, moment=lambda: moment)
    pruning = agenda.store.prune
    served_while_pruning = []

    def watched(root: Path, keep: set[str], dead_only: bool = False) -> list[Path]:
        if not dead_only:
            served_while_pruning.append(store.site().version)
        return pruning(root, keep, dead_only)

    monkeypatch.setattr(agenda.store, "prune", watched)
    removing = shutil.rmtree
    lock = store.site_root / ".site.lock"
    locked_while_removing = []

    def removed(folder: Path, *args: object, **kwargs: object) -> None:
        # Another worker, or `agenda publish`, waits for the builder's lock meanwhile.
        with open(lock) as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if Path(folder).exists() and any(Path(folder).iterdir()):  # a build's empty
                    locked_while_removing.append(Path(folder).name)  # own folder takes no time
        removing(folder, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", removed)
    for number, title in enumerate(("Le jour d’après", "Le jour suivant"), start=2):
        edit(path, "Le jour où l’on recule l’heure" if number == 2 else "Le jour d’après", title)
        store.poll()
        assert store.served().number == number
    assert served_while_pruning == [2, 3]
    assert len(folders(store.site_root)) == 2  # the one served and the one before it
    assert [f.name for f in store.site_root.iterdir() if f.name.startswith(".v")
            and ".spare." not in f.name] == []
    assert locked_while_removing == []


def test_a_session_ending_moves_it_to_the_past_without_an_edit(tmp_path: Path) -> None:
    path = data_copy(tmp_path)
    app = app_on(path)
    client = app.test_client()
    before = served(app)
    assert "S’inscrire" in client.get("/events/printemps").get_data(as_text=True)
    app.config["AGENDA_NOW"] = AFTER_PRINTEMPS  # the clock passes the session's end
    page = client.get("/events/printemps").get_data(as_text=True)
    after = served(app)
    assert after.folder != before.folder and after.version == before.version
    assert "S’inscrire" not in page
    # What does not change with time is not made again (but what the data dates ahead of
    # the moment: its Last-Modified is the moment, never later than the answer).
    assert inode(after, "/cities/saint-etienne/calendar.ics") == \
        inode(before, "/cities/saint-etienne/calendar.ics")
    assert inode(after, "/events/printemps") != inode(before, "/events/printemps")


@pytest.mark.parametrize("damage", ["folder removed", "file emptied", "file cut"])
def test_a_damaged_folder_is_never_served_as_a_wrong_200(tmp_path: Path, damage: str) -> None:
    path = data_copy(tmp_path)
    app = app_on(path)
    client = app.test_client()
    good = {url: client.get(url, headers={"Accept-Encoding": "gzip"}).data
            for url in ("/calendar.ics", "/events/automne", "/events.json")}
    built = served(app)
    target = built.folder / "calendar.ics.gz"
    if damage == "folder removed":
        shutil.rmtree(built.folder)
    elif damage == "file emptied":
        os.truncate(target, 0)
        os.truncate(built.folder / "events" / "automne.html", 0)
    else:
        os.truncate(built.folder / "events.json", 10)
    for url, body in good.items():
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        # Built anew and answered right, or a clear 503: never other bytes with a 200.
        assert response.status_code in (200, 503), url
        if response.status_code == 200:
            assert response.data == body, url
    assert client.get("/healthz?strict=1").status_code == 200


@pytest.mark.parametrize("cut", ["at a line's end", "within a line"])
def test_a_cut_manifest_is_not_a_folder_and_is_built_again(tmp_path: Path, cut: str) -> None:
    path = data_copy(tmp_path)
    app = app_on(path)
    good = app.test_client().get("/calendar.ics").data
    manifest = served(app).folder / site.MANIFEST
    lines = manifest.read_bytes().splitlines(keepends=True)
    kept = b"".join(lines[:-3])
    manifest.write_bytes(kept if cut == "at a line's end" else kept + lines[-3][:20])
    with pytest.raises(site.SiteError):
        site.read_site(manifest.parent)
    # Another process starting on this data folder builds it again and serves the same bytes.
    again = app_on(path)
    assert again.test_client().get("/calendar.ics").data == good
    assert len(served(again).entries) == len(lines) - 1


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"),
                                     RuntimeError("un défaut de rendu")])
def test_a_failed_build_keeps_the_previous_folder_and_health_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    failure: Exception,
) -> None:
    # A full disk, or any other failure of a build (a bug in a render function).
    monkeypatch.setattr(agenda.store, "BUILD_RETRY_SECONDS", 0.5)
    path = data_copy(tmp_path)
    app = app_on(path)
    client = app.test_client()
    before = client.get("/events/automne").data
    real, tries = site.render_one, []

    def failing(document: site.Document, folder: Path) -> site.Entry:
        tries.append(document.path)
        raise failure

    monkeypatch.setattr(site, "render_one", failing)
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    assert client.get("/events/automne").data == before  # the previous folder serves
    health = client.get("/healthz?strict=1")
    assert health.status_code == 503
    assert f"impossible de construire le site de la version 2 ({served_digest(app)}" in \
        health.get_data(as_text=True)
    # The system's reason in French, as the catalogue words it; a bug's message as it is.
    reason = french(failure.strerror) if isinstance(failure, OSError) else str(failure)
    assert f" : {reason} ; " in health.get_data(as_text=True)
    # The full disk's error names no file: the message says where the build was.
    assert f" dans {path.with_name(path.stem + '.site')} : " in health.get_data(as_text=True)
    assert not [p for p in tmp_path.rglob("*.tmp")], "the temporary folder is removed"
    # Logged once, with where it failed; not built again at every request meanwhile. A full
    # disk is the operator's to solve, in one line; a bug's traceback is for developers.
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 1
    assert [r.exc_info[1] for r in caplog.records if r.exc_info] == \
        ([] if isinstance(failure, OSError) else [failure])
    attempts = len(tries)
    for _ in range(3):
        assert client.get("/events/automne").data == before
    assert len(tries) == attempts
    monkeypatch.setattr(site, "render_one", real)
    time.sleep(0.6)
    assert "Le jour d’après" in client.get("/events/automne").get_data(as_text=True)
    assert client.get("/healthz?strict=1").status_code == 200


def test_a_worker_whose_first_catch_up_fails_still_answers_and_follows_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gunicorn worker catches up at its first request, then a thread watches: a surprise
    # in that first catch-up must neither fail the request nor leave the worker unwatched.
    path = data_copy(tmp_path)
    store = VersionStore(path, settle=0)
    real = VersionStore.poll

    def surprise(self: VersionStore) -> None:
        monkeypatch.setattr(VersionStore, "poll", real)
        raise RuntimeError("une surprise")

    monkeypatch.setattr(VersionStore, "poll", surprise)
    assert store.current().number == 1
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    deadline = time.monotonic() + 20
    while store.served().number < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.served().number == 2


def test_a_full_disk_during_a_build_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real full disk: a small tmpfs holds the site folders (root only).
    monkeypatch.setattr(agenda.store, "BUILD_RETRY_SECONDS", 0.0)  # the disk freed: at once
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        path = data_copy(tmp_path)
        app = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": BEFORE,
                          "AGENDA_SITE": str(mount / "site")})
        client = app.test_client()
        before = client.get("/calendar.ics").data
        filler = mount / "filler"
        free = shutil.disk_usage(mount).free
        filler.write_bytes(b"\0" * max(free - 64_000, 0))
        edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
        assert client.get("/calendar.ics").data == before
        health = client.get("/healthz?strict=1")
        assert health.status_code == 503
        assert french(os.strerror(errno.ENOSPC)) in health.get_data(as_text=True)
        filler.unlink()
        assert b"Le jour d" in client.get("/calendar.ics").data
        assert client.get("/healthz?strict=1").status_code == 200
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)  # files still open


BUILD = """
import sys
from datetime import datetime, UTC
from pathlib import Path
from agenda.published import first_version
from agenda.store import ensure_site
raw = Path(sys.argv[1]).read_bytes()
ensure_site(Path(sys.argv[2]), first_version(raw, sys.argv[1]), datetime(2021, 3, 2, tzinfo=UTC))
"""


def complete(root: Path) -> None:
    """The folder `current` points at is whole: a manifest, and every file it lists."""
    built = site.read_site(root / os.readlink(root / CURRENT))
    for entry in built.entries.values():
        assert (built.folder / entry.file).stat().st_size == entry.size, entry.path
        for coding in entry.codings:
            assert (built.folder / (entry.file + site.SIBLINGS[coding])).stat().st_size > 0


def test_a_builder_killed_at_any_point_never_leaves_a_partial_folder_in_service(
    tmp_path: Path,
) -> None:
    path = data_copy(tmp_path)
    root = tmp_path / "site"
    command = [sys.executable, "-c", BUILD, str(path), str(root)]
    rng = random.Random(7)
    for _ in range(8):
        process = subprocess.Popen(command, cwd=ROOT)
        time.sleep(rng.uniform(0.05, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (root / CURRENT).exists():
            complete(root)
            if rng.random() < 0.5:  # sometimes from scratch, sometimes over a previous build
                shutil.rmtree(root / os.readlink(root / CURRENT))
    subprocess.run(command, cwd=ROOT, check=True, timeout=120)
    complete(root)
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


def test_two_masters_on_one_data_folder_build_once_and_serve_the_same_bytes(
    tmp_path: Path,
) -> None:
    path = data_copy(tmp_path)
    env = dict(os.environ, AGENDA_DATA=str(path), AGENDA_SITE=str(tmp_path / "site"))
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]

    def master(port: int, log: Path) -> list[str]:
        command = f"exec {sys.executable} -m gunicorn --bind 127.0.0.1:{port} --workers 2 " \
                  f"--access-logfile /dev/null wsgi:app 2>{log}"
        return ["bash", "-c", command]

    with running(master(ports[0], logs[0]), ports[0], "/healthz", cwd=ROOT, env=env), \
            running(master(ports[1], logs[1]), ports[1], "/healthz", cwd=ROOT, env=env):
        for url in ("/calendar.ics", "/events/automne", "/events.json"):
            one, two = (fetch(port, url, {"Accept-Encoding": "br"}) for port in ports)
            assert one[0] == two[0] == 200
            assert one[2] == two[2] and one[1]["ETag"] == two[1]["ETag"], url
    text = logs[0].read_text() + logs[1].read_text()
    assert text.count(" built v1-") == 1, text
    assert len(folders(tmp_path / "site")) == 1


def test_hundreds_of_versions_keep_memory_and_disk_flat(tmp_path: Path) -> None:
    path = data_copy(tmp_path)
    app = app_on(path)
    client = app.test_client()
    root = served(app).folder.parent

    def files() -> int:
        return sum(1 for f in root.rglob("*") if f.is_file())

    def usage(folder: Path) -> int:  # a file linked into several folders once: the disk's
        return sum({f.stat().st_ino: f.stat().st_size for f in folder.rglob("*")
                    if f.is_file()}.values())

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    text = path.read_text("utf-8")
    sizes, memory = [], []
    for number in range(200):
        path.write_text(text.replace("Le jour où l’on recule l’heure", f"Le jour {number}"),
                        encoding="utf-8")
        later(path, number + 1)
        assert client.get("/events/automne").status_code == 200
        if number in (20, 199):
            sizes.append(files())
            memory.append(resident())
            assert len(folders(root)) <= 2
            # What is on disk is the folder served and the one before it, nothing more
            # (the history shown on the pages grows with each version, the rest not).
            assert usage(root) <= 2.2 * usage(served(app).folder)
    assert served(app).version == 201
    assert sizes[1] <= sizes[0] * 1.05
    assert memory[1] - memory[0] < 24 << 20


def test_every_event_of_the_feed_reads_back_after_many_versions(tmp_path: Path) -> None:
    # The feed assembled from kept events is the calendar icalendar would write whole.
    path = data_copy(tmp_path)
    app = app_on(path)
    client = app.test_client()
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    schedule = app.extensions["agenda.store"].current().schedule
    body = client.get("/calendar.ics").data
    from tests.test_ical_events import build_calendar
    assert body == build_calendar(schedule, schedule.sessions, name=schedule.calendar.name,
                                  planned=schedule.planned).to_ical()
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert "Le jour d’après" in " ".join(str(e["SUMMARY"]) + str(e["DESCRIPTION"])
                                         for e in events)


def test_a_data_folder_copied_with_its_site_folders_still_starts(tmp_path: Path) -> None:
    # `cp -r data/ elsewhere/` makes a folder of the `current` link: the copy still serves.
    (tmp_path / "one").mkdir()
    path = data_copy(tmp_path / "one")
    first = served(app_on(path))
    copy = tmp_path / "two"
    shutil.copytree(path.parent, copy)  # links followed: `current` is now a real folder
    assert (copy / "sessions.site" / CURRENT).is_dir()
    app = app_on(copy / "sessions.toml")
    client = app.test_client()
    assert client.get("/calendar.ics").status_code == 200
    assert served(app).entries.keys() == first.entries.keys()
    edit(copy / "sessions.toml", "Le jour où l’on recule l’heure", "Le jour d’après")
    assert "Le jour d’après" in client.get("/events/automne").get_data(as_text=True)
    assert (copy / "sessions.site" / CURRENT).is_symlink()


def test_a_site_folder_shared_with_other_files_loses_none_of_them(tmp_path: Path) -> None:
    # AGENDA_SITE=/var/www: agenda removes the folders it built, of any release and
    # version (and what killed builds left), never another's, even one named `current`.
    path = data_copy(tmp_path)
    root = tmp_path / "www"
    others = ["blog", ".well-known", "v2-archives", "video-2021-old-a"]
    for name in others:
        (root / name).mkdir(parents=True)
        (root / name / "index.html").write_text("à garder", encoding="utf-8")
    old = ["v1-0123456789-0-deadbeef", ".v1-0123456789-0-deadbeef.999999999.tmp",
           ".v1-0123456789-0-deadbeef.k3_x9q0z.999999999.tmp"]  # an older release's, this one's
    for name in old:
        (root / name).mkdir()
    config = {"AGENDA_DATA": str(path), "AGENDA_NOW": BEFORE, "AGENDA_SITE": str(root)}
    app = create_app(config)
    assert app.test_client().get("/calendar.ics").status_code == 200
    edit(path, "Le jour où l’on recule l’heure", "Le jour d’après")
    assert "Le jour d’après" in app.test_client().get("/events/automne").get_data(as_text=True)
    for name in others:
        assert (root / name / "index.html").read_text(encoding="utf-8") == "à garder", name
    assert not any((root / name).exists() for name in old)
    # A folder of someone else's named `current` is not taken for a copied link either.
    shutil.rmtree(root)
    (root / CURRENT).mkdir(parents=True)
    (root / CURRENT / "index.html").write_text("à garder", encoding="utf-8")
    with pytest.raises(site.SiteError):
        create_app(config)
    assert (root / CURRENT / "index.html").read_text(encoding="utf-8") == "à garder"


def test_a_folder_built_anew_over_a_missing_file_leaves_nginx_the_old_one_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A file found missing (removed by hand) has the folder built anew, from nothing. The
    # folder was removed first: `current` named nothing for the whole build (a minute at
    # 10,000 sessions), and nginx answered 404 to every page, feed and calendar meanwhile.
    path = data_copy(tmp_path)
    app = app_on(path)
    client = app.test_client()
    before = served(app)
    good = client.get("/rss.xml").data
    page = before.folder.parent / CURRENT / "events" / "automne.html"
    seen, card = tmp_path / "seen", cards.agenda_card

    def probe(*args: object) -> bytes:  # during the build (in a build worker, maybe)
        with seen.open("a") as out:
            out.write(f"{page.is_file()}\n")
        return card(*args)

    monkeypatch.setattr(cards, "agenda_card", probe)
    (before.folder / "rss.xml").unlink()
    response = client.get("/rss.xml")
    assert (response.status_code, response.data) == (200, good)
    assert seen.read_text() == "True\n"  # what nginx serves was there all along
    assert served(app).folder == before.folder and served(app).ino != before.ino
    assert [p.name for p in before.folder.parent.iterdir() if p.name.startswith(".v")
            and ".spare." not in p.name] == []  # (a spare: replaced once the service is idle)


def test_health_says_when_the_folder_served_is_past_its_period(tmp_path: Path) -> None:
    # A session ended, and no folder of the new period comes: its build waits for the builder's
    # lock, held by an `agenda build` stopped in a terminal (Ctrl-Z), or by a build that hangs.
    # Pages still offered « S’inscrire » to a session over, and /healthz said « ok ».
    path = data_copy(tmp_path)
    app = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": BEFORE, "AGENDA_WATCH": True,
                      "AGENDA_SETTLE": 0.2, "TESTING": True})
    client = app.test_client()
    assert client.get("/healthz?strict=1").status_code == 200  # its watcher started
    until = app.extensions["agenda.store"].site().valid_until
    with publishing_lock(tmp_path / "sessions.site" / "site"):
        # Just past the moment, the next folder is being built (a minute at 10,000 sessions):
        # not a problem yet, or every monitor would fail at every session's end.
        app.config["AGENDA_NOW"] = (until + timedelta(seconds=90)).isoformat()
        time.sleep(1)
        assert client.get("/healthz?strict=1").status_code == 200
        app.config["AGENDA_NOW"] = AFTER_PRINTEMPS
        time.sleep(1)
        health = client.get("/healthz?strict=1")
    assert health.status_code == 503
    assert "problem: le dossier servi vaut jusqu’au 2021-03-28T" in health.get_data(as_text=True)
    deadline = time.monotonic() + 20  # the lock released, the watcher builds it
    while client.get("/healthz?strict=1").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.get("/healthz?strict=1").status_code == 200


def test_a_folder_is_on_disk_before_it_takes_the_place_of_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ext4 writes a new file's bytes up to 30 s after it was closed: a power cut after the
    switch would leave nginx serving the folder's files cut to zero bytes, as 200s. The folder,
    manifest included, is synced before it is renamed into place."""
    path = data_copy(tmp_path)
    building = tmp_path / "sessions.site"
    steps: list[tuple[str, object]] = []
    real_rename = os.rename

    def rename(source: object, target: object) -> None:
        steps.append(("rename", Path(str(target)).name))
        real_rename(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "sync", lambda: steps.append(
        ("sync", [p.stat().st_size for p in building.glob(f".*/site/{site.MANIFEST}")])))
    monkeypatch.setattr(os, "rename", rename)
    built = served(app_on(path))
    into_place = steps.index(("rename", built.folder.name))
    synced = [n for n, (what, manifests) in enumerate(steps[:into_place])
              if what == "sync" and manifests and all(manifests)]
    assert synced, steps


def test_a_brotli_sibling_is_written_only_where_it_saves_a_twentieth_of_gzip(
    tmp_path: Path,
) -> None:
    # A file more per document, written by a full build and linked at every version, for 9
    # bytes of 787 (a session's .ics) is not worth it; the whole schedule's documents save 40%.
    # Each sibling read back by zlib and brotli is the document; one is there if and only if
    # the manifest lists its coding, and brotli's where it is at least 5% smaller than gzip's.
    built = served(app_on(data_copy(tmp_path)))
    kept = {}
    for entry in built.entries.values():
        body = (built.folder / entry.file).read_bytes()
        files = {c: built.folder / (entry.file + suffix) for c, suffix in site.SIBLINGS.items()}
        assert {c for c, file in files.items() if file.exists()} == set(entry.codings)
        if not entry.codings:
            continue
        gzip = files["gzip"].read_bytes()
        assert zlib.decompress(gzip, wbits=31) == body
        br = files["br"].read_bytes() if "br" in entry.codings else brotli.compress(
            body, quality=encoding.BROTLI_QUALITY, lgwin=encoding.BROTLI_WINDOW_BITS)
        assert brotli.decompress(br) == body
        kept[entry.path] = len(br) <= 0.95 * len(gzip)
        assert kept[entry.path] == ("br" in entry.codings), entry.path
    assert any(kept.values()) and not all(kept.values())  # both cases, each checked
