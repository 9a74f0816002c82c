"""Benchmark: seconds and bytes per social card (src/agenda/render/cards.py).

Run: .venv/bin/python bench/cards.py [--sessions 10000] [--cards 200] [--rounds 3]
                                     [--against GIT-REV]

Builds a schedule of --sessions sessions (bench/run.py's), then draws the cards
of --cards of them, spread over the whole schedule, --rounds times, and prints
for each version of cards.py measured:
- CPU seconds per session card through `session_card` (which also works out
  whether the session is past), the median of the rounds;
- seconds per card through `draw` alone (text worked out beforehand);
- seconds for the agenda card;
- mean PNG bytes per session card;
- a SHA-256 of all the PNG bytes and one of all the decoded RGB pixels: the
  first should be the same in every process, the second tells whether two
  versions draw the same pixels even when they encode them differently.
With --against, the cards.py of that revision (e.g. the commit before a change)
is measured too, side by side in the same process, rounds interleaved, and the
ratio of the two is printed: on a shared machine the ratio is the figure to
trust, not the seconds.
Every figure is the process's CPU time, not the wall clock.
Target: at most 0.03 s per session card on a 2-CPU machine.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import schedule_text  # noqa: E402

TARGET = 0.03  # seconds per session card


@dataclass
class Figures:
    """What one version of cards.py measured, round after round."""

    name: str
    module: ModuleType
    run_cards: Callable[[], None] = lambda: None  # session_card for every chosen session
    run_draws: Callable[[], None] = lambda: None  # draw for every chosen session's text
    card: list[float] = field(default_factory=list)
    draw: list[float] = field(default_factory=list)
    agenda: list[float] = field(default_factory=list)
    pngs: list[bytes] = field(default_factory=list)


def cards_at(revision: str, folder: Path) -> ModuleType:
    """cards.py as it was at `revision`, imported under a name of its own."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/agenda/render/cards.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    path = folder / "cards_then.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("cards_then", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def timed(action: Callable[[], object]) -> float:
    """CPU seconds of this process: drawing is single-threaded, and other work on a
    shared machine slows the wall clock far more than it does this."""
    begin = time.process_time()
    action()
    return time.process_time() - begin


def digests(pngs: list[bytes]) -> tuple[str, str]:
    """SHA-256 (16 hex digits) of the PNG bytes and of the decoded RGB pixels."""
    png_digest, pixel_digest = hashlib.sha256(), hashlib.sha256()
    for png in pngs:
        png_digest.update(png)
        with Image.open(io.BytesIO(png)) as image:
            pixel_digest.update(image.convert("RGB").tobytes())
    return png_digest.hexdigest()[:16], pixel_digest.hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="GIT-REV",
                        help="also measure cards.py of this revision, side by side")
    args = parser.parse_args()

    from agenda.loader import load_schedule
    from agenda.render import cards

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sessions.toml"
        path.write_text(schedule_text(args.sessions), encoding="utf-8")
        schedule = load_schedule(path)
        versions = [Figures("now", cards)]
        if args.against:
            versions.insert(0, Figures(args.against, cards_at(args.against, Path(folder))))

    sessions = schedule.sessions
    chosen = sessions[:: max(1, len(sessions) // args.cards)][: args.cards]
    # Half of the chosen sessions are over then: both kinds of card are drawn.
    now = chosen[len(chosen) // 2].start
    assert now is not None
    past = schedule.ended_ids(now)

    for version in versions:
        module = version.module
        texts = [module.session_text(schedule.calendar, s, s.id in past) for s in chosen]
        module.draw(texts[0])  # fonts loaded, caches set up: not part of the figures

        def run_cards(module: ModuleType = module, version: Figures = version) -> None:
            version.pngs = [module.session_card(schedule, s, now) for s in chosen]

        def run_draws(module: ModuleType = module, texts: list = texts) -> None:
            for text in texts:
                module.draw(text)

        version.run_cards, version.run_draws = run_cards, run_draws

    for round_ in range(args.rounds):  # interleaved: every version sees the same noise
        for version in versions[:: 1 if round_ % 2 else -1]:
            version.card.append(timed(version.run_cards) / len(chosen))
            version.draw.append(timed(version.run_draws) / len(chosen))
            version.agenda.append(timed(lambda m=version.module: m.agenda_card(schedule, now)))

    print(f"{len(sessions)} sessions, {len(chosen)} session cards, "
          f"median of {args.rounds} rounds")
    print(f"  {'version':<12} {'card s':>8} {'draw s':>8} {'agenda s':>9} {'bytes':>8}"
          f"  {'PNG sha256':<16}  {'pixels sha256':<16}")
    for version in versions:
        png_digest, pixel_digest = digests(version.pngs)
        mean_bytes = sum(map(len, version.pngs)) / len(version.pngs)
        print(f"  {version.name:<12} {statistics.median(version.card):8.4f}"
              f" {statistics.median(version.draw):8.4f} {statistics.median(version.agenda):9.4f}"
              f" {mean_bytes:8.0f}  {png_digest}  {pixel_digest}")
    if len(versions) == 2:
        then, now_ = versions
        ratios = [a / b for a, b in zip(then.card, now_.card, strict=True)]
        print(f"  speed-up of session_card: {statistics.median(ratios):.1f}x"
              f" (median of per-round ratios); same pixels:"
              f" {digests(then.pngs)[1] == digests(now_.pngs)[1]}")
    card_s = statistics.median(versions[-1].card)
    met = card_s <= TARGET
    print(f"target <= {TARGET} s per session card:", "met" if met else "NOT MET")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
