"""Operating the service as things go wrong in production: upgrades, hand-run commands as
another user, folders touched by hand. Each test reproduces what an operator would do."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

import agenda.store
from agenda import create_app, fixed_moment
from agenda.cli import main
from agenda.desk.editors import editors_path
from agenda.published import (
    PublishedError,
    digest_of,
    mark_path,
    published_path,
    publishing_lock,
    read_version,
)
from agenda.render import cards
from agenda.site import folder_name
from agenda.store import CURRENT
from tests.conftest import ROOT, SEVERAL
from tests.servers import fetch, free_port
from tests.test_cli import french, says
from tests.test_deploy_nginx import deployed
from tests.test_deploy_unattended import unit_settings

NOW = "2021-07-01T12:00:00+02:00"


def data_folder(tmp_path: Path) -> Path:
    """A data folder holding a copy of the several-sessions schedule; its file's path."""
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    return path


def test_a_restart_whose_build_fails_serves_the_folder_in_service_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An upgrade renames every folder (a new release), so the restart must build anew; when
    # that build fails (a full disk), the folder `current` names, which nginx serves all the
    # while, is still whole: the service starts on it and says why, instead of not starting.
    path = data_folder(tmp_path)
    config = {"AGENDA_DATA": str(path), "AGENDA_NOW": NOW, "TESTING": True}
    before = create_app(config).test_client().get("/events.json").get_data()
    root = path.with_name("sessions.site")
    name = os.readlink(root / CURRENT)
    older = name[:-8] + "0ld0ld00"  # the same folder, as the release before named it
    os.rename(root / name, root / older)
    os.symlink(older, root / ".link")
    os.replace(root / ".link", root / CURRENT)
    version = read_version(published_path(path), str(path))
    assert version is not None
    target = root / folder_name(version, fixed_moment(NOW))
    target.write_text("in the way: the build cannot rename its folder here")

    monkeypatch.setattr(agenda.store, "BUILD_RETRY_SECONDS", 0.5)

    client = create_app(config).test_client()

    assert client.get("/events.json").get_data() == before
    health = client.get("/healthz").get_data(as_text=True)
    assert f"site folder: {root / older}\n" in health
    assert "problem: impossible de construire le site de la version 1" in health
    assert client.get("/healthz?strict=1").status_code == 503
    target.unlink()  # room again: tried again, the folder of this release is built
    time.sleep(0.6)
    assert client.get("/healthz?strict=1").get_data(as_text=True).splitlines()[1] == \
        f"site folder: {target}"


def test_another_release_serving_the_same_data_folder_is_said_and_a_restart_takes_it_back(
    tmp_path: Path,
) -> None:
    # A release tried beside production without its own AGENDA_SITE: each builds its own
    # folders, points `current` (what nginx serves) at them and removes the other's. The
    # one whose folder was taken away said nothing: /healthz named a folder gone.
    path = data_folder(tmp_path)
    config = {"AGENDA_DATA": str(path), "AGENDA_NOW": NOW, "AGENDA_WATCH": False,
              "TESTING": True}
    client = create_app(config).test_client()
    root = path.with_name("sessions.site")
    ours = os.readlink(root / CURRENT)
    theirs = ours[:-8] + "0the0r00"  # the same version, as another release names it
    shutil.copytree(root / ours, root / theirs, symlinks=True)
    os.symlink(theirs, root / ".link")
    os.replace(root / ".link", root / CURRENT)

    health = client.get("/healthz?strict=1")

    assert health.status_code == 503
    told = french(
        "{folder} was built by another release of agenda, which serves this data folder too: "
        "each removes the other's folders; give one its own AGENDA_SITE, then restart agenda",
        folder=root / theirs)
    assert f"problem: {told}\n" in health.get_data(as_text=True)
    again = create_app(config).test_client()  # the other one stopped, this one restarted
    assert os.readlink(root / CURRENT) == ours
    assert told not in again.get("/healthz").get_data(as_text=True)


# A service started from a copy of the package, which the test then upgrades in place, as
# `git pull` in /srv/agenda/app does under a running service (an editable install).
SERVE_THEN_READ = """
import sys
from agenda import create_app
client = create_app({"AGENDA_DATA": sys.argv[1], "AGENDA_NOW": sys.argv[2],
                     "AGENDA_WATCH": False, "AGENDA_SETTLE": 0}).test_client()
print(client.get("/healthz").status_code, flush=True)
sys.stdin.readline()  # the package and the schedule are changed meanwhile
health = client.get("/healthz?strict=1")
print(health.status_code, health.get_data(as_text=True).replace(chr(10), " | "))
print(client.get("/").get_data(as_text=True).replace(chr(10), " "))
"""


def test_a_service_whose_package_is_upgraded_on_disk_builds_nothing_until_restarted(
    tmp_path: Path,
) -> None:
    # Between `git pull` and `systemctl restart agenda`, the old code read the new templates
    # and static files from disk: a folder built then (an edit, a session ending) mixed two
    # releases under the old one's name, which a rollback to it would serve again as its own.
    package = tmp_path / "app" / "agenda"
    shutil.copytree(ROOT / "src" / "agenda", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = data_folder(tmp_path)
    shutil.copyfile(published_path(SEVERAL), published_path(path))
    env = dict(os.environ, PYTHONPATH=str(package.parent))
    command = [sys.executable, "-c", SERVE_THEN_READ, str(path), NOW]
    service = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert service.stdout is not None and service.stdin is not None
    assert service.stdout.readline() == "200\n"
    template = package / "templates" / "base.html"
    template.write_text(template.read_text("utf-8").replace(
        "</body>", "<!-- the new release -->\n</body>"), "utf-8")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Matinales d’essai", "Matinales", 1), "utf-8")
    service.stdin.write("go\n")
    service.stdin.close()
    health, page = service.stdout.read().splitlines()
    assert service.wait(timeout=60) == 0

    told = french("agenda or tzdata changed on disk ({package}) since this process started: "
                  "restart it (systemctl restart agenda)", package=package)
    assert health.startswith("503 ") and told in health, health
    assert "the new release" not in page
    site_files = path.with_name("sessions.site").rglob("*.html")
    assert [p for p in site_files if "the new release" in p.read_text("utf-8")] == []
    restarted = subprocess.run(command, env=env, input="\n", capture_output=True, text=True,
                               timeout=60, check=True).stdout.splitlines()
    assert restarted[1].startswith("200 ") and "the new release" in restarted[2]


def test_a_build_killed_by_a_reboot_leaves_no_folder_once_another_process_has_its_pid(
    tmp_path: Path,
) -> None:
    # A reboot in the middle of a build (the full build of a start, a publication): its
    # temporary folder is named after its pid, which after the boot another process has (the
    # same service, started at the same point of the boot): taken for a build under way, it
    # was never removed, a full copy of the site a reboot, until the disk filled up.
    path = data_folder(tmp_path)
    shutil.copyfile(published_path(SEVERAL), published_path(path))
    root = path.with_name("sessions.site")
    other = subprocess.Popen(["sleep", "60"])  # has the pid since the boot
    before_boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME) - 60
    left = [root / f".v1-0123456789-1614553200-0123abcd.{other.pid}.tmp",
            tmp_path / f".export.{other.pid}.tmp"]
    try:
        for folder in left:
            (folder / "events").mkdir(parents=True)
            os.utime(folder, (before_boot, before_boot))
        under_way = root / f".v2-0123456789-1614553200-0123abcd.{other.pid}.tmp"
        under_way.mkdir()  # made since the boot: a build under way, left alone
        config = {"AGENDA_DATA": str(path), "AGENDA_NOW": NOW, "AGENDA_WATCH": False}
        create_app(config)
        env = {"AGENDA_DATA": str(path), "AGENDA_NOW": NOW}  # as an operator exports
        result = CliRunner(env=env).invoke(main, ["build", str(tmp_path / "export")])
        assert result.exit_code == 0, result.output
    finally:
        other.kill()
    assert [folder for folder in left if folder.exists()] == []
    assert under_way.is_dir()


NOBODY = 65534  # the service's user, as the unit's "agenda" is: not root


@pytest.fixture
def service_folder() -> Iterator[Path]:
    """A data folder that belongs to another user than root, as /srv/agenda/data belongs to
    "agenda" (outside pytest's private tmp folders, which that user could not traverse)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as the operator and as the service")
    folder = Path(tempfile.mkdtemp(prefix="agenda-ops-"))
    try:
        folder.chmod(0o755)
        shutil.copyfile(SEVERAL, folder / "sessions.toml")
        for path in (folder, folder / "sessions.toml"):
            os.chown(path, NOBODY, NOBODY)
        yield folder / "sessions.toml"
    finally:
        shutil.rmtree(folder)


def as_service(*arguments: str, given: str = "") -> subprocess.CompletedProcess[str]:
    """`agenda ARGUMENTS` run as the service's user, `given` on its standard input."""
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
               sys.executable, "-c", "from agenda.cli import main; main()", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, input=given)


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["umask-022", "umask-077"])
def test_a_publication_by_root_leaves_nothing_the_service_cannot_publish_over(
    service_folder: Path, umask: int,
) -> None:
    # A process of root's (a first `sudo agenda serve`, say) creates the lock.
    before = os.umask(umask)
    try:
        with publishing_lock(published_path(service_folder)):
            pass
    finally:
        os.umask(before)
    text = service_folder.read_text(encoding="utf-8")
    service_folder.write_text(text.replace("Matinales d’essai", "Matinales", 1), "utf-8")

    result = as_service("publish", str(service_folder))

    # Nothing on stderr but the note that this first history is one /healthz reports.
    assert result.returncode == 0 and "--new-history" in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    version = read_version(published_path(service_folder), str(service_folder))
    assert version is not None and version.raw == service_folder.read_bytes()  # the edit


def test_a_build_by_root_leaves_no_folder_the_service_cannot_remove(
    service_folder: Path, tmp_path: Path,
) -> None:
    # `sudo agenda build --publish OUT` on the production folder: the site folder it built
    # (and served: `current`) was root's, so the service's pruning could never remove it.
    # As root in another user's data folder, `build` and `publish` refuse and say how.
    text = service_folder.read_text(encoding="utf-8")
    service_folder.write_text(text.replace("Matinales d’essai", "Matinales", 1), "utf-8")

    result = CliRunner().invoke(main, ["build", "--publish", "--data", str(service_folder),
                                       str(tmp_path / "export")])

    assert result.exit_code == 1
    assert f"appartient à un autre utilisateur (uid {NOBODY})" in result.output
    # A way that works as sudo runs it: as another user, AGENDA_DATA dropped.
    assert result.output.endswith(f"sudo -u '#{NOBODY}' env AGENDA_DATA={service_folder} "
                                  "agenda …\n")
    assert CliRunner().invoke(main, ["publish", str(service_folder)]).exit_code == 1
    folders = [p for p in service_folder.parent.rglob("*") if p.is_dir() and not p.is_symlink()]
    assert [p for p in folders if p.stat().st_uid != NOBODY] == []


def test_gunicorn_started_by_root_leaves_no_folder_the_service_cannot_write(
    service_folder: Path,
) -> None:
    # The README's `AGENDA_DATA=… .venv/bin/gunicorn wsgi:app`, typed as root beside the
    # service: the port is taken, but the app loads before gunicorn binds, and it built the
    # site as root, sessions.site/ included: the service could build no folder there again.
    shutil.copyfile(published_path(SEVERAL), published_path(service_folder))
    os.chown(published_path(service_folder), NOBODY, NOBODY)
    env = dict(os.environ, AGENDA_DATA=str(service_folder))
    with socket.create_server(("127.0.0.1", 0)) as taken:  # the service's
        command = [sys.executable, "-m", "gunicorn", "--bind",
                   f"127.0.0.1:{taken.getsockname()[1]}", "wsgi:app"]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60)

    assert result.returncode == 1
    assert says("{folder} belongs to another user (uid {owner}): run this command as that user "
                "(sudo drops AGENDA_DATA), for instance sudo -u '#{owner}' env AGENDA_DATA={path} "
                "agenda …", result.stderr.splitlines()[-2]), result.stderr
    assert [p for p in service_folder.parent.rglob("*") if p.stat().st_uid != NOBODY] == []


def test_editors_added_by_root_are_refused_where_the_service_could_not_read_them(
    service_folder: Path,
) -> None:
    # `sudo agenda editor add …` wrote the editors file as root, readable by root alone:
    # every login to the desk then failed. As root in the service's folder it refuses.
    result = CliRunner().invoke(main, ["editor", "add", "redaction@ceps.example",
                                       "--name", "Rédaction", "--password-stdin",
                                       "--data", str(service_folder)],
                                input="un mot de passe assez long\n")

    assert result.exit_code == 1
    assert f"sudo -u '#{NOBODY}' env AGENDA_DATA={service_folder} agenda …" in result.output
    assert not editors_path(service_folder).exists()
    added = as_service("editor", "add", "redaction@ceps.example", "--name", "Rédaction",
                       "--password-stdin", "--data", str(service_folder),
                       given="un mot de passe assez long\n")
    assert added.returncode == 0, added.stderr
    assert CliRunner().invoke(main, ["editor", "remove", "redaction@ceps.example",
                                     "--data", str(service_folder)]).exit_code == 1


def test_a_data_folder_the_service_cannot_write_stops_the_start_in_french() -> None:
    # The data folder left to root (chown forgotten): the first start can neither publish
    # nor build, and has nothing to serve. It said so with a traceback, under a message
    # claiming the previous folder was still served; the lock's reason was "No such file".
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as the service")
    folder = Path(tempfile.mkdtemp(prefix="agenda-ops-"))
    try:
        folder.chmod(0o755)
        path = folder / "sessions.toml"
        shutil.copyfile(SEVERAL, path)
        path.chmod(0o644)
        served = as_service("serve", "--data", str(path), "--port", str(free_port()))
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   sys.executable, "-c", "import wsgi"]
        loaded = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                cwd=Path(__file__).parents[1], env={"AGENDA_DATA": str(path)})
    finally:
        shutil.rmtree(folder)
    denied = french(os.strerror(errno.EACCES))  # the system's reason, in French too
    for result in (served, loaded):
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert french("cannot create the lock beside {path}: {reason}",
                      path=published_path(path), reason=denied) in result.stderr
        *_, built, last = result.stderr.splitlines()
        built = built.partition("] [CRITICAL] agenda: ")[2] or built  # wsgi's: a log line
        assert says("cannot build the site of {label} in {folder}: {error}", built)
        assert f" {folder / 'sessions.site'} : {denied}" in built
        assert last == french("{error}\nagenda: not starting.", error="").splitlines()[-1]
@contextmanager
def serving(path: Path, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """`agenda serve` as in production (workers watching from their start, 2 s to settle)
    with 2 workers and `settings` in its environment, once its workers run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENDA_")} | settings
    command = [sys.executable, "-c", "from agenda.cli import main; main()", "serve", "--data",
               str(path), "--port", str(free_port()), "--workers", "2"]
    log = path.with_name("log.txt")
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while log.read_text().count("Booting worker") < 2:
            assert time.monotonic() < deadline and server.poll() is None, log.read_text()
            time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def watching_service(tmp_path: Path) -> Iterator[Path]:
    """A service on a copy of the several-sessions folder; yields its site root."""
    path = data_folder(tmp_path)
    with serving(path):
        yield path.with_name("sessions.site")


def served_by_nginx(root: Path, seconds: float = 10) -> bool:
    """Whether the folder nginx serves (`current`) is complete within `seconds`."""
    deadline = time.monotonic() + seconds
    while not (root / CURRENT / "_manifest.jsonl").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_site_folders_removed_by_hand_are_built_again_without_a_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Taken for a cache: nginx answers 404 for every page until the service builds it again,
    # which it must do by itself (nginx sends it no request for them).
    monkeypatch.setenv("AGENDA_WATCH", "1")  # as in production: workers watch
    with deployed(tmp_path, SEVERAL) as (port, _, data):
        assert fetch(port, "/events/printemps")[0] == 200
        # Moved away at once (an rm -rf takes a while, and the watchers may be building
        # again meanwhile): from now on nginx has nothing to serve.
        data.with_name("sessions.site").rename(tmp_path / "removed")
        deadline = time.monotonic() + 10
        while fetch(port, "/events/printemps")[0] != 200:
            assert time.monotonic() < deadline, "nginx still answers 404"
            time.sleep(0.1)


def test_the_current_link_removed_by_hand_is_put_back_without_a_request(
    watching_service: Path,
) -> None:
    name = os.readlink(watching_service / CURRENT)
    (watching_service / CURRENT).unlink()
    assert served_by_nginx(watching_service)
    assert os.readlink(watching_service / CURRENT) == name  # the folder was whole: linked again


def test_a_published_version_that_cannot_be_written_is_said_in_french(tmp_path: Path) -> None:
    # What operators read from `agenda publish` and on /healthz is French, this reason too
    # (a volume not mounted: the folder of $AGENDA_PUBLISHED is missing).
    path = data_folder(tmp_path)
    missing = tmp_path / "volume" / "sessions.published.json"

    result = CliRunner(env={"AGENDA_PUBLISHED": str(missing)}).invoke(main, ["publish", str(path)])

    assert result.exit_code == 1
    reason = french(os.strerror(errno.ENOENT))  # « No such file or directory » was English
    assert result.output.startswith(f"impossible de créer le verrou à côté de {missing} : {reason}")


def test_an_export_pinned_to_another_moment_leaves_what_nginx_serves(tmp_path: Path) -> None:
    # `agenda build --now …` rebuilds an export identically (its help says so); run on the
    # production folder, it pointed `current` at the past: nginx served sessions long ended
    # as upcoming, while the service and /healthz named the folder of the present.
    path = data_folder(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["build", "--data", str(path), str(tmp_path / "a")]).exit_code == 0
    current = path.with_name("sessions.site") / CURRENT
    served = os.readlink(current)

    result = runner.invoke(main, ["build", "--data", str(path), "--now",
                                  "2021-05-17T12:00:00+02:00", str(tmp_path / "b")])

    assert result.exit_code == 0
    assert os.readlink(current) == served


def test_health_dates_a_missing_schedule_file_from_when_it_went_missing(tmp_path: Path) -> None:
    # An editor's tool moved the file away (or a volume is not mounted): /healthz must say
    # since when, not the time of each request.
    path = data_folder(tmp_path)
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    path.unlink()

    first = client.get("/healthz").get_data(as_text=True)
    time.sleep(1.1)
    again = client.get("/healthz").get_data(as_text=True)

    assert "pending since" in first
    assert again == first


def test_health_says_in_french_that_a_file_waits_for_the_desk(tmp_path: Path) -> None:
    path = data_folder(tmp_path)
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_AUTOPUBLISH": False,
                         "AGENDA_WATCH": False, "TESTING": True}).test_client()
    path.write_text(path.read_text("utf-8") + "# edited by hand\n", encoding="utf-8")

    health = client.get("/healthz").get_data(as_text=True)

    assert f"\n  {french('{path}: changed, waits for the desk', path=path)}\n" in health


def test_the_unit_waits_for_the_full_build_an_upgrade_makes_before_ready() -> None:
    # gunicorn says READY=1 after the master loaded the app, which builds the site; after an
    # upgrade nothing is reused (a full build: a minute at 10,000 sessions on two cores).
    # systemd's default 90 s would kill that start, and every restart after it, for good.
    timeout = unit_settings().get("TimeoutStartSec", ["90"])
    assert timeout[-1].endswith("min") and int(timeout[-1].removesuffix("min")) >= 5


def bytes_read(server: subprocess.Popen[bytes]) -> int:
    """What the server's workers have read so far (read(2) calls, files and sockets)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    lines = [Path(f"/proc/{pid}/io").read_text().splitlines() for pid in children]
    return sum(int(line.split()[1]) for found in lines for line in found if line[:6] == "rchar:")


def test_a_file_waiting_for_the_desk_is_not_read_again_until_it_changes(tmp_path: Path) -> None:
    # AGENDA_AUTOPUBLISH=0: a file edited by hand waits for « Publier », maybe for days. Each
    # worker read it whole twice every half second meanwhile (a schedule of 10,000 sessions
    # is megabytes: a core's worth of reading and hashing for nothing).
    path = data_folder(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "# " + "x" * 1_000_000 + "\n", encoding="utf-8")
    with serving(path, AGENDA_AUTOPUBLISH="0") as server:
        path.write_text(text.replace("Matinales d’essai", "Matinales", 1) + "# " + "x" * 1_000_000
                        + "\n", encoding="utf-8")
        time.sleep(1.5)  # seen by both workers' watchers
        before = bytes_read(server)
        time.sleep(2)
        assert bytes_read(server) - before < path.stat().st_size


def published_by_an_older_release(path: Path) -> None:
    """Rewrite the history beside `path` as a release with laxer rules could have written it:
    its text holds a title of 1,200 characters, which this release refuses (1,000 at most)."""
    published = published_path(path)
    document = json.loads(published.read_bytes())
    lines = document["schedule"]["lines"]
    lines[lines.index('title = "Matinales d’essai"')] = f'title = "{"x" * 1200}"'
    document["schedule"]["sha256"] = digest_of("\n".join(lines).encode("utf-8"))
    published.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    mark = mark_path(published)
    mark.write_text(json.dumps(json.loads(mark.read_bytes())
                               | {"sha256": document["schedule"]["sha256"]}), encoding="utf-8")


def test_an_upgrade_with_stricter_rules_lets_the_fixed_file_be_published(tmp_path: Path) -> None:
    # After an upgrade whose loader refuses what the last release published, the service
    # refused to start and `agenda publish` of the corrected file refused too: the only way
    # out, --new-history, starts SEQUENCE again, so subscribers ignore every later change.
    path = data_folder(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    published_by_an_older_release(path)

    result = runner.invoke(main, ["publish", str(path)])

    assert result.exit_code == 0, result.output
    version = read_version(published_path(path), str(path))
    assert version is not None and version.number == 2


def test_a_history_this_release_cannot_load_is_said_in_french_with_the_way_out(
    tmp_path: Path,
) -> None:
    # The file itself still holds the text refused: nothing can be served until it is
    # corrected; the service says so, and how, instead of starting from a new history.
    path = data_folder(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    published_by_an_older_release(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('title = "Matinales d’essai"', f'title = "{"x" * 1200}"'),
                    encoding="utf-8")

    with pytest.raises(PublishedError) as refused:
        create_app({"AGENDA_DATA": str(path), "TESTING": True})
    said = str(refused.value)
    assert said.startswith(f"{published_path(path)} : le texte publié ne se charge plus avec "
                           "cette version d’agenda :\n")
    assert said.endswith("Corrigez le fichier de l’agenda et publiez-le (agenda publish) : son "
                         "historique continue")
    refusal = runner.invoke(main, ["publish", str(path)])  # not corrected yet: the problem
    assert refusal.exit_code == 1 and "1200 caractères" in refusal.output


def test_exports_run_version_after_version_keep_two_site_folders(tmp_path: Path) -> None:
    # Where nothing runs but `agenda build` (a static export, CI), nothing else prunes: each
    # version left a whole folder behind, for ever.
    path = data_folder(tmp_path)
    runner = CliRunner()
    text = path.read_text(encoding="utf-8")
    for title in ("Matinales", "Matinales du jeudi", "Matinales du vendredi"):
        path.write_text(text.replace("Matinales d’essai", title, 1), encoding="utf-8")
        result = runner.invoke(main, ["build", "--publish", "--data", str(path),
                                      str(tmp_path / "export")])
        assert result.exit_code == 0, result.output

    root = path.with_name("sessions.site")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(folders) == 2 and os.readlink(root / CURRENT) in folders


def test_an_export_rebuilt_in_place_is_never_missing_while_the_previous_one_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The daily `agenda build site/` that nginx serves: the previous export was removed
    # (seconds at 90,000 URLs: nginx answered 404 meanwhile) before the new one came in,
    # and a job killed then left no export at all. Killed now while removing the previous.
    path = data_folder(tmp_path)
    out = tmp_path / "export"
    runner = CliRunner()
    assert runner.invoke(main, ["build", "--data", str(path), str(out)]).exit_code == 0
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Matinales d’essai", "Matinales du jeudi", 1), "utf-8")
    remove = shutil.rmtree

    def killed(folder: str | Path, *args: object, **options: object) -> None:
        if Path(folder).parent == tmp_path and (Path(folder) / "_manifest.jsonl").exists():
            raise KeyboardInterrupt  # an export on its way out
        remove(folder, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "rmtree", killed)
    runner.invoke(main, ["build", "--publish", "--data", str(path), str(out)])

    assert "Matinales du jeudi" in (out / "index.html").read_text("utf-8")


def test_an_export_interrupted_or_killed_leaves_nothing_behind_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The daily `agenda build` stopped with Ctrl-C, or killed: its temporary copy (a whole
    # site, 200,000 files, a full copy on another disk) stayed beside the export for ever.
    path = data_folder(tmp_path)
    out = tmp_path / "export"
    runner = CliRunner()
    link = os.link

    def interrupted(source: str, target: str) -> None:
        if target.endswith("index.html"):
            raise KeyboardInterrupt
        link(source, target)

    monkeypatch.setattr(os, "link", interrupted)
    runner.invoke(main, ["build", "--data", str(path), str(out)])
    monkeypatch.setattr(os, "link", link)
    assert not list(tmp_path.glob(".export.*")), "left by Ctrl-C"
    dead = subprocess.Popen(["true"])
    dead.wait()
    for name in (f".export.{dead.pid}.tmp", f".export.{dead.pid}.tmp.old"):  # kill -9
        (tmp_path / name / "events").mkdir(parents=True)
        (tmp_path / name / "events" / "x.html").write_text("x")
    running = tmp_path / f".export.{os.getppid()}.tmp"  # another export, under way
    running.mkdir()
    assert runner.invoke(main, ["build", "--data", str(path), str(out)]).exit_code == 0
    assert (out / "index.html").exists()
    assert list(tmp_path.glob(".export.*")) == [running], "left by kill -9"


def test_a_build_worker_killed_fails_the_build_instead_of_holding_the_lock_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The kernel kills a forked build worker (out of memory, 10,000 sessions on a small
    # machine). The pool starts another but never hands out the slice the dead one held:
    # the build waited for it for ever, under the builder's lock, so every watcher stopped
    # there too (no edit published, no folder of the next period) and /healthz said « ok ».
    if (os.cpu_count() or 1) < 2:
        pytest.skip("on one core, a build renders in its own process, without workers")
    path = data_folder(tmp_path)
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": NOW, "AGENDA_WATCH": False,
                         "AGENDA_SETTLE": 0, "TESTING": True}).test_client()
    parent, card = os.getpid(), cards.session_card

    def killed(*args: object) -> bytes:  # what the OOM killer does to a build worker
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return card(*args)

    monkeypatch.setattr(cards, "session_card", killed)
    text = path.read_text("utf-8")
    path.write_text(text.replace('name = "Agenda d’essai"', 'name = "Agenda"', 1), "utf-8")
    answers: list[str] = []
    asking = threading.Thread(target=lambda: answers.append(
        client.get("/healthz").get_data(as_text=True)), daemon=True)
    asking.start()
    asking.join(30)
    assert answers, "the build still waits for the killed worker's documents"
    assert "un processus de construction a été tué (mémoire épuisée ?) ; le dossier" \
        in answers[0]


def test_a_folder_built_ahead_by_a_pinned_export_is_served_by_nginx_when_its_time_comes(
    tmp_path: Path,
) -> None:
    # `agenda build --now <tomorrow>` (an export prepared ahead) builds tomorrow's folder on
    # the production data folder and leaves `current` as it is. When tomorrow came, the
    # service found that folder built and served it, but never pointed `current` at it:
    # nginx served yesterday's pages (registration open to a session over) until the next
    # edit or moment, while /healthz named the right folder.
    path = data_folder(tmp_path)
    app = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": "2021-03-02T12:00:00+01:00",
                      "AGENDA_WATCH": False, "TESTING": True})
    client = app.test_client()
    result = CliRunner().invoke(main, ["build", "--data", str(path), "--now", NOW,
                                       str(tmp_path / "export")])
    assert result.exit_code == 0, result.output

    app.config["AGENDA_NOW"] = NOW  # its time comes
    health = client.get("/healthz").get_data(as_text=True)

    folder = health.splitlines()[1].removeprefix("site folder: ")
    current = path.with_name("sessions.site") / CURRENT
    assert os.path.realpath(current) == os.path.realpath(folder)
    assert "S’inscrire" not in (current / "events" / "printemps.html").read_text("utf-8")


def test_an_export_into_a_folder_whose_parent_this_user_cannot_write_says_why_in_french(
    tmp_path: Path,
) -> None:
    # The service's user runs the daily export (as root, agenda build refuses the service's
    # data folder) into /var/www/agenda, its own, in root's /var/www. The export is made
    # beside it, then renamed in: the job failed every day on « [Errno 13] Permission
    # denied: '/var/www/.agenda.1234.tmp' », in English, without a way out.
    path = data_folder(tmp_path)
    www = tmp_path / "www"
    (www / "agenda").mkdir(parents=True)
    www.chmod(0o555)
    command = [str(Path(sys.executable).with_name("agenda")), "build", "--data", str(path),
               str(www / "agenda")]
    if os.geteuid() == 0:  # root writes anywhere: as root without that power
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is not installed")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner",
                   "--inh-caps", "-all", "--", *command]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        www.chmod(0o755)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"agenda : impossible de préparer l’export à côté de {www / 'agenda'}, dans {www}, ")
    assert "exportez dans un nouveau dossier à l’intérieur de" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(www.iterdir()) == [www / "agenda"]
