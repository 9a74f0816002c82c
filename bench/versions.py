"""A version of SIZE sessions built into its site folder, then a one-session edit; prints JSON.

Run: .venv/bin/python bench/versions.py SCHEDULE.toml [--export] [--profile N] [--compression]

Run by bench/serving.py in a process of its own per schedule, so that its peak
memory is its own. Measured, with the site's moment pinned (NOW) so that both
builds fall in the same period between moments:
- full: creating the VersionStore (first publication of the file, then the
  build of every URL of the site folder, social cards included, on every core);
- spare: the publisher's first idle poll after the full build (as its watcher
  thread's, within POLL_SECONDS, in service): it makes the spare, the links of
  the folder served that the next build starts from (site.prepare);
- edit: one session's title changed in place, then `store.poll()` (settle 0,
  no watcher thread): from the moment the file is seen as settled until the new
  folder is built and in service (publication + incremental build), the first
  of EDITS edits of different sessions in a row, each after an idle poll (the
  spare made); the others' polls also remove the folder before last, once the
  new one is in service;
- follow: another process (a VersionStore started before the edit, as a
  gunicorn worker is) runs its watcher thread during the edit: it sees the
  published file once written, waits for the folder (the builder holds the
  lock), serves it, then reads the version.
  "edit until every worker serves it" runs from the start of the edit to the
  moment the follower serves the new folder (one monotonic clock for both
  processes): the median of the EDITS edits (the machine is noisy), each in
  `served_all`; "follow" is how much later than the builder it gets there at
  the first;
- link floor: the new folder made again as hard links into a scratch folder
  (its folders, then a link per file) in a tight loop: what any build of a new
  folder of links pays at least, whatever it renders;
- peaks: the high-water mark of the resident set (VmHWM, /proc/self/status)
  of this process during the full build and, reset in between, during the edit;
  ru_maxrss of its forked build workers (RUSAGE_CHILDREN, the largest); VmHWM of
  the follower and of `agenda build`. (Not ru_maxrss for the processes started
  with exec: Linux carries the parent's peak into it.)
- export (--export): `agenda build OUTDIR` in a process of its own, a copy
  (hard links) of the published version's folder;
- profile N (--profile): a second edit under cProfile, its N costliest
  functions by cumulative time;
- compression (--compression): bench/compression.py on this folder's files.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = "2030-01-01T00:00:00+00:00"  # about 1,100 of 10,000 sessions are over
EDITS = 3  # edits measured in a row: their median is reported
FOLLOWER = """
import json, re, sys, time
from datetime import datetime
from pathlib import Path
from agenda.store import VersionStore
moment, awaited = datetime.fromisoformat(sys.argv[3]), int(sys.argv[4])
store = VersionStore(sys.argv[1], settle=3600, site_root=Path(sys.argv[2]), moment=lambda: moment)
print("ready", flush=True)
sys.stdin.readline()
store.site()  # its first request: the watcher thread starts, as in a gunicorn worker
while store.site().version < awaited:  # what a request is answered from
    time.sleep(0.005)
served_at = time.monotonic()
while store.served().number < awaited:  # the version follows, for the dynamic routes
    time.sleep(0.005)
print(json.dumps({"served_at": served_at, "version": store.site().version,
                  "peak": int(re.search(r"VmHWM:\\s+(\\d+)",
                                        open("/proc/self/status").read())[1]) / 1024}))
"""
EXPORT = """
import atexit, re, sys
from pathlib import Path
from agenda.cli import main
atexit.register(lambda: Path(sys.argv[1]).write_text(
    re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1]))
main(sys.argv[2:])
"""


def mib(who: int) -> float:
    """Peak resident MiB of this process (RUSAGE_SELF) or its largest waited-for child."""
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def high_water() -> float:
    """The peak resident MiB of this process since the last `reset()` (VmHWM)."""
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read())[1]) / 1024


def reset() -> None:
    """Start the peak resident memory (VmHWM) again from the current resident set."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def link_floor(folder: Path, scratch: Path) -> float:
    """Seconds to make `folder` again as hard links under `scratch`, in a tight loop."""
    names = [(os.path.relpath(top, folder), files) for top, _, files in os.walk(folder)]
    began = time.perf_counter()
    for relative, files in names:
        os.makedirs(os.path.join(scratch, relative), exist_ok=True)
        for name in files:
            os.link(os.path.join(folder, relative, name), os.path.join(scratch, relative, name))
    return time.perf_counter() - began  # removed with the work folder, after every measurement


def retitle(path: Path, number: int) -> None:
    """Change session `number`'s title in place (as many bytes), with a newer mtime."""
    old = f"Thème de la matinale n° {number} :".encode()
    new = f"Thèse de la matinale n° {number} :".encode()
    data = path.read_bytes()
    at = data.index(old)
    with open(path, "r+b") as handle:
        handle.seek(at)
        handle.write(new)
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("schedule", type=Path, help="the schedule (bench/run.py's text)")
    parser.add_argument("--export", action="store_true", help="time `agenda build OUTDIR`")
    parser.add_argument("--profile", type=int, default=0, help="profile a second edit")
    parser.add_argument("--compression", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="a new folder to work in, left for the caller to remove after its "
                             "other measurements (default: a temporary one, removed at the end)")
    args = parser.parse_args()
    from agenda import site as builder
    from agenda.store import VersionStore

    moment = datetime.fromisoformat(NOW)
    baseline = high_water()  # the interpreter and the imports
    if args.workdir is not None:
        args.workdir.mkdir(parents=True)
    with (contextlib.nullcontext(str(args.workdir)) if args.workdir is not None
          else tempfile.TemporaryDirectory()) as folder:
        path = Path(folder) / "sessions.toml"
        path.write_bytes(args.schedule.read_bytes())
        size = len(re.findall(rb"^\[\[sessions\]\]", path.read_bytes(), re.M))
        root = Path(folder) / "sessions.site"
        began = time.perf_counter()
        store = VersionStore(path, settle=0, watch=False, site_root=root, moment=lambda: moment)
        full = time.perf_counter() - began
        peak_full, peak_workers = high_water(), mib(resource.RUSAGE_CHILDREN)
        measured: list[tuple[float, float, float, float]] = []  # served, edit, follow, peak
        peak_edit = spare = 0.0
        for number in range(EDITS):
            began = time.perf_counter()
            site = store.site()  # an idle poll, as the watcher's in service: it makes the spare
            spare = spare or time.perf_counter() - began  # the first's: after the full build
            reset()
            follower = subprocess.Popen(
                [sys.executable, "-c", FOLLOWER, str(path), str(root), NOW, str(number + 2)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
            assert follower.stdout is not None and follower.stdin is not None
            assert follower.stdout.readline().strip() == "ready"
            follower.stdin.write("go\n")  # it polls from now on
            follower.stdin.flush()
            retitle(path, size // 2 + number or 1)
            began = time.monotonic()
            store.poll()
            ended = time.monotonic()
            peak_edit = max(peak_edit, high_water())
            edited = store.site()
            assert edited.version == number + 2, "the edit was not published"
            follow = json.loads(follower.stdout.readline())
            follower.wait()
            assert follow["version"] == number + 2, "the follower did not follow"
            measured.append((follow["served_at"] - began, ended - began,
                             follow["served_at"] - ended, follow["peak"]))
        # Counted after the edits' peaks: the walk's garbage would stay in the resident set.
        files = sum(1 for p in site.folder.rglob("*") if p.is_file())
        inode = lambda built, e: (built.folder / e.file).stat().st_ino  # noqa: E731
        rendered = sum(1 for e in edited.entries.values()
                       if e.path not in site.entries or inode(edited, e) != inode(site, e))
        floor = link_floor(edited.folder, Path(folder) / "scratch")  # links them all again
        served, peaks = [m[0] for m in measured], [m[3] for m in measured]
        figures = {
            "sessions": size,
            "cities": len({p.split("/")[2] for p in edited.entries if p.startswith("/cities/")}),
            "urls": len(site.entries), "files": files, "full": full, "edit": measured[0][1],
            "rendered": rendered, "link_floor": floor, "spare": spare,
            "follow": measured[0][2], "served": median(served), "served_all": served,
            "follower_peak": max(peaks), "baseline": baseline, "peak_self": peak_full,
            "peak_edit": peak_edit, "peak_children": peak_workers,
        }
        if args.export:
            out = Path(folder) / "export"
            peak = Path(folder) / "export.peak"
            command = [sys.executable, "-c", EXPORT, str(peak), "build", str(out),
                       "--data", str(path), "--now", NOW]
            began = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, cwd=ROOT, check=True,
                           env=dict(os.environ, AGENDA_SITE=str(root)))
            figures["export"] = time.perf_counter() - began
            figures["export_peak"] = int(peak.read_text()) / 1024
        if args.profile:
            retitle(path, size // 3 or 1)
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.runcall(store.poll)
            figures["profiled_edit"] = time.perf_counter() - began
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(
                args.profile)
            figures["profile"] = text.getvalue()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.profile)
            figures["profile_own"] = text.getvalue()
        if args.compression:
            from bench.compression import measure

            figures["compression"] = measure(store.site().folder)
        del builder
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
