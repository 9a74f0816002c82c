"""Real servers for tests: gunicorn and Debian's nginx on free loopback ports.

nginx tests are skipped with a reason when nginx is missing, except under CI (the
CI variable set), where that is a failure: scripts/test installs it.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROTLI_STATIC = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


def nginx_binary() -> str:
    """Debian's nginx; skip (or fail under CI) when it is not installed."""
    for candidate in ("/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and Path(candidate).exists():
            return candidate
    reason = "nginx not found; run scripts/install-nginx"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: nginx tests may not be skipped)")
    pytest.skip(reason)


def free_port() -> int:
    """A port of 127.0.0.1 free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(
    port: int, path: str, headers: Mapping[str, str] | None = None, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request to 127.0.0.1:port: status, headers, body (as sent, not decoded)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def wait_for(port: int, path: str, process: subprocess.Popen, seconds: float = 20) -> None:
    """Wait until the server answers `path`; fail with its output if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            pytest.fail(f"server exited with {process.returncode}:\n{out}")
        try:
            fetch(port, path)
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"no answer on 127.0.0.1:{port}{path} after {seconds} s")


@contextmanager
def running(command: list[str], port: int, probe: str, **options: object) -> Iterator[None]:
    """Start `command`, wait for it to answer `probe` on `port`, stop it afterwards."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, **options)  # type: ignore[call-overload]
    try:
        wait_for(port, probe, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn(
    data: Path, port: int, workers: int = 2, env: dict[str, str] | None = None,
    access_log: str = "/dev/null",
) -> Iterator[None]:
    """gunicorn with the project's gunicorn.conf.py, serving `data` on 127.0.0.1:port."""
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--access-logfile", access_log, "wsgi:app"]
    env = dict(os.environ, AGENDA_DATA=str(data), **(env or {}))
    with tempfile.TemporaryDirectory() as folder:
        # Site folders of its own unless the test chose some: never the repository's data/.
        env.setdefault("AGENDA_SITE", str(Path(folder) / "site"))
        with running(command, port, "/healthz", cwd=ROOT, env=env):
            yield


def nginx_conf(folder: Path, http_block: str) -> Path:
    """An nginx.conf for a foreground nginx whose files all live in `folder`."""
    module = f"load_module {BROTLI_STATIC};" if BROTLI_STATIC.exists() else ""
    temp = "\n".join(f"    {kind}_temp_path {folder}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, workers would run as "nobody", who cannot read pytest's private tmp folders.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(f"""{module}
{user}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp}
{http_block}
}}
""", encoding="utf-8")
    return conf


@contextmanager
def nginx(folder: Path, http_block: str, port: int, probe: str = "/") -> Iterator[None]:
    """Debian's nginx in the foreground with `http_block`, answering on 127.0.0.1:port."""
    binary = nginx_binary()
    folder.mkdir(parents=True, exist_ok=True)
    conf = nginx_conf(folder, http_block)
    command = [binary, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")]
    with running(command, port, probe):
        yield
