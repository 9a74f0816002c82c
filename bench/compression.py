"""Size and time of gzip and brotli levels on the bodies of a built site folder.

Called by bench/versions.py (--compression) on the folder of 10,000 sessions:
- a session page (a small body) and /events.json and /calendar.ics (multi-megabyte
  ones): bytes and milliseconds of each level, the best of a few runs;
- the CPU seconds each level would add to a full build: the small compressible
  files timed one in STEP and scaled up, the big ones (whole schedule, series)
  counted by their bytes at the rate measured on the two big bodies.
Compression is deterministic here as in agenda.encoding (gzip without timestamp,
brotli with a 1 MiB window), and single-threaded: a build spreads it on its workers.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli

from agenda.encoding import BROTLI_WINDOW_BITS
from agenda.site import file_for, read_site

STEP = 50
BIG = 200_000  # bytes: a whole-schedule or series document at 10,000 sessions


def gzip_at(level: int) -> Callable[[bytes], bytes]:
    def packed(body: bytes) -> bytes:
        packer = zlib.compressobj(level, zlib.DEFLATED, 31)
        return packer.compress(body) + packer.flush()
    return packed


def brotli_at(quality: int) -> Callable[[bytes], bytes]:
    return lambda body: brotli.compress(body, quality=quality, lgwin=BROTLI_WINDOW_BITS)


LEVELS: dict[str, Callable[[bytes], bytes]] = {
    "gzip 6": gzip_at(6), "gzip 9": gzip_at(9),
    "brotli 5": brotli_at(5), "brotli 9": brotli_at(9), "brotli 11": brotli_at(11),
}


def timed(compress: Callable[[bytes], bytes], body: bytes, runs: int) -> tuple[int, float]:
    """Compressed bytes and the best of `runs` timings, in seconds."""
    best = float("inf")
    for _ in range(runs):
        began = time.process_time()
        size = len(compress(body))
        best = min(best, time.process_time() - began)
    return size, best


def measure(folder: Path) -> dict[str, object]:
    """Per body and level: [bytes, seconds]; per level: the estimated CPU seconds of a build."""
    entries = read_site(folder).entries.values()
    packed = [e.path for e in entries if e.codings]  # the URLs built with siblings
    page = next(p for p in packed if p.startswith("/events/") and "." not in p)
    bodies = {f"session page {page}": page, "/events.json": "/events.json",
              "/calendar.ics": "/calendar.ics"}
    results: dict[str, object] = {}
    for name, path in bodies.items():
        body = (folder / file_for(path)).read_bytes()
        runs = 20 if len(body) < 100_000 else 1
        results[name] = {"bytes": len(body), **{
            level: timed(compress, body, runs) for level, compress in LEVELS.items()}}
    # Small files: one in STEP, scaled up. Big ones (the whole-schedule and series
    # documents): their bytes at the rate measured on the two big bodies above.
    small = [e.path for e in entries if e.codings and e.size < BIG]
    big_bytes = sum(e.size for e in entries if e.codings and e.size >= BIG)
    measured = [results[name] for name in ("/events.json", "/calendar.ics")]
    sample = small[::STEP]
    scale = len(small) / len(sample)
    build: dict[str, object] = {"files": len(packed), "small": len(small),
                                "sample": len(sample), "big_bytes": big_bytes}
    for level, compress in LEVELS.items():
        seconds = 0.0
        for path in sample:
            seconds += timed(compress, (folder / file_for(path)).read_bytes(), 1)[1]
        rate = sum(m[level][1] for m in measured) / sum(m["bytes"] for m in measured)
        build[level] = seconds * scale + big_bytes * rate
    results["build"] = build
    return results
