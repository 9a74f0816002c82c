"""Loading a schedule: peak memory and seconds of each start-up step, per size.

Run: .venv/bin/python bench/load.py [--sizes 1000,10000] [--rounds 3] [--src OTHER/src]

Each step runs in a fresh process of its own (this script again, with --step),
so its peak resident memory (ru_maxrss) is its own. The app is made without the
prebuild (AGENDA_PREBUILD off, AGENDA_WATCH=0, AGENDA_SETTLE=0), so what is
measured is the version alone:
- first: create_app on a folder with no published file: the schedule is parsed,
  its first version written to sessions.published.json;
- restart: create_app again, reading back the published file;
- edit: after that restart, one session's city renamed in the file and
  `store.poll()` publishing it (the peak is the process's, restart included).
"imports" is the resident memory after importing what create_app imports,
before the step; "peak" is the process's peak, that baseline included;
"seconds" the step's wall-clock time, "cpu s" its processor time (steadier on a
shared machine).
Target: the first start of 10,000 sessions peaks at 95 MiB or less (the rest of
150 MB is for the bodies); the script exits 1 when it is measured and missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("first", "restart", "edit")
TARGET_SIZE, TARGET_MIB = 10_000, 95.0  # the first start's peak
# Linux keeps ru_maxrss across exec: a child starts with the peak of its parent at
# fork. So this parent stays small: it imports neither agenda nor bench.run, and a
# child of its own writes the schedule file.


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _edit(path: Path, size: int) -> None:
    """Rename one session's city, as bench/versions.py does, and make the change visible.

    The file is changed in place (the new name has as many bytes), so that the
    edit itself costs this process next to no memory: its peak is the store's.
    """
    middle = size // 2 or 1
    with open(path, "r+b") as handle:
        at = handle.read().index(f'city = "Ville {middle}"\n'.encode())
        handle.seek(at)
        handle.write(f'city = "Bourg {middle}"\n'.encode())
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def step(name: str, path: Path, size: int) -> dict[str, float]:
    """Run one step in this process; its figures."""
    os.environ["AGENDA_WATCH"] = "0"
    os.environ["AGENDA_SETTLE"] = "0"
    import agenda.store  # noqa: F401  (what create_app imports, before the baseline)
    import agenda.web.calendar  # noqa: F401
    import agenda.web.feeds  # noqa: F401
    import agenda.web.pages  # noqa: F401
    import agenda.web.personal  # noqa: F401
    from agenda import create_app

    imports = _rss_mib()
    config = {"AGENDA_DATA": str(path), "AGENDA_PREBUILD": False}
    began, cpu = time.perf_counter(), time.process_time()
    app = create_app(config)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    store = app.extensions["agenda.store"]
    expected = 1
    if name == "edit":
        _edit(path, size)
        began, cpu = time.perf_counter(), time.process_time()
        store.poll()
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        expected = 2
    if store.served().number != expected:
        raise SystemExit(f"{name}: serving version {store.served().number}, not {expected}")
    return {"imports": imports, "peak": _rss_mib(), "seconds": seconds, "cpu": cpu}


def run_step(name: str, path: Path, size: int, src: Path = ROOT / "src") -> dict[str, float]:
    """Run one step in a fresh process, on the agenda package in `src`; its figures."""
    command = [sys.executable, __file__, "--step", name, "--path", str(path), "--size", str(size)]
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(src), str(ROOT), environment.get("PYTHONPATH")) if p
    )
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        raise SystemExit(f"step {name} at {size} sessions failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the folder holding the agenda package to measure (another "
                             "checkout's src, to compare)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="fresh processes per step; the least peak and the least time "
                             "are shown")
    parser.add_argument("--step", choices=("write", *STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "write":
        sys.path.insert(0, str(ROOT))
        from bench.run import schedule_text

        Path(args.path).write_text(schedule_text(args.size), encoding="utf-8")
        print(json.dumps({}))
        return 0
    if args.step:
        print(json.dumps(step(args.step, Path(args.path), args.size)))
        return 0

    print(f"{'sessions':>8} {'step':<8} {'imports MiB':>11} {'peak MiB':>9} {'step MiB':>9} "
          f"{'seconds':>8} {'cpu s':>6}")
    missed = None
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "sessions.toml"
            published = path.with_name("sessions.published.json")
            run_step("write", path, size)
            for name in STEPS:
                rounds = []
                for _ in range(args.rounds):
                    if name == "edit" and rounds:  # the edit changed the files: start again
                        run_step("write", path, size)
                        published.unlink()
                        run_step("first", path, size, args.src)
                    if name == "first":
                        published.unlink(missing_ok=True)
                    rounds.append(run_step(name, path, size, args.src))
                found = {key: min(r[key] for r in rounds) for key in rounds[0]}
                print(f"{size:8,} {name:<8} {found['imports']:11.1f} {found['peak']:9.1f} "
                      f"{found['peak'] - found['imports']:9.1f} {found['seconds']:8.2f} "
                      f"{found['cpu']:6.2f}",
                      flush=True)
                if (size, name) == (TARGET_SIZE, "first"):
                    missed = found["peak"] > TARGET_MIB
    if missed is not None:
        print(f"target (first start of {TARGET_SIZE:,} sessions at most {TARGET_MIB:g} MiB): "
              + ("NOT MET" if missed else "met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
