"""Per-session pieces of whole-schedule documents, made once and kept out of the process's memory.

The calendar feed of 10,000 sessions is a head, 10,000 events and a tail; so
are /events.json and the news feeds. Each piece is a pure function of what it
is made of (a session and the calendar), so it is kept under the stable digest
of those arguments (agenda.digest): a new version of the schedule, another
worker or a restart serializes again only the sessions that changed.

Where pieces are kept is the application's choice (`use`): the body store
(agenda.bodies) in the service, nothing at all by default (then each process
keeps a few in memory only). This is the one place render code reaches past
its arguments, and only to skip work whose result it already knows.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar

from agenda.digest import CODE, digest

# Pieces each process keeps in memory, per kind: the most recently used.
IN_MEMORY = 256


class Keeper(Protocol):
    """Where pieces outlive the process: agenda.bodies.BodyStore."""

    def part(self, name: str) -> bytes | None: ...

    def put_parts(self, items: list[tuple[str, bytes]]) -> None: ...


_keeper: Keeper | None = None


def use(keeper: Keeper | None) -> None:
    """Keep pieces in `keeper` from now on (None: in memory only)."""
    global _keeper  # noqa: PLW0603 - one keeper per process, chosen by the application
    _keeper = keeper


P = TypeVar("P", bytes, str)


def kept(kind: str) -> Callable[[Callable[..., P]], Callable[..., P]]:
    """Decorate a pure function returning bytes or str: results kept by their arguments' digest."""

    def decorate(make: Callable[..., P]) -> Callable[..., P]:
        recent: OrderedDict[Hashable, P] = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(make)
        def wrapper(*args: Hashable) -> P:
            with lock:
                found = recent.get(args)
                if found is not None:
                    recent.move_to_end(args)
                    return found
            keeper = _keeper
            value: P | None = None
            if keeper is not None:
                name = digest(CODE, kind, args)
                stored = keeper.part(name)
                if stored is not None:
                    value = stored if _returns_bytes(make) else stored.decode("utf-8")  # type: ignore[assignment]
            if value is None:
                value = make(*args)
                if keeper is not None:
                    data = value if isinstance(value, bytes) else value.encode("utf-8")
                    keeper.put_parts([(name, data)])
            with lock:
                recent[args] = value
                if len(recent) > IN_MEMORY:
                    recent.popitem(last=False)
            return value

        wrapper.cache_clear = recent.clear  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _returns_bytes(make: Callable[..., object]) -> bool:
    return make.__annotations__.get("return") in ("bytes", bytes)
