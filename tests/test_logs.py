"""What the operator's log says (journald, a shared log service) as things go wrong, and what it
must never hold: one line per fault, each naming what and where, no line a request or a
schedule file can forge, no secret."""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from agenda import create_app, site
from agenda.cli import main
from agenda.published import published_path
from tests.conftest import ROOT, SEVERAL, SHIPPED
from tests.servers import fetch, free_port, gunicorn
from tests.test_cli import french
from tests.test_desk import EMAIL, SECRET, add_editor, login, post, publish
from tests.test_operations import published_by_an_older_release, serving
from tests.test_site_folders import app_on, data_copy

# One line of gunicorn's access log, as its default format writes it.
ACCESS_LINE = re.compile(r'127\.0\.0\.1 - - \[[^\]]+\] "GET \S+ HTTP/1\.1" \d{3} \d+ "-" "[^"]*"')


def test_a_path_with_line_breaks_cannot_forge_a_line_of_the_access_log(tmp_path: Path) -> None:
    # The line of a personal link is written without its signature; the path before it, as
    # the request sent it (%0D%0A), never decoded into a line break or a terminal escape.
    path = data_copy(tmp_path)
    access, port = tmp_path / "access.log", free_port()
    forged = ("/events/x%0D%0A127.0.0.1%20-%20-%20%22GET%20forged%22%1B%5B2J/private/"
              "signature?email=anne%40example.org")
    with gunicorn(path, port, workers=1, access_log=str(access)):
        assert fetch(port, forged)[0] == 403
    lines = access.read_text(encoding="utf-8").splitlines()
    assert [ACCESS_LINE.fullmatch(line) is not None for line in lines] == [True, True], lines
    assert all(line.isprintable() for line in lines)
    assert "signature" not in lines[1] and "anne" not in lines[1]


def test_the_access_log_says_the_bytes_of_each_answer(tmp_path: Path) -> None:
    # The files of the site folder went out whole but were logged as 0 bytes (gunicorn's
    # sendfile path counts none): an operator reading « 200 0 » looks for empty answers.
    path = data_copy(tmp_path)
    access, port = tmp_path / "access.log", free_port()
    with gunicorn(path, port, workers=1, access_log=str(access)):
        sizes = {p: len(fetch(port, p)[2]) for p in ("/calendar.ics", "/rss.xml", "/healthz")}
        time.sleep(0.5)  # the log line follows the answer
    logged = {m[1]: int(m[2]) for m in re.finditer(r'"GET (\S+) HTTP/1\.1" 200 (\d+)',
                                                    access.read_text(encoding="utf-8"))}
    assert logged == sizes and all(sizes.values()), (logged, sizes)


def typo(path: Path) -> None:
    """Make the schedule at `path` invalid as an editor's typo would: a misspelt field name."""
    path.write_text(path.read_text(encoding="utf-8").replace("start =", "strat =", 1),
                    encoding="utf-8")


def logged(log: Path, words: str = "not published", times: int = 1, seconds: float = 15) -> None:
    """Wait until the service's `log` holds `words` `times` times."""
    deadline = time.monotonic() + seconds
    while log.read_text(encoding="utf-8").count(words) < times:
        assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
        time.sleep(0.1)


def test_a_schedule_value_with_line_breaks_cannot_forge_a_line_of_the_service_log(
    tmp_path: Path,
) -> None:
    # An id with a line break and a terminal escape (typed or pasted by an editor) is refused;
    # the problem that quotes it stays on its own line of the log, with its level.
    path = data_copy(tmp_path)
    log = path.with_name("log.txt")
    with serving(path, AGENDA_SETTLE="0.2"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('id = "automne"', 'id = "automne\\u001b[2J\\nFORGED"'),
                        encoding="utf-8")
        logged(log)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if "FORGED" in line and not line.startswith("[")] == []
    assert all(line.isprintable() for line in lines)
    (said,) = {line.partition("] agenda.store: ")[2] for line in lines if "not published" in line}
    assert said.startswith(f"{path} is not published: {path}, ")


def test_health_and_check_say_a_refused_value_on_one_line(tmp_path: Path) -> None:
    # /healthz is read by monitors matching its `problem:` lines: a value cannot add one.
    path = data_copy(tmp_path)
    client = app_on(path).test_client()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('id = "automne"', 'id = "automne\\u001b[2J\\nproblem: none"'),
                    encoding="utf-8")
    health = client.get("/healthz").get_data(as_text=True).splitlines()
    assert [line for line in health if line.startswith("problem:")] == []
    assert all(line.isprintable() for line in health)

def test_a_site_folder_that_cannot_be_built_again_is_said_once_not_at_each_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    # The site folders removed by hand, and a file in the way of building them again (a full
    # disk does the same): each request answers 503; the log says so once, and the store does
    # not start a build for each request meanwhile.
    path = data_copy(tmp_path)
    client = app_on(path).test_client()
    assert client.get("/events/automne").status_code == 200
    builds = []

    def full(*args: object) -> None:
        builds.append(args)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(site, "build", full)
    root = path.with_name("sessions.site")
    for folder in root.iterdir():
        if folder.is_dir() and not folder.is_symlink():
            for file in folder.rglob("*.html"):
                file.unlink()
    caplog.clear()
    for _ in range(5):
        assert client.get("/events/automne").status_code == 503
    assert len(builds) == 1
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 2, caplog.text

def test_a_missing_secret_is_said_once_not_at_each_personal_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    # A crawler following old personal links would write a line per request, for ever.
    caplog.set_level(logging.INFO)
    client = create_app({"AGENDA_DATA": str(data_copy(tmp_path)), "AGENDA_SECRET": "",
                         "TESTING": True}).test_client()
    for attempt in range(5):
        assert client.get(f"/events/automne/private/guess{attempt}").status_code == 403
    (said,) = [r for r in caplog.records if "AGENDA_SECRET" in r.getMessage()]
    assert said.levelno == logging.WARNING
    assert said.getMessage().isascii()  # English, for the operator



def test_a_history_put_back_from_another_release_is_said_on_lines_of_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    # Its reason spans lines (the problems of the text it holds, then the way out): in journald
    # each of them was a line of its own, without level or source, and on /healthz the lines
    # after the first stood alone, where monitors read `problem:` lines.
    path = data_copy(tmp_path)
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    published_by_an_older_release(path)
    health = client.get("/healthz").get_data(as_text=True).splitlines()
    assert health[2].startswith(f"problem: {published_path(path)} : le texte publié ne se charge")
    assert [line for line in health[3:] if not line.startswith("  ")] == []
    said = [r.getMessage() for r in caplog.records if "ne se charge plus" in r.getMessage()]
    assert len(said) == 1 and "\n" not in said[0]


def _desk(tmp_path: Path) -> FlaskClient:
    """A client logged into the desk of a copy of the shipped schedule, with its history."""
    schedule = tmp_path / "sessions.toml"
    shutil.copy(SHIPPED, schedule)
    shutil.copy(published_path(SHIPPED), published_path(schedule))
    add_editor(schedule)
    client = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET, "TESTING": True,
                         "AGENDA_DESK_SECURE": False}).test_client()
    login(client)
    return client


def test_a_publication_from_the_desk_says_what_changed_as_any_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    # The one line of a publication says the sessions changed and what the feeds announce;
    # from the desk it said the version alone: which editor moved what was not in the log.
    caplog.set_level(logging.INFO)
    client = _desk(tmp_path)
    assert post(client, "/desk/seances/clermont-ferrand/reporter", {
        "start": "2027-03-17T08:45", "end": "2027-03-17T10:15"})[0] == 302
    assert publish(client, "annonce") == 302
    (said,) = [r.getMessage() for r in caplog.records if " published version 2" in r.getMessage()]
    assert said.startswith(f"desk: {EMAIL} published version 2 (")
    assert said.endswith("the feeds announce: clermont-ferrand rescheduled")


def test_the_desk_logs_a_file_it_cannot_write_in_english_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    # The editor reads French (the page); the operator's line was the same French sentence
    # after an English « desk: », one message in two languages, the system's words lost.
    client = _desk(tmp_path)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre"})[0] == 302
    lock = tmp_path / ".sessions.published.json.lock"
    lock.unlink()
    lock.mkdir()  # in the way, as a read-only or full disk would be
    assert publish(client) == 503
    (said,) = [r.getMessage() for r in caplog.records if r.name == "agenda.desk.views"
               and r.levelno == logging.ERROR]
    assert said.isascii() and str(lock) in said, said


def journald_priorities(log: Path) -> list[tuple[int, str]]:
    """The lines of a stream as journald files them (SyslogLevelPrefix=): a leading <N> is the
    priority, taken off; a line without one is at the stream's default, info (6)."""
    lines = log.read_text(encoding="utf-8").splitlines()
    return [(int(m[1]), m[2]) if (m := re.fullmatch(r"<([0-7])>(.*)", line)) else (6, line)
            for line in lines]


def test_under_systemd_each_line_is_filed_at_its_level_in_the_journal(tmp_path: Path) -> None:
    # Every line reached journald at « info »: `journalctl -p err -u agenda` showed nothing
    # when an edit was refused. Under systemd (JOURNAL_STREAM names stderr's device and inode)
    # each line says its priority, sd-daemon's way; elsewhere lines stay as they were.
    path = data_copy(tmp_path)
    log = path.with_name("log.txt")
    log.touch()
    info = log.stat()
    with serving(path, AGENDA_SETTLE="0.2", JOURNAL_STREAM=f"{info.st_dev}:{info.st_ino}"):
        typo(path)
        logged(log)
    filed = journald_priorities(log)
    assert {p for p, line in filed if "not published" in line} == {3}, filed
    assert {p for p, line in filed if "Booting worker" in line or "serving version" in line} \
        == {6}, filed
    assert all(line.startswith(("[", "agenda")) for _p, line in filed), filed


def test_under_systemd_a_start_refused_is_filed_as_critical(tmp_path: Path) -> None:
    # The unit's `gunicorn wsgi:app` on an invalid schedule: why it does not start was « info ».
    path = data_copy(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("start =", "strat =", 1),
                    encoding="utf-8")
    (path.parent / "sessions.published.json").unlink()
    log = tmp_path / "log.txt"
    with open(log, "w") as out:
        stream = os.fstat(out.fileno())
        env = dict(os.environ, AGENDA_DATA=str(path),
                   JOURNAL_STREAM=f"{stream.st_dev}:{stream.st_ino}")
        started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                                 stderr=out, timeout=60)
    assert started.returncode == 1
    filed = journald_priorities(log)
    assert [p for p, _line in filed] == [2] * len(filed), filed
    assert any("strat" in line for _p, line in filed), filed


def test_a_data_folder_removed_while_serving_says_its_history_is_gone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    # The whole data folder removed (a wrong `rm -r`, a volume unmounted): the log said
    # « resolved: new-history », as if an operator had confirmed it, and nothing of the history.
    caplog.set_level(logging.INFO)
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "sessions.toml"
    shutil.copyfile(SEVERAL, path)  # a first start: its history is new
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    assert client.get("/healthz").status_code == 200
    caplog.clear()
    shutil.rmtree(folder)
    health = client.get("/healthz?strict=1")
    assert health.status_code == 503
    said = [r.getMessage() for r in caplog.records]
    assert [m for m in said if m.startswith("resolved")] == [], said
    (gone,) = [r.getMessage() for r in caplog.records if str(published_path(path)) in
               r.getMessage() and r.levelno == logging.ERROR]
    assert f"problem: {gone}" in health.get_data(as_text=True).splitlines()


@contextmanager
def full_disk(folder: Path) -> Iterator[Path]:
    """`folder`, a small tmpfs (root only) filled but for a few kilobytes."""
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (folder / "filler").write_bytes(b"\0" * (shutil.disk_usage(folder).free - 16_000))
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


@pytest.mark.parametrize("full", ["data", "export"])
def test_a_build_on_a_full_disk_says_on_one_line_which_folder(tmp_path: Path, full: str) -> None:
    # `agenda build OUTDIR`, the disk of its site folders full, said « plus de place sur le
    # disque : libérez-en » and no folder; OUTDIR's full, a line of 30,000 characters listing
    # each file, and the advice to give this user the right to write there.
    with full_disk(tmp_path / "small") as small:
        data = small if full == "data" else tmp_path
        path = data / "sessions.toml"
        shutil.copyfile(SEVERAL, path)
        shutil.copyfile(published_path(SEVERAL), published_path(path))
        outdir = (tmp_path if full == "data" else small) / "out"
        result = CliRunner().invoke(main, ["build", "--data", str(path), str(outdir)])
    (said,) = result.stderr.splitlines()
    assert result.exit_code == 1 and len(said) < 300, said
    assert french(os.strerror(errno.ENOSPC)) in said
    assert str(small / ("sessions.site" if full == "data" else ".out")) in said
    assert "droit" not in said


def test_each_problem_of_an_edit_is_said_once_not_by_each_worker(tmp_path: Path) -> None:
    # 2 × cores + 1 workers each watch the file: each wrote the same problem, 5 copies of it
    # after one invalid save on 2 cores; one process of the service says it now.
    path = data_copy(tmp_path)
    log = path.with_name("log.txt")
    with serving(path, AGENDA_SETTLE="0.2"):
        typo(path)
        logged(log)
        time.sleep(2)  # the other worker polls every 0.1 s
        # The worker that said it killed (out of memory?): another says the next problem.
        (speaker,) = re.findall(r"\] \[(\d+)\] \[ERROR\]", log.read_text(encoding="utf-8"))
        os.kill(int(speaker), signal.SIGKILL)
        path.write_text(path.read_text(encoding="utf-8").replace("strat =", "sart =", 1),
                        encoding="utf-8")
        logged(log, "sart")
        time.sleep(2)
        path.write_text(path.read_text(encoding="utf-8").replace("sart =", "start =", 1)
                        + "# a valid edit\n", encoding="utf-8")
        logged(log, "serving version 2", times=2)
    text = log.read_text(encoding="utf-8")
    assert text.count("not published") == 2 and text.count("sart") == 1, text
    assert text.count("] agenda.store: published version 2") == 1, text
