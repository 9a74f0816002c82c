"""Editing the schedule under a real `gunicorn -w 2`, step by step, as an editor would.

After every step, icalendar and recurring-ical-events read /calendar.ics and
feedparser reads /atom.xml over HTTP; the checks: one event per session with
the same UIDs, SEQUENCE growing exactly when a subscriber-visible field
changed, every worker answering the same ETag, and the change entries the
feeds should hold. Slow-ish (real processes): about half a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import icalendar
import recurring_ical_events

from tests.conftest import MINIMAL, ROOT

SETTLE = 0.4
SCHEDULE = MINIMAL + """
[[sessions]]
id = "lyon"
series = "s"
number = 1
city = "Lyon"
start = 2021-06-16T08:45:00
end = 2021-06-16T10:15:00
speakers = [{ name = "Anne Martin", role = "Maire de Lyon" }]
announced = 2021-06-01
description = "Une matinale sur la vile."

[[sessions]]
id = "nantes"
series = "s"
number = 2
city = "Nantes"
start = 2021-07-21T08:45:00
end = 2021-07-21T10:15:00
announced = 2021-07-01
description = "Une matinale à Nantes."

[[sessions]]
id = "lille"
series = "s"
number = 3
city = "Lille"
start = 2021-09-15T08:45:00
end = 2021-09-15T10:15:00
speakers = [{ name = "Paul Durand", role = "Maire de Lille" }]
announced = 2021-09-01
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, AssertionError):  # not there yet (workers still catching up)
            pass
        time.sleep(0.1)
    raise AssertionError("timed out")


class Server:
    """A gunicorn master with two workers serving one folder."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, AGENDA_DATA=str(data), AGENDA_SETTLE=str(SETTLE), AGENDA_WATCH="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "2", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: get(self.url + "/healthz")[0] == 200)

    def workers(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def versions(self, times: int = 8) -> set[str]:
        """The version each of `times` fresh connections is answered from."""
        return {get(self.url + "/healthz")[2].decode().split(",")[0] for _ in range(times)}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)


@contextmanager
def serving(data: Path) -> Iterator[Server]:
    server = Server(data)
    try:
        yield server
    finally:
        server.stop()


def read_calendar(server: Server) -> tuple[dict[str, int], str]:
    """SEQUENCE by UID from /calendar.ics, and its ETag, the same from every answer."""
    answers = [get(server.url + "/calendar.ics") for _ in range(8)]
    etags = {headers["ETag"] for _, headers, _ in answers}
    assert len(etags) == 1, f"workers disagree: {etags}"
    body = answers[0][2]
    calendar = icalendar.Calendar.from_ical(body)
    found = {str(e["UID"]): int(e["SEQUENCE"]) for e in calendar.walk("VEVENT")}
    assert len(found) == len(calendar.walk("VEVENT")), "one event per session"
    occurrences = recurring_ical_events.of(calendar).between(
        datetime(2021, 1, 1), datetime(2022, 1, 1)
    )
    assert len(occurrences) == len(found)
    return found, etags.pop()


def on_version(server: Server, number: int) -> bool:
    """True when every answer comes from version `number`."""
    return all(v.startswith(f"ok: serving version {number} (") for v in server.versions())


def change_entries(server: Server) -> dict[str, tuple[str, datetime]]:
    parsed = feedparser.parse(get(server.url + "/atom.xml")[2])
    assert parsed.bozo == 0
    return {
        e.id: (e.title.split("\u00a0: ")[0], datetime(*e.published_parsed[:6], tzinfo=UTC))
        for e in parsed.entries if "#revision-" in e.id
    }


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_edits_against_a_real_server(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    path = folder / "sessions.toml"
    save(path, SCHEDULE)
    uid = {s: f"{s}@agenda.example.org" for s in ("lyon", "nantes", "lille")}
    sequences = {uid[s]: 0 for s in uid}
    news: dict[str, str] = {}
    text = SCHEDULE
    with serving(path) as server:
        number = 1

        def step(new_text: str, bumped: list[str], entry: tuple[str, str] | None) -> None:
            nonlocal text, number
            started = datetime.now(UTC) - timedelta(seconds=1)
            text = new_text
            save(path, text)
            number += 1
            for session in bumped:
                sequences[uid[session]] += 1
            # Each worker follows the published file within its watcher's period.
            wait_for(lambda: on_version(server, number) and read_calendar(server)[0] == sequences)
            found, _ = read_calendar(server)
            assert found == sequences
            entries = change_entries(server)
            if entry is not None:
                session, kind = entry
                new_id = (f"https://agenda.example.org/events/{session}"
                          f"#revision-{sequences[uid[session]]}")
                news[new_id] = kind
                # Dated at the revision: when it was published, just now.
                assert started <= entries[new_id][1] <= datetime.now(UTC)
            assert {k: v[0] for k, v in entries.items()} == news

        # 1. move a session
        step(text.replace("2021-06-16T08:45", "2021-06-23T09:30")
             .replace("2021-06-16T10:15", "2021-06-23T11:00"), ["lyon"], ("lyon", "Nouvelle date"))
        # 2. cancel one with status alone
        step(text.replace('city = "Nantes"', 'city = "Nantes"\nstatus = "cancelled"'),
             ["nantes"], ("nantes", "Annulé"))
        # 3. add a replay
        step(text.replace('city = "Lille"',
                          'city = "Lille"\nreplay_url = "https://video.example.org/lille"'),
             ["lille"], ("lille", "Replay disponible"))
        # 4. change a speaker seconds after the replay: a correction (the 15-minute rule),
        #    calendars get it, the feeds stay quiet
        step(text.replace("Paul Durand", "Claire Petit"), ["lille"], None)
        # 5. fix a typo: SEQUENCE grows, the feeds stay quiet
        step(text.replace("la vile.", "la ville."), ["lyon"], None)

        served, etag = read_calendar(server)
        # 6. an invalid edit changes nothing that is served
        save(path, text.replace("start = 2021-07-21", "strat = 2021-07-21"))
        wait_for(lambda: "champ strat" in get(server.url + "/healthz")[2].decode())
        assert get(server.url + "/healthz?strict=1")[0] == 503
        assert read_calendar(server) == (served, etag)

        # 7. kill every worker: the new ones serve the published version, not the file
        old_workers = server.workers()
        for pid in old_workers:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len(set(server.workers()) - set(old_workers)) == 2)
        wait_for(lambda: get(server.url + "/healthz")[0] == 200)
        assert read_calendar(server) == (served, etag)

        # 8. remove a published session: refused, with the way out
        save(path, text[: text.index('[[sessions]]\nid = "lille"')])
        wait_for(lambda: "--withdraw lille" in get(server.url + "/healthz")[2].decode())
        assert read_calendar(server) == (served, etag)

        # 9. save slowly in place while subscribers keep asking
        final = text.replace("Une matinale à Nantes.", "Une matinale à Nantes, en ligne.")
        answers: list[tuple[int, int]] = []
        stop = threading.Event()

        def subscribe() -> None:
            while not stop.is_set():
                status, _, body = get(server.url + "/calendar.ics")
                page = get(server.url + "/events/lille")[0]
                answers.append((status, body.count(b"BEGIN:VEVENT"), page))

        watcher = threading.Thread(target=subscribe)
        watcher.start()
        data = final.encode()
        with open(path, "r+b") as handle:
            handle.truncate(0)
            handle.flush()
            for start in range(0, len(data), 150):
                handle.write(data[start:start + 150])
                handle.flush()
                time.sleep(SETTLE / 4)
        number += 1
        sequences[uid["nantes"]] += 1
        wait_for(lambda: read_calendar(server)[0] == sequences)
        stop.set()
        watcher.join()
        assert answers and {a for a in answers} <= {(200, 3, 200)}
        published = json.loads((folder / "sessions.published.json").read_text(encoding="utf-8"))
        assert "\n".join(published["schedule"]["lines"]) == final  # the whole save, never a part
        served, etag = read_calendar(server)

    # 10. restart
    with serving(path) as server:
        assert read_calendar(server) == (served, etag)
        feeds = {p: get(server.url + p) for p in ("/rss.xml", "/atom.xml", "/events/lyon.ics")}

    # 11. a second process on a copy of the folder, elsewhere
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with serving(copy / "sessions.toml") as other:
        assert read_calendar(other) == (served, etag)
        for route, (_, headers, body) in feeds.items():
            _, other_headers, other_body = get(other.url + route)
            assert other_body == body
            assert other_headers["ETag"] == headers["ETag"]


def test_an_older_history_put_back_never_lowers_sequence(tmp_path: Path) -> None:
    # Two changes, an older history put back (a backup, a `git checkout`), an edit, a
    # restart: no answer of either worker ever gives a lower SEQUENCE (issue 16).
    path = tmp_path / "sessions.toml"
    save(path, SCHEDULE)
    lyon = "lyon@agenda.example.org"
    with serving(path) as server:
        first = (tmp_path / "sessions.published.json").read_bytes()
        save(path, SCHEDULE.replace("la vile.", "la ville."))
        wait_for(lambda: read_calendar(server)[0][lyon] == 1)
        save(path, SCHEDULE.replace("la vile.", "la belle ville."))
        wait_for(lambda: read_calendar(server)[0][lyon] == 2)
        (tmp_path / "sessions.published.json").write_bytes(first)
        save(path, SCHEDULE.replace("la vile.", "la très belle ville."))
        deadline = time.monotonic() + 3 * SETTLE + 2
        while time.monotonic() < deadline:
            calendar = icalendar.Calendar.from_ical(get(server.url + "/calendar.ics")[2])
            (event,) = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == lyon]
            assert int(event["SEQUENCE"]) == 2
        assert (tmp_path / "sessions.published.json").read_bytes() == first  # not built on
    # A restart refuses the older history rather than serve SEQUENCE 1.
    env = dict(os.environ, AGENDA_DATA=str(path))
    started = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{free_port()}",
         "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert started.returncode != 0
    assert "plus ancien que la version 3" in started.stderr
    assert "agenda publish --new-history" in started.stderr
