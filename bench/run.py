"""Benchmark: what a request costs with and without the render cache, and how big feeds get.

Run: .venv/bin/python bench/run.py [--sizes 12,120,1200] [--rounds 15]

Timings on a shared machine are noisy, so every figure that matters is a ratio
of two measurements taken side by side (interleaved, median of rounds).
Targets:
- with 120 sessions, a cached request costs at most a tenth of one that renders
  (ratio <= 0.1; with a dozen sessions Flask's own overhead dominates both);
- the subscription feed of 120 sessions (ten years of monthly matinales) stays
  well under Google's ~1 MB limit, and loading + rendering it uses < 50 MiB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from agenda import create_app
from agenda.loader import load_schedule
from agenda.render.ical import feed_bytes

HEAD = """
[calendar]
name = "Banc d’essai"
base_url = "https://agenda.example.org"
organizer = { name = "Club", email = "club@example.org" }

[[series]]
id = "tour"
title = "Tour des Villes"
"""

SESSION = """
[[sessions]]
id = "ville-{n}"
series = "tour"
number = {n}
city = "Ville {n}"
title = "Thème de la matinale n° {n} : « attractivité », l’été ; oui"
start = {year}-{month:02d}-{day:02d}T08:45:00
end = {year}-{month:02d}-{day:02d}T10:15:00
speakers = [{{ name = "Maire {n}", role = "Maire de Ville {n}" }}]
moderator = {{ name = "Animateur", role = "Délégué général" }}
registration_url = "https://example.org/inscription/{n}"
announced = {year}-{month:02d}-01
description = "Une description de quelques lignes.\\nAvec un retour à la ligne."
"""


def schedule_text(count: int) -> str:
    """A schedule of `count` sessions, one every three days from January 2021.

    (Every three days keeps 10,000 sessions within the loader's years, up to 2199.)
    """
    parts = [HEAD]
    first = date(2021, 1, 4)
    for n in range(1, count + 1):
        day = first + timedelta(days=3 * (n - 1))
        parts.append(SESSION.format(n=n, year=day.year, month=day.month, day=day.day))
    return "".join(parts)


ROUTES = ["/calendar.ics", "/rss.xml", "/atom.xml", "/", "/events.json"]


def timed(action) -> float:
    begin = time.perf_counter()
    action()
    return time.perf_counter() - begin


def measure(client, store, route: str, rounds: int) -> tuple[float, float]:
    """Median seconds of a request that renders and of one served from the cache."""

    def cold() -> None:
        store.current().cache.clear()  # drop every rendering of the version served
        client.get(route)

    def warm() -> None:
        client.get(route)

    cold_s, warm_s = [], []
    for _ in range(rounds):  # interleaved, so both see the same noise
        cold_s.append(timed(cold))
        warm_s.append(timed(warm))
    return statistics.median(cold_s), statistics.median(warm_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="12,120,1200")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"sessions-{size}.toml"
            path.write_text(schedule_text(size), encoding="utf-8")
            app = create_app({"AGENDA_DATA": str(path)})
            client = app.test_client()
            store = app.extensions["agenda.store"]
            print(f"\n{size} sessions")
            print(f"  {'route':<15} {'cold ms':>9} {'cached ms':>10} {'ratio':>7} {'bytes':>10}")
            for route in ROUTES:
                status = client.get(route).status_code
                if status != 200:
                    print(f"  {route:<15} (status {status}, skipped)")
                    continue

                c, w = measure(client, store, route, args.rounds)
                ratio = w / c
                if size == 120:
                    failed |= ratio > 0.1
                size_bytes = len(client.get(route).data)
                print(
                    f"  {route:<15} {c * 1000:9.2f} {w * 1000:10.3f} {ratio:7.3f} {size_bytes:10}"
                )

            tracemalloc.start()
            schedule = load_schedule(path)
            feed = feed_bytes(schedule, schedule.sessions)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"  load + iCalendar feed: peak {peak / 2**20:.1f} MiB, feed {len(feed)} bytes")
            if size == 120:
                failed |= len(feed) > 1_000_000 or peak > 50 * 2**20
    print("\ntargets:", "NOT MET" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
