"""HTTP benchmark with wrk, and build time and memory of the static export; writes BENCHMARKS.md.

Run through bench/serving.sh (installs wrk and nginx). Everything is measured in
one run, side by side, on 127.0.0.1 only, each load bounded in time:
- the floor: a minimal Flask app on gunicorn (2 sync workers) returning the
  bytes of our /calendar.ics (bench/floor.py);
- our app on gunicorn with gunicorn.conf.py and the same 2 workers:
  /calendar.ics 200, 304 and gzip, the agenda page, /healthz;
- nginx serving the static export of the same schedule.
Then `agenda build` of 12, 1,000 and 10,000 sessions (wall time, peak RSS) and
the gzip ratio of the feed. Loads and servers share the machine's cores, so the
figures that matter are ratios between targets measured in the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import schedule_text  # noqa: E402
from tests.servers import free_port, nginx, running  # noqa: E402

NOW = "2021-05-17T12:00:00+02:00"
SHIPPED = ROOT / "data" / "sessions.toml"
PYTHON = sys.executable


def wrk(port: int, path: str, seconds: int, headers: dict[str, str] | None = None) -> float:
    """Requests per second that wrk measures (-t2 -c16) against 127.0.0.1:port/path."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         timeout=seconds + 30).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"bench: {path} answered errors under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def gunicorn_command(port: int, target: str, *extra: str) -> list[str]:
    return [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--access-logfile", "/dev/null", *extra, target]


def http_part(folder: Path, seconds: int, rounds: int) -> list[tuple[str, float]]:
    """(what, answers per second) for every target, best of `rounds` interleaved rounds."""
    from agenda import create_app
    from agenda.export import export

    site = folder / "site"
    app = create_app({"AGENDA_DATA": str(SHIPPED), "AGENDA_NOW": NOW,
                      "AGENDA_BODIES": str(folder / "bodies.sqlite")})
    export(app, site)
    client = app.test_client()
    etag = client.get("/calendar.ics").headers["ETag"]
    gz_etag = client.get("/calendar.ics", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    floor_port, app_port, nginx_port = free_port(), free_port(), free_port()
    env = dict(os.environ, AGENDA_DATA=str(SHIPPED), FLOOR_BODY=str(site / "calendar.ics"),
               AGENDA_BODIES=str(folder / "bodies.sqlite"))
    empty = folder / "empty.conf.py"
    empty.write_text("")
    with ExitStack() as stack:
        stack.enter_context(running(
            gunicorn_command(floor_port, "bench.floor:app", "--config", str(empty)),
            floor_port, "/calendar.ics", cwd=ROOT, env=env))
        stack.enter_context(running(gunicorn_command(app_port, "wsgi:app"), app_port,
                                    "/healthz", cwd=ROOT, env=env))
        block = (f"server {{ listen 127.0.0.1:{nginx_port}; root {site}; "
                 f"include {site}/_nginx/agenda-static.conf; }}")
        stack.enter_context(nginx(folder / "nginx", block, nginx_port, "/calendar.ics"))
        targets = [
            ("floor: minimal Flask app, same bytes", floor_port, "/calendar.ics", {}),
            ("our /calendar.ics, 200", app_port, "/calendar.ics", {}),
            ("our /calendar.ics, 304", app_port, "/calendar.ics", {"If-None-Match": etag}),
            ("our /calendar.ics, gzip", app_port, "/calendar.ics",
             {"Accept-Encoding": "gzip"}),
            ("our /calendar.ics, gzip 304", app_port, "/calendar.ics",
             {"Accept-Encoding": "gzip", "If-None-Match": gz_etag}),
            ("our agenda page /", app_port, "/", {}),
            ("our /healthz", app_port, "/healthz", {}),
            ("nginx on the export, /calendar.ics", nginx_port, "/calendar.ics", {}),
        ]
        for _, port, path, headers in targets:  # warm every cache once
            wrk(port, path, 1, headers)
        best: dict[str, float] = {}
        for _ in range(rounds):
            for name, port, path, headers in targets:
                best[name] = max(best.get(name, 0.0), wrk(port, path, seconds, headers))
    return [(name, best[name]) for name, *_ in targets]


def _measured(command: list[str], limit: int) -> tuple[str | None, float]:
    """Standard output of `command` (None: stopped after `limit` s) and its peak MiB."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               cwd=ROOT)
    finished = False
    while True:  # os.wait4: the peak memory of this very process, not of all children
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            finished = True
            break
        if time.perf_counter() - start > limit:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.05)
    output = process.stdout.read().decode() if process.stdout else ""
    if finished and os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed")
    return (output if finished else None), usage.ru_maxrss / 1024


def version_part(size: int, limit: int) -> tuple[float | None, float | None, float]:
    """Seconds of a full build and of a one-session edit of `size` sessions, and peak MiB."""
    output, peak = _measured([PYTHON, str(ROOT / "bench" / "versions.py"), str(size)], limit)
    if output is None:
        return None, None, peak
    figures = json.loads(output.strip().splitlines()[-1])
    return figures["full"], figures["edit"], peak


def build_part(folder: Path, size: int, limit: int) -> tuple[float | None, float]:
    """Seconds and peak MiB of `agenda build` for `size` sessions (None: over `limit` s)."""
    data = folder / f"sessions-{size}.toml"
    data.write_text(schedule_text(size), encoding="utf-8")
    command = [str(Path(PYTHON).parent / "agenda"), "build", str(folder / f"site-{size}"),
               "--data", str(data), "--now", "2030-01-01T00:00:00+00:00"]
    start = time.perf_counter()
    output, peak = _measured(command, limit)
    return (time.perf_counter() - start if output is not None else None), peak


def gzip_ratio(size: int | None) -> tuple[int, int]:
    """Bytes of the feed of `size` sessions (None: the shipped file), plain and gzip."""
    from agenda import create_app
    from agenda.encoding import gzip_bytes

    with tempfile.TemporaryDirectory() as folder:
        path = SHIPPED
        if size is not None:
            path = Path(folder) / "s.toml"
            path.write_text(schedule_text(size), encoding="utf-8")
        app = create_app({"AGENDA_DATA": str(path),
                          "AGENDA_BODIES": str(Path(folder) / "bodies.sqlite")})
        body = app.test_client().get("/calendar.ics").data
    assert gzip.decompress(gzip_bytes(body)) == body
    return len(body), len(gzip_bytes(body))


def mark(met: bool) -> str:
    return "met" if met else "**missed**"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds, best kept")
    parser.add_argument("--sizes", default="12,1000,10000")
    parser.add_argument("--build-limit", type=int, default=300,
                        help="seconds after which a build is stopped and reported missed")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/serving.sh` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, wrk -t2 -c16, {args.seconds} s per run, best of "
        f"{args.rounds} interleaved rounds. The load generator and the servers share the "
        "CPUs, and other work on the machine adds noise: compare rows of one run, not runs.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rates = http_part(folder, args.seconds, args.rounds)
        floor = rates[0][1]
        lines += ["## Answers per second (shipped schedule, 2 gunicorn sync workers)", "",
                  "| what was served | answers per second | × floor |", "|---|---:|---:|"]
        lines += [f"| {name} | {rate:,.0f} | {rate / floor:.2f} |" for name, rate in rates]
        cached = dict(rates)["our /calendar.ics, 200"] / floor
        sizes = [int(s) for s in args.sizes.split(",")]
        versions = [(size, *version_part(size, args.build_limit)) for size in sizes]
        builds = [(size, *build_part(folder, size, args.build_limit)) for size in sizes]

    def seconds(value: float | None) -> str:
        return f"{value:.1f} s" if value is not None else f"> {args.build_limit} s (stopped)"

    lines += ["", "## A version: first publication and every body built, then a one-session edit",
              "", "Measured in a process of its own per size (`bench/versions.py`): the full "
              "build publishes the file and builds every page, feed, JSON and .ics with its "
              "gzip and brotli forms (the social cards are drawn on first request); the edit "
              "publishes a new revision of one session and builds what may differ.", "",
              "| sessions | full build | one-session edit | edit / full | peak memory |",
              "|---:|---:|---:|---:|---:|"]
    for size, full, edit, peak in versions:
        ratio = f"{edit / full:.0%}" if full and edit is not None else "—"
        lines.append(f"| {size:,} | {seconds(full)} | "
                     f"{seconds(edit) if full else '—'} | {ratio} | {peak:.0f} MiB |")
    lines += ["", "## `agenda build` (the whole static export, .gz and .br included)", "",
              "| sessions | wall time | peak memory |", "|---:|---:|---:|"]
    for size, wall, peak in builds:
        lines.append(f"| {size:,} | {seconds(wall)} | {peak:.0f} MiB |")
    feeds = [("shipped schedule", gzip_ratio(None)), ("1,000 sessions", gzip_ratio(1000))]
    lines += ["", "## gzip of the subscription feed", "",
              "| feed | bytes | gzip | smaller by |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {plain:,} | {packed:,} | {1 - packed / plain:.0%} |"
              for name, (plain, packed) in feeds]
    big = max(versions, key=lambda b: b[0])
    edits = [(size, full, edit) for size, full, edit, _ in versions if full and edit is not None]
    edit_shown = ", ".join(f"{edit / full:.0%} ({size:,} sessions)" for size, full, edit in edits)
    # The target: a one-session edit in a 10,000-session schedule (the largest size).
    largest = [(size, full, edit) for size, full, edit in edits if size == max(sizes)]
    edit_met = bool(largest) and all(edit <= 0.1 * full for _, full, edit in largest)
    big_feed = feeds[1][1]
    lines += [
        "", "## Targets", "",
        "| target | goal | measured | status |", "|---|---|---|---|",
        f"| cached feed | ≥ 0.9× the floor | {cached:.2f}× | {mark(cached >= 0.9)} |",
        f"| peak memory, {big[0]:,} sessions | ≤ 150 MB (143 MiB) | {big[3]:.0f} MiB"
        f"{'' if big[1] is not None else ' (build stopped)'} | "
        f"{mark(big[3] <= 150e6 / 2**20 and big[1] is not None)} |",
        f"| one-session edit, {max(sizes):,} sessions | ≤ 10% of a full build | "
        f"{edit_shown or '—'} | "
        f"{mark(edit_met)} |",
        f"| gzip | ≥ 75% smaller on the feed | {1 - big_feed[1] / big_feed[0]:.0%} "
        f"(1,000 sessions) | {mark(big_feed[1] <= 0.25 * big_feed[0])} |",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
