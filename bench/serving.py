"""The whole benchmark in one run: HTTP with wrk, versions and builds, compression; BENCHMARKS.md.

Run through bench/serving.sh (installs wrk and nginx). Everything is measured in
one run, side by side, on 127.0.0.1 only, each load bounded in time:
- HTTP (the shipped schedule): the floor, a minimal Flask app on gunicorn (2 sync
  workers) returning the bytes of our /calendar.ics (bench/floor.py); our app on
  gunicorn with gunicorn.conf.py and the same 2 workers; Debian's nginx serving
  the site folder directly. Every public URL in every coding is also compared,
  byte for byte, between the app and nginx;
- versions (bench/versions.py, a process per schedule): full build, one-session
  edit, the time another process takes to follow, peak memory of every process,
  `agenda build OUTDIR`, a profile of the edit and the compression levels;
- the Python line count of src/agenda outside the desk.
Loads and servers share the machine's cores, so the HTTP figures that matter
are ratios between targets measured in the same run.

This process imports neither agenda nor Flask: Linux carries a parent's peak
resident memory into its children, and the children's peaks are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agenda.site import read_site  # noqa: E402
from tests.servers import BROTLI_STATIC, fetch, free_port, nginx, running  # noqa: E402

NOW = "2021-05-17T12:00:00+02:00"
SHIPPED = ROOT / "data"
PYTHON = sys.executable
CODINGS = ("identity", "gzip", "br")
MB_250 = 250e6 / 2**20  # the memory target, in MiB
LINES_TARGET = 6_800


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


def compare(app_port: int, nginx_port: int, site: Path) -> tuple[int, list[str]]:
    """Every public URL of the folder in every coding, from the app and from nginx:
    the number of answers compared and those that differ (status or bytes)."""
    count, differ = 0, []
    for path in read_site(site.resolve()).entries:
        if path.startswith("/_"):
            continue
        for coding in CODINGS:
            headers = {"Accept-Encoding": coding}
            ours, theirs = fetch(app_port, path, headers), fetch(nginx_port, path, headers)
            count += 1
            if (ours[0], ours[2]) != (theirs[0], theirs[2]):
                differ.append(f"{path} ({coding}): app {ours[0]}, nginx {theirs[0]}")
    return count, differ


def http_part(folder: Path, seconds: int, rounds: int) -> dict[str, object]:
    """Answers per second of every target, best of `rounds` interleaved rounds."""
    data = folder / "data"
    shutil.copytree(SHIPPED, data, ignore=shutil.ignore_patterns("*.site", ".*"))
    site = data / "sessions.site"
    floor_port, app_port, nginx_port = free_port(), free_port(), free_port()
    env = dict(os.environ, AGENDA_DATA=str(data / "sessions.toml"), AGENDA_NOW=NOW)
    empty = folder / "empty.conf.py"
    empty.write_text("")
    with ExitStack() as stack:
        # The app first: its master builds the folder the floor and nginx read.
        stack.enter_context(running(gunicorn_command(app_port, "wsgi:app"), app_port,
                                    "/healthz", cwd=ROOT, env=env))
        current = site / "current"
        env["FLOOR_BODY"] = str(current / "calendar.ics")
        stack.enter_context(running(
            gunicorn_command(floor_port, "bench.floor:app", "--config", str(empty)),
            floor_port, "/calendar.ics", cwd=ROOT, env=env))
        brotli = f"include {current}/_nginx/brotli.conf;" if BROTLI_STATIC.exists() else ""
        block = (f"server {{ listen 127.0.0.1:{nginx_port}; root {current}; "
                 f"include {current}/_nginx/agenda-static.conf; {brotli} }}")
        stack.enter_context(nginx(folder / "nginx", block, nginx_port, "/calendar.ics"))
        etag = fetch(app_port, "/calendar.ics")[1]["ETag"]
        gz_etag = fetch(app_port, "/calendar.ics", {"Accept-Encoding": "gzip"})[1]["ETag"]
        gzip = {"Accept-Encoding": "gzip"}
        targets = [
            ("floor: minimal Flask app, same bytes", floor_port, "/calendar.ics", {}),
            ("our /calendar.ics, 200", app_port, "/calendar.ics", {}),
            ("our /calendar.ics, 304", app_port, "/calendar.ics", {"If-None-Match": etag}),
            ("our /calendar.ics, gzip", app_port, "/calendar.ics", gzip),
            ("our /calendar.ics, gzip 304", app_port, "/calendar.ics",
             {**gzip, "If-None-Match": gz_etag}),
            ("our agenda page /", app_port, "/", {}),
            ("our /healthz", app_port, "/healthz", {}),
            ("nginx on the folder, /calendar.ics", nginx_port, "/calendar.ics", {}),
            ("nginx on the folder, /calendar.ics gzip", nginx_port, "/calendar.ics", gzip),
        ]
        for _, port, path, headers in targets:  # every server warmed once
            wrk(port, path, 1, headers)
        best: dict[str, float] = {}
        for _ in range(rounds):
            for name, port, path, headers in targets:
                best[name] = max(best.get(name, 0.0), wrk(port, path, seconds, headers))
        compared, differ = compare(app_port, nginx_port, current)
    return {"rates": [(name, best[name]) for name, *_ in targets],
            "compared": compared, "differ": differ}


def version_part(folder: Path, size: int, cities: int | None, limit: int,
                 *extra: str) -> dict[str, object] | None:
    """bench/versions.py on a schedule of `size` sessions, in a process of its own."""
    schedule = folder / f"sessions-{size}-{cities}.toml"
    with open(schedule, "wb") as out:
        subprocess.run([PYTHON, str(ROOT / "bench" / "run.py"), str(size),
                        *(["--cities", str(cities)] if cities else [])],
                       stdout=out, check=True)
    began = time.perf_counter()
    try:
        # Its files stay until every run is over: the 100-city build took 73 to 78 s right after
        # the city-each run had removed its 600,000 files (on a disk mounted with discard), and
        # 41 to 46 s alone. Removals are no part of any figure.
        done = subprocess.run([PYTHON, str(ROOT / "bench" / "versions.py"), str(schedule),
                               "--workdir", str(folder / f"run-{size}-{cities}"), *extra],
                              capture_output=True, text=True, timeout=limit,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(f"bench: versions.py {size} failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall"] = time.perf_counter() - began
    return figures


def python_lines() -> int:
    """Lines of Python in src/agenda outside src/agenda/desk/."""
    package = ROOT / "src" / "agenda"
    return sum(len(p.read_bytes().splitlines()) for p in package.rglob("*.py")
               if "desk" not in p.relative_to(package).parts[:1])


def status(met: bool) -> str:
    return "met" if met else "**not met**"


def ms(seconds: float) -> str:
    if abs(seconds) < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1000:,.1f} ms" if abs(seconds) < 1 else f"{seconds:,.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, best kept")
    parser.add_argument("--sizes", default="12,1000,10000")
    parser.add_argument("--cities", type=int, default=100,
                        help="the realistic city count of the largest size's second run")
    parser.add_argument("--limit", type=int, default=1200,
                        help="seconds after which a versions run is stopped and reported")
    parser.add_argument("--profile", type=int, default=20, help="profile lines shown")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    largest = max(sizes)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        http = http_part(folder, args.seconds, args.rounds)
        runs: list[tuple[int, int | None, dict | None]] = []
        for size in sizes:
            extra = ["--export"] if size == largest else []
            runs.append((size, None, version_part(folder, size, None, args.limit, *extra)))
        runs.append((largest, args.cities, version_part(
            folder, largest, args.cities, args.limit, "--export", "--profile",
            str(args.profile), "--compression")))
    lines = python_lines()
    text = report(args, started, http, runs, lines)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


def report(args: argparse.Namespace, started: datetime, http: dict, runs: list,
           lines: int) -> str:
    rates = http["rates"]
    floor = rates[0][1]
    load = os.getloadavg()
    out = [
        "# Benchmarks",
        "",
        f"Written by `bench/serving.sh` (`bench/serving.py`), started {started:%Y-%m-%d %H:%M} "
        f"UTC, on {platform.node() or 'this machine'}: {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (the load generator and the servers "
        "share the CPUs, and any other work on the machine adds noise): compare rows of "
        "this run, not runs.",
        "",
        "## Method",
        "",
        f"- HTTP: the shipped schedule, moment pinned to {NOW}; wrk -t2 -c16, "
        f"{args.seconds} s per run, every target once to warm up, then {args.rounds} "
        "interleaved rounds, the best of each kept. The floor is a minimal Flask app "
        "(`bench/floor.py`) on `gunicorn -w 2` answering the bytes of our /calendar.ics; "
        "our app runs on `gunicorn -w 2` with the project's gunicorn.conf.py; nginx is "
        "Debian's, serving `<site>/current` with the builder's `_nginx/agenda-static.conf`"
        f"{' and `_nginx/brotli.conf`' if BROTLI_STATIC.exists() else ''}.",
        "- Versions: `bench/versions.py`, one process per schedule (bench/run.py's "
        "`schedule_text`: one session every three days from 2021, each in a city of its "
        "own unless said otherwise), site moment pinned to 2030-01-01; each run's files are "
        "removed only after the last run. *Full build*: "
        "creating the `VersionStore`, i.e. the first publication and the build of every "
        "URL with its .gz and .br siblings, social cards included, on every core. "
        "*Spare*: the builder's first idle poll after it (a watcher's, in service), which "
        "links the folder's files into the spare the next build starts from. "
        "*Edit*: one session's title changed in place, then `store.poll()` with settle 0 "
        "and no watcher: from the moment the file is seen as settled until the new "
        "folder is built and `current` points at it, at the first of three edits of different "
        "sessions in a row, each after an idle poll (the others also remove the folder before "
        "last once the new one serves). *Follow*: a second process, started "
        "before the edit as a gunicorn worker is, runs a worker's watcher thread: once the "
        "published file is written, it waits for the folder under the builder's lock, "
        "serves it, then reads the version. *Edit until every "
        "worker serves it*: from the start of the edit until the follower serves the new "
        "folder (one monotonic clock), the median of the three edits (the machine is noisy: "
        "the target's row gives each); *follower*: how much later than the builder, at the "
        "first. "
        "*Link floor*: the new folder made again as hard links in a tight loop (its "
        "folders, then a link per file): what any build of a new folder of links pays. "
        "*Peak memory*: the resident set's high-water mark (VmHWM) of the builder "
        "process during the full build and, reset in between, during the edit; "
        "`ru_maxrss` of the forked build workers (RUSAGE_CHILDREN, the largest; a forked "
        "worker's resident set counts the pages it shares with its parent); VmHWM of "
        "the follower and of `agenda build`. Each figure includes the interpreter and "
        "the imports.",
        "",
        "## Answers per second (shipped schedule, 2 gunicorn sync workers)",
        "",
        "| what was served | answers per second | × floor |",
        "|---|---:|---:|",
    ]
    out += [f"| {name} | {rate:,.0f} | {rate / floor:.2f} |" for name, rate in rates]
    differ = http["differ"]
    out += ["", f"nginx against the app, every public URL of the folder in identity, gzip and "
            f"br: {http['compared']} answers compared, "
            f"{len(differ)} differ{': ' + '; '.join(differ[:10]) if differ else ''}.", ""]
    out += ["## Versions: full build, one-session edit, followers", "",
            "| sessions | cities | URLs | files | full build | edit: publish + build | "
            "URLs rendered | follower, after the builder | edit until every worker serves it | "
            "builder peak, full build | build workers' peak | builder peak, edit | follower peak |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size, cities, run in runs:
        if run is None:
            out.append(f"| {size:,} | {cities or size:,} | stopped after {args.limit} s |"
                       + " |" * 10)
            continue
        out.append(
            f"| {size:,} | {run['cities']:,} | {run['urls']:,} | {run['files']:,} | "
            f"{ms(run['full'])} | {ms(run['edit'])} | {run['rendered']} | "
            f"{ms(run['follow'])} | {ms(run['served'])} | "
            f"{run['peak_self']:.0f} MiB | {run['peak_children']:.0f} MiB | "
            f"{run['peak_edit']:.0f} MiB | {run['follower_peak']:.0f} MiB |")
    exports = [(size, cities, run) for size, cities, run in runs if run and "export" in run]
    out += ["", "`URLs rendered`: URLs whose file in the new folder is not the previous "
            "folder's (the sessions' parts included: VEVENT, agenda and embed lines). "
            f"Imports alone take {runs[0][2]['baseline']:.0f} MiB of each process."
            if runs[0][2] else "", "",
            "## `agenda build OUTDIR` (a copy of the published version's folder)", "",
            "| sessions | cities | wall time (process start included) | peak memory |",
            "|---:|---:|---:|---:|"]
    out += [f"| {size:,} | {run['cities']:,} | {ms(run['export'])} | "
            f"{run['export_peak']:.0f} MiB |" for size, cities, run in exports]
    realistic = runs[-1][2]
    out += compression_section(realistic)
    out += profile_section(realistic)
    out += targets_section(runs, rates, http, lines, args)
    return "\n".join(out) + "\n"


def compression_section(run: dict | None) -> list[str]:
    if not run or "compression" not in run:
        return []
    found = run["compression"]
    levels = ["gzip 6", "gzip 9", "brotli 5", "brotli 9", "brotli 11"]
    out = ["", f"## Compression levels ({run['sessions']:,} sessions, {run['cities']} cities)",
           "", "CPU time of one compression (best of 20 runs for the small body, one run "
           "for the big ones), bytes after it; brotli with the 1 MiB window the builder uses.",
           "", "| body | bytes | " + " | ".join(levels) + " |",
           "|---|---:|" + "---:|" * len(levels)]
    for name, figures in found.items():
        if name == "build":
            continue
        cells = [f"{figures[level][0]:,} B, {ms(figures[level][1])}" for level in levels]
        out.append(f"| {name} | {figures['bytes']:,} | " + " | ".join(cells) + " |")
    build = found["build"]
    out += ["", f"What each level would cost a full build: {build['files']:,} compressible "
            f"files, the {build['small']:,} small ones timed on a sample of "
            f"{build['sample']:,} and scaled up, "
            f"the {build['big_bytes'] / 1e6:.1f} MB of big ones (whole schedule, series) at "
            "the rate measured on the two big bodies. CPU seconds, to be shared by the "
            "build's workers (2 here).", "",
            "| | " + " | ".join(levels) + " |", "|---|" + "---:|" * len(levels),
            "| CPU seconds per full build | " + " | ".join(
                f"{build[level]:,.1f}" for level in levels) + " |", ""]
    return out


def profile_section(run: dict | None) -> list[str]:
    if not run or "profile" not in run:
        return []
    trim = lambda text: "\n".join(  # noqa: E731
        line.replace(str(ROOT) + "/", "") for line in text.strip().splitlines()
        if line.strip() and not line.lstrip().startswith(("Ordered", "List reduced")))
    return ["", f"## Profile of a one-session edit ({run['sessions']:,} sessions, "
            f"{run['cities']} cities)", "",
            f"A second edit (another session's title) under cProfile: {ms(run['profiled_edit'])}"
            " with the profiler's overhead. By cumulative time:", "", "```",
            trim(run["profile"]), "```", "", "By own time:", "", "```",
            trim(run["profile_own"]), "```"]


def targets_section(runs: list, rates: list, http: dict, lines: int,
                    args: argparse.Namespace) -> list[str]:
    largest = max(size for size, *_ in runs)
    own = next((r for s, c, r in runs if s == largest and c is None), None)
    real = next((r for s, c, r in runs if s == largest and c is not None), None)
    floor = rates[0][1]
    cached = dict(rates)["our /calendar.ics, 200"] / floor
    nginx_rate = dict(rates)["nginx on the folder, /calendar.ics"] / floor
    cases = (("each session in its own city", own), (f"{args.cities} cities", real))
    out = ["", "## Targets (issue 14)", "", "| what | target | measured | status |",
           "|---|---|---|---|",
           f"| Python lines in `src/agenda` outside `src/agenda/desk/` | ≤ 6,800 | {lines:,} | "
           f"{status(lines <= LINES_TARGET)} |"]
    for label, run in cases:
        if run is None:
            out.append(f"| full build, {largest:,} sessions ({label}) | ≤ 60 s | stopped "
                       f"after {args.limit} s | **not met** |")
            continue
        out.append(f"| full build, {largest:,} sessions, cards included ({label}) | ≤ 60 s | "
                   f"{ms(run['full'])} | {status(run['full'] <= 60)} |")
    for label, run in cases:
        if run is not None:
            total, each = run["served"], ", ".join(ms(t) for t in run["served_all"])
            out.append(f"| one-session edit at {largest:,} sessions ({label}), settled → every "
                       f"worker serves it | ≤ 3 s | {ms(total)}, the median of {each} "
                       f"({ms(run['edit'])} publish + "
                       f"build, the follower {ms(run['follow'])} later; linking the folder's "
                       f"files alone takes {ms(run['link_floor'])}, done ahead in the spare: "
                       f"{ms(run['spare'])} while idle) | {status(total <= 3)} |")
    for label, run in cases:
        if run is not None:
            peak = max(run["peak_self"], run["peak_children"], run["peak_edit"],
                       run["follower_peak"], run.get("export_peak", 0))
            out.append(f"| peak memory of any process at {largest:,} sessions ({label}) | "
                       f"≤ 250 MB ({MB_250:.0f} MiB) | {peak:.0f} MiB (builder "
                       f"{run['peak_self']:.0f} in the full build and {run['peak_edit']:.0f} "
                       f"in the edit, build workers {run['peak_children']:.0f}, follower "
                       f"{run['follower_peak']:.0f}, `agenda build` "
                       f"{run.get('export_peak', 0):.0f}) | {status(peak <= MB_250)} |")
    out += [f"| cached `/calendar.ics` from the app | ≥ 0.9× the floor on a quiet machine | "
            f"{cached:.2f}× (a shared machine) | {status(cached >= 0.9)} |",
            f"| nginx on the folder | byte-identical to the app for every URL and coding | "
            f"{http['compared'] - len(http['differ'])} of {http['compared']} answers identical; "
            f"{nginx_rate:.1f}× the floor | {status(not http['differ'])} |", ""]
    return out


if __name__ == "__main__":
    sys.exit(main())
