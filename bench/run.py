"""The benchmarks' schedule: `schedule_text(count)` sessions of one series.

Run: .venv/bin/python bench/run.py COUNT [--cities N] > sessions.toml
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

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
city = "Ville {city}"
title = "Thème de la matinale n° {n} : « attractivité », l’été ; oui"
start = {year}-{month:02d}-{day:02d}T08:45:00
end = {year}-{month:02d}-{day:02d}T10:15:00
speakers = [{{ name = "Maire {n}", role = "Maire de Ville {city}" }}]
moderator = {{ name = "Animateur", role = "Délégué général" }}
registration_url = "https://example.org/inscription/{n}"
announced = {year}-{month:02d}-01
description = "Une description de quelques lignes.\\nAvec un retour à la ligne."
"""


def schedule_text(count: int, cities: int | None = None) -> str:
    """A schedule of `count` sessions, one every three days from January 2021.

    Each session has a city of its own, unless `cities` is given: then the
    sessions go round that many cities (session n in "Ville ((n - 1) % cities + 1)"),
    as a real series comes back to the same towns.
    (Every three days keeps 10,000 sessions within the loader's years, up to 2199.)
    """
    parts = [HEAD]
    first = date(2021, 1, 4)
    for n in range(1, count + 1):
        day = first + timedelta(days=3 * (n - 1))
        city = n if cities is None else (n - 1) % cities + 1
        parts.append(SESSION.format(n=n, city=city, year=day.year, month=day.month,
                                    day=day.day))
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--cities", type=int, default=None)
    args = parser.parse_args()
    sys.stdout.write(schedule_text(args.count, args.cities))
    return 0


if __name__ == "__main__":
    sys.exit(main())
