"""Deployment as shipped (issue 16): the systemd unit lets the service write what it writes,
`agenda serve` works from any folder, nginx's port 80 does not tell its version."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import zoneinfo
from pathlib import Path

import pytest

from agenda import gunicorn_conf
from tests.conftest import ROOT, SEVERAL
from tests.servers import fetch, free_port, nginx, running
from tests.test_cli import says

UNIT = ROOT / "deploy" / "agenda.service"


def unit_settings() -> dict[str, list[str]]:
    """Every Key=Value of the unit, values of a key repeated in order."""
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_unit_lets_the_service_write_its_data_folder() -> None:
    settings = unit_settings()
    environment = dict(v.split("=", 1) for v in settings["Environment"])
    data = Path(environment["AGENDA_DATA"]).parent
    writable = [Path(p) for v in settings["ReadWritePaths"] for p in v.split()]
    read_only = [Path(p) for v in settings.get("ReadOnlyPaths", []) for p in v.split()]
    assert settings["ProtectSystem"] == ["strict"]
    # The history, its lock, mark and temporaries, the site folders: all beside the schedule.
    assert data in writable
    # A read-only path may hold the data folder only if the writable one is more precise.
    for path in read_only:
        assert not data.is_relative_to(path) or any(
            data.is_relative_to(w) and w.is_relative_to(path) and w != path for w in writable)


def test_the_unit_reads_the_secret_from_a_file_only_root_reads() -> None:
    # The key to every private video link: in an Environment= line, any local user would
    # read it (the unit file is world-readable; `systemctl show agenda` prints it).
    settings = unit_settings()
    assert settings["EnvironmentFile"] == ["-/etc/agenda/agenda.env"]
    assert [v for v in settings["Environment"] if v.startswith("AGENDA_SECRET")] == []


def test_the_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The binaries and user of the server do not exist here: only they are swapped.
    text = UNIT.read_text(encoding="utf-8")
    text = re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", text, flags=re.M)
    text = re.sub(r"^(User|Group)=.*$", r"\1=root", text, flags=re.M)
    copy = tmp_path / "agenda.service"
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_new_time_zone_rules_restart_the_service(tmp_path: Path) -> None:
    """unattended-upgrades installs tzdata on its own: the rules are part of the release, and
    the service built no folder with them until someone restarted it (nobody does)."""
    path, service = (ROOT / "deploy" / f"agenda-tzdata.{kind}" for kind in ("path", "service"))
    watched = re.findall(r"^PathChanged=(\S+)$", path.read_text("utf-8"), re.M)
    # Every tzdata.zi the release is made of (site._release, zoneinfo.TZPATH) where Debian
    # puts it, and this machine has it.
    rules = [Path(p, "tzdata.zi") for p in zoneinfo.TZPATH if Path(p, "tzdata.zi").exists()]
    assert [str(r) for r in rules if str(r) not in watched] == []
    assert "/usr/share/zoneinfo/tzdata.zi" in watched
    restart = re.search(r"^ExecStart=/bin/systemctl try-restart (\S+)$",
                        service.read_text("utf-8"), re.M)
    assert restart is not None and restart.group(1) == UNIT.name
    readme = (ROOT / "README.md").read_text("utf-8")
    assert re.search(rf"cp [^\n]*{path.name} {service.name} /etc/systemd/system/", readme)
    assert re.search(rf"systemctl enable --now [^\n]*{path.name}", readme)
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        for unit in (path, service):
            shutil.copy(unit, tmp_path)
        result = subprocess.run([analyze, "verify", *(str(tmp_path / u.name)
                                                       for u in (path, service))],
                                capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == "", result.stderr


def agenda_command() -> str:
    command = Path(sys.executable).with_name("agenda")
    assert command.exists(), "the project is installed with its `agenda` command"
    return str(command)


def test_agenda_serve_works_from_any_folder(tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    data = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, data)
    env = dict(os.environ)
    command = [agenda_command(), "serve", "--data", str(data), "--port", str(port),
               "--workers", "1"]
    with running(command, port, "/healthz", cwd=folder, env=env):
        status, _, body = fetch(port, "/healthz")
    assert status == 200 and body.startswith(b"ok: serving version 1")


def test_an_operators_settings_file_overrides_the_packaged_one(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, data)
    settings = tmp_path / "site.conf.py"
    settings.write_text(f'bind = ["127.0.0.1:{port}"]\nworkers = 1\n', encoding="utf-8")
    env = dict(os.environ)
    command = [agenda_command(), "serve", "--data", str(data), "--config", str(settings)]
    with running(command, port, "/healthz", cwd=tmp_path, env=env):
        assert fetch(port, "/healthz")[0] == 200


def test_port_80_does_not_tell_the_nginx_version(tmp_path: Path) -> None:
    conf = (ROOT / "deploy" / "nginx" / "agenda.conf").read_text(encoding="utf-8")
    block = conf[conf.index("server {"):conf.index("\n}\n", conf.index("listen 80;")) + 3]
    assert "server_tokens off;" in block
    port = free_port()
    block = block.replace("listen 80;", f"listen 127.0.0.1:{port};")
    block = block.replace("listen [::]:80;", "").replace("/var/www/html", str(tmp_path))
    with nginx(tmp_path / "nginx", block, port):
        status, headers, _ = fetch(port, "/", headers={"Host": "agenda.ceps-oing.org"})
    assert status == 301
    assert headers["Server"] == "nginx"


def test_workers_watch_the_schedule_before_any_request(tmp_path: Path) -> None:
    # Behind nginx, which serves the site folder, a worker may get no request for hours:
    # a saved edit must still be published and built without one. The log says so, and
    # holds no error: the unit's $HOME cannot be written (ProtectHome), gunicorn's control
    # socket went there.
    data = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, data)
    shutil.copyfile(SEVERAL.with_name("several_sessions.published.json"),
                    data.with_name("sessions.published.json"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AGENDA_") and k != "XDG_RUNTIME_DIR"}
    (tmp_path / "not-a-folder").write_text("")
    env.update(AGENDA_DATA=str(data), AGENDA_SITE="", AGENDA_WATCH="1",
               HOME=str(tmp_path / "not-a-folder" / "home"))
    command = [agenda_command(), "serve", "--data", str(data), "--port", str(free_port()),
               "--workers", "2"]
    current = tmp_path / "sessions.site" / "current"
    with open(tmp_path / "log.txt", "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                                  env=env)
    try:
        deadline = time.monotonic() + 30
        while "Booting worker" not in (tmp_path / "log.txt").read_text():
            assert time.monotonic() < deadline and server.poll() is None, "no worker started"
            time.sleep(0.1)
        before = os.readlink(current)
        text = data.read_text(encoding="utf-8")
        data.write_text(text.replace("Le jour où l’on recule l’heure", "Le jour d’après"),
                        encoding="utf-8")
        while os.readlink(current) == before:  # settled (2 s), published, built
            assert time.monotonic() < deadline, "the edit was not published"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert "Le jour d’après" in (current / "events" / "automne.html").read_text("utf-8")
    log = (tmp_path / "log.txt").read_text()
    assert "] agenda.store: published version 2 (" in log
    assert "[ERROR]" not in log


def test_a_port_in_use_is_not_announced_as_served(tmp_path: Path) -> None:
    # A second `agenda serve` on the port of the first: it said « servi sur … » before
    # gunicorn found the port taken, and exited 1 after that.
    data = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, data)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [agenda_command(), "serve", "--data", str(data), "--port", str(port),
                   "--workers", "1"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                cwd=tmp_path)
    assert result.returncode == 1
    assert says("agenda: starting {path} at {binds} with {workers} workers (Ctrl-C to stop)",
                result.stdout.splitlines()[0])
    assert f"Connection in use: ('127.0.0.1', {port})" in result.stderr


def test_a_worker_lives_as_long_as_nginx_waits_for_its_answer() -> None:
    # A desk preview or publication builds in the request, every document when the calendar
    # or its contacts change (a minute at 10,000 sessions): gunicorn killed the worker at
    # 30 s (the editor got a 502, at every try) while nginx would have waited 120 s.
    waits = [int(seconds) for conf in (ROOT / "deploy" / "nginx").glob("*.conf") for seconds in
             re.findall(r"proxy_read_timeout (\d+)s;", conf.read_text(encoding="utf-8"))]
    assert max(waits) == 120
    assert gunicorn_conf.timeout >= max(waits)


def test_agenda_serve_listens_on_an_ipv6_address(tmp_path: Path) -> None:
    # `--host ::` (every address, IPv4 too on Linux) was written `:::8000` for gunicorn,
    # which stopped on « '' is not a valid port number ».
    port = free_port()
    data = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, data)
    command = [agenda_command(), "serve", "--data", str(data), "--host", "::", "--port",
               str(port), "--workers", "1"]
    with running(command, port, "/healthz", cwd=tmp_path, env=dict(os.environ)):
        status, _, body = fetch(port, "/healthz")
        with socket.create_connection(("::1", port), timeout=10):
            pass  # and over IPv6
    assert status == 200 and body.startswith(b"ok: serving version 1")
