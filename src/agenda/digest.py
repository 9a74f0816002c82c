"""Stable digests of what bodies are made of: the same value gives the same digest in every process.

Python's own `hash` changes from one process to the next (string hashing is
salted) and `repr` hides some fields, so neither can name a body on disk. Here
a value is written out field by field, in a fixed form, and hashed: frozen
dataclasses (every field that takes part in equality), tuples, lists, dicts
(by sorted key), sets (sorted), strings, numbers, dates, enums and time zones.
Anything else is refused rather than guessed at: a digest that missed part of
a value would hand one body to two different values.

`CODE` is the digest of the code that renders: every file of the package and
the versions of the libraries whose output lands in a body. Bodies stored by
an older release are never taken for a newer one's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import weakref
from datetime import date, datetime, time, timedelta
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Libraries whose bytes end up in bodies or headers.
RENDERING_LIBRARIES = (
    "babel", "brotli", "feedgen", "flask", "icalendar", "jinja2", "markupsafe", "pillow",
    "python-dateutil", "werkzeug",
)


def digest(*values: Any) -> str:
    """A hex SHA-256 naming `values`: equal values give equal digests in every process.

    A dataclass among `values` (or among the items of a tuple there) is written
    as its own digest, remembered: a session met again costs a lookup.
    """
    sink = hashlib.sha256()
    for value in values:
        if type(value) is tuple:
            sink.update(b"(%d:" % len(value))
            for item in value:
                _write_known(item, sink.update)
            sink.update(b")")
        else:
            _write_known(value, sink.update)
    return sink.hexdigest()


# Digests of the dataclass objects alive in this process, by identity: not by
# value, since equal values may differ in what a digest sees (two aware times
# of one instant compare equal in different zones). An entry goes with its object.
_KNOWN: dict[int, tuple[weakref.ref, str]] = {}


def _write_known(value: Any, out: Any) -> None:
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        _write(value, out)
        return
    key = id(value)
    entry = _KNOWN.get(key)
    if entry is not None and entry[0]() is value:
        out(b"k" + entry[1].encode())
        return
    sink = hashlib.sha256()
    _write(value, sink.update)
    found = sink.hexdigest()
    try:
        _KNOWN[key] = (weakref.ref(value, lambda _, key=key: _KNOWN.pop(key, None)), found)
    except TypeError:
        pass  # not weakly referable: written out each time
    out(b"k" + found.encode())


def _write(value: Any, out: Any) -> None:  # noqa: C901, PLR0912 - one case per kind of value
    kind = type(value)
    if value is None or kind is bool:
        out(b"N" if value is None else (b"T" if value else b"F"))
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out(b"s%d:" % len(data))
        out(data)
    elif kind is bytes:
        out(b"b%d:" % len(value))
        out(value)
    elif kind is int:
        out(b"i%d;" % value)
    elif kind is float:
        out(b"f" + value.hex().encode() + b";")
    elif isinstance(value, Enum):
        out(b"e")
        _write(type(value).__qualname__, out)
        _write(value.value, out)
    elif kind is tuple or kind is list:
        out(b"(%d:" % len(value))
        for item in value:
            _write(item, out)
        out(b")")
    elif kind is dict:
        out(b"{%d:" % len(value))
        for key in sorted(value, key=lambda k: digest(k)):
            _write(key, out)
            _write(value[key], out)
        out(b"}")
    elif kind is frozenset or kind is set:
        out(b"<%d:" % len(value))
        for part in sorted(digest(item) for item in value):
            out(part.encode())
        out(b">")
    elif kind is datetime or kind is time:
        # The offset and the zone's name both count: 08:45 Paris is not 08:45 +02:00.
        out(b"d" + value.isoformat().encode() + b";")
        _write(value.tzinfo, out)
    elif kind is date:
        out(b"D" + value.isoformat().encode() + b";")
    elif kind is timedelta:
        out(b"t%d,%d,%d;" % (value.days, value.seconds, value.microseconds))
    elif kind is ZoneInfo:
        out(b"z")
        _write(value.key, out)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        out(b"c")
        _write(kind.__qualname__, out)
        for field in dataclasses.fields(value):
            if field.compare:
                _write(getattr(value, field.name), out)
        out(b";")
    elif isinstance(value, str | int):  # a subclass such as a StrEnum member
        _write(kind.__qualname__, out)
        _write(str(value) if isinstance(value, str) else int(value), out)
    else:
        raise TypeError(f"no stable digest for a {kind.__qualname__}")


def _code_digest() -> str:
    sink = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            sink.update(str(path.relative_to(package)).encode() + b"\0")
            sink.update(path.read_bytes())
    for name in RENDERING_LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        sink.update(f"{name}={version}\0".encode())
    return sink.hexdigest()


CODE = _code_digest()
