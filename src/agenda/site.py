"""The builder: a published version, at a moment, becomes a folder of files.

Every public URL (/robots.txt and /sitemap.xml for crawlers too) is a file under the "pretty URL"
rule (`file_for`), with `.gz` and `.br` siblings when compressible; `_manifest.jsonl` lists each
URL's validators and headers, a line each. Beside them: `_headers` (Netlify, Cloudflare Pages),
`_nginx/` and the French `404.html`. The app (agenda.web.serve), nginx and any CDN serve them.

A folder is immutable, complete or absent (`build`). A build reuses, by hard link, every file of
the previous folder whose inputs did not change (the manifest keeps what each was made of), and
renders the rest on every core. Render functions stay pure; what is reused is decided here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
import zoneinfo
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any

from werkzeug.http import http_date, parse_date

from agenda import encoding
from agenda.errors import AgendaError
from agenda.headers import ANY_FRAMING, NO_FRAMING, security
from agenda.i18n import _
from agenda.model import CalendarInfo, Schedule, Session, latest_update, list_key
from agenda.published import Version
from agenda.render import cards, feeds, html, ical, json_api, links, vtimezone, wording

FORMAT = "agenda-site/3"
MANIFEST = "_manifest.jsonl"  # JSON Lines: the folder's line, then one line per URL
CHANGES = "_changes.jsonl"  # its head and lines that changed since the folder it was built from
LINE = json.JSONEncoder(ensure_ascii=False)  # one for 80,000 lines, not one a line
DECODE = json.JSONDecoder().decode  # of text: no encoding to detect (a third of the time)
HTML_TYPE = "text/html; charset=utf-8"
ICAL_TYPE = "text/calendar; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_TYPE = "application/json"
SCHEMA_TYPE = "application/schema+json"
PNG_TYPE = "image/png"
PARTS = "/_parts/"  # what documents are made of, kept for the next build; never served
PART_TYPE = "application/x-agenda-part"  # not compressed, not listed for static hosts
# Browsers and proxies may reuse an answer 5 minutes (calendars poll far less; ETags are cheap).
CACHE_CONTROL = "public, max-age=300"
# RFC 8288 'describedby': where a client finds the schema of a JSON document.
DESCRIBED = (("Link", f'<{links.EVENTS_SCHEMA_PATH}>; rel="describedby"'),)
PACKAGE = Path(__file__).resolve().parent
STATIC_FOLDER = PACKAGE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}
STATIC_FILES = {p.name: STATIC_TYPES[p.suffix] for p in sorted(STATIC_FOLDER.iterdir())
                if p.suffix in STATIC_TYPES}
SIBLINGS = {"gzip": ".gz", "br": ".br"}
EXTRAS = ("_headers", "_nginx/agenda-static.conf", "_nginx/brotli.conf", "404.html")
# Below this many documents to render, forking workers costs more than it saves.
PARALLEL_FROM = 8


def _release() -> str:
    """What else the bytes depend on: this package's files, the rendering libraries, tzdata."""
    found = hashlib.sha256()
    for file in sorted(PACKAGE.rglob("*")):
        if file.is_file() and file.suffix in (".py", ".html", ".css", ".js", ".svg", ".json",
                                              ".ttf", ".otf", ".po"):
            found.update(file.relative_to(PACKAGE).as_posix().encode())
            found.update(file.read_bytes())
    for library in ("icalendar", "feedgen", "babel", "jinja2", "pillow", "brotli", "tzdata"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.update(f"{library}={importlib.metadata.version(library)}".encode())
    for zones in zoneinfo.TZPATH:  # the system's time zone rules, which zoneinfo reads first
        with contextlib.suppress(OSError):
            found.update(Path(zones, "tzdata.zi").read_bytes())
    return found.hexdigest()[:16]


RELEASE = _release()


def file_for(path: str) -> str:
    """The file (relative to the folder) that answers `path`: the pretty-URL rule."""
    if path == "/":
        return "index.html"
    relative = path.lstrip("/")
    return relative if "." in relative.rsplit("/", 1)[-1] else relative + ".html"


@dataclass(frozen=True, slots=True)
class Document:
    """One URL of the site: how to render it, and what it is made of (for reuse)."""

    path: str
    content_type: str
    render: Callable[[], bytes]
    key: str  # at one path, equal keys, equal bytes: the file of a previous folder is reused
    modified: datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()


def _digest(*parts: object) -> str:
    # repr of frozen model objects is deterministic: same values, same text.
    return hashlib.sha256(repr((RELEASE, parts)).encode("utf-8")).hexdigest()[:32]


def moments(schedule: Schedule) -> tuple[datetime, ...]:
    """The instants documents change at by themselves, sorted: sessions and planned dates ending,
    announcements and news coming due, and every date a document is dated by (`_clamped`): each
    revision's, so that Last-Modified moves on at a publication, even before a date ahead."""
    found = [t for s in schedule.sessions for t in (s.end, s.announced, s.updated)]
    found += [t for p in schedule.planned for t in (p.end, p.updated)]
    found += [r.at for s in schedule.sessions for r in s.revisions]
    found += [schedule.calendar.updated, *schedule.calendar.listed.values()]
    return tuple(sorted({t for t in found if t is not None}))


def period(schedule: Schedule, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The last moment passed at `now` and the next one: a folder holds between the two."""
    found = moments(schedule)
    index = bisect_right(found, now)
    return (found[index - 1] if index else None, found[index] if index < len(found) else None)


def folder_name(version: Version, now: datetime) -> str:
    """The folder of `version` at `now`: one per release, version and period between moments."""
    since, _ = period(version.schedule, now)
    return folder_of(version.number, version.digest, str(int(since.timestamp()) if since else 0))


def folder_of(number: int, digest: str, since: str) -> str:
    """A version's folder for the period from `since` (a Unix time; "*": those of all periods)."""
    return f"v{number}-{digest[:10]}-{since}-{RELEASE[:8]}"


def _dated(*stamps: datetime | None) -> datetime | None:
    return max(filter(None, stamps), default=None)  # (a datetime is never false)


def _clamped(modified: datetime | None, since: datetime | None) -> datetime | None:
    """RFC 9110: Last-Modified is never after the answer. A date to come (a moment) is the
    period's start, `since`, not the build's clock: any moment of the period, the same folder."""
    return since if modified is not None and (since is None or modified > since) else modified


def fingerprints(schedule: Schedule, before: Site | None = None
                 ) -> dict[str, tuple[Session, str, str]]:
    """Each session's digest with what its documents show (calendar, contacts), by id: their
    keys, in `_manifest.jsonl`, which static hosts serve; never of a private link, nor listed.
    With the session and the digest of what it shows (this release's): a session that is the very
    one a folder built here (`before`) was of, showing the same, keeps its digest."""
    shown = _digest(dataclasses.replace(schedule.calendar, listed={}), schedule.contacts)
    kept = before.prints if before is not None else {}
    return {s.id: old if (old := kept.get(s.id)) and old[0] is s and old[1] == shown else (
        s, shown, _digest(shown, dataclasses.replace(s, video_url=s.public_video_url)))
        for s in schedule.sessions}


def session_documents(version: Version, now: datetime, prints: dict[str, str]
                      ) -> Iterator[Document]:
    """What each session is alone: its page, card, JSON, and its part (`_parts/`, one file: the
    disk makes files slowly) of the documents of many sessions: its serialized VEVENT (its .ics,
    the calendar feeds) and its lines of the agenda ("card") and the embed ("embed")."""
    schedule = version.schedule
    calendar = schedule.calendar
    for session in schedule.sessions:
        past = session.is_over(now)
        made_of = f"{prints[session.id]}{'-past' if past else ''}"  # a key (no path: see Document)
        modified = _dated(session.updated, calendar.updated, calendar.listed.get(session.id),
                          session.end if past else None)  # (listed: its announcement moved)
        yield Document(f"{PARTS}sessions/{session.id}.part", PART_TYPE,
                       lambda s=session, p=past: _part(calendar, s, p), made_of)
        for suffix, content_type, render, headers in (
                ("", HTML_TYPE, html.session_page, ()), (".png", PNG_TYPE, cards.session_card, ()),
                (".json", JSON_TYPE, json_api.session_bytes, DESCRIBED)):
            path = links.session_path(session, suffix)
            yield Document(path, content_type, lambda s=session, r=render: r(schedule, s, now),
                           made_of, modified, headers)
    for key, entry in version.history.sessions.items():  # its address says so, not a 404
        if (at := entry.withdrawn) is not None and schedule.session(key) is None:
            path = f"{links.SESSIONS_FOLDER}/{key}"
            yield Document(path, HTML_TYPE, lambda at=at: html.withdrawn_page(calendar, at),
                           _digest(calendar, path, at), _dated(at, calendar.updated))


def _part(calendar: CalendarInfo, session: Session, past: bool) -> bytes:
    """A session's part (`session_documents`): its lines, its VEVENT if dated, after a line that
    says where each is (JSON): each whole-schedule document slices 10,000, not decoded."""
    fields = {k: v.encode() for k, v in html.list_items(calendar, session, past).items()} | (
        {"vevent": ical.event_bytes(calendar, session)} if session.is_dated else {})
    where, at = {}, 0
    for name, value in fields.items():
        where[name], at = (at, at + len(value)), at + len(value)
    return json.dumps(where).encode() + b"\n" + b"".join(fields.values())


def shared_documents(version: Version, now: datetime, parts: Callable[[str], Mapping[str, bytes]],
                     prints: dict[str, str], members: Mapping[str, bytes], sizes: Mapping[str, int],
                     known: Mapping[Any, Any]) -> tuple[Iterator[Document], Iterator[Document]]:
    """The documents of the whole schedule and each series, made anew at any edit (keyed by the
    version), then those of each city and the sessions' .ics, at `now`, from the parts and JSON
    documents of `session_documents` (`parts` of a field, `members`: by session id), its cards'
    sizes (`sizes`), `fingerprints` (`prints`) and the time zones' changes (ical.zone_changes)."""
    schedule, events = version.schedule, parts("vevent")
    calendar = schedule.calendar
    updated = calendar.updated
    since, _ = period(schedule, now)
    whole = f"{version.number}:{version.digest}"  # a version never changes
    ended = _dated(latest_update(schedule.sessions + schedule.planned),  # all they list
                   calendar.listed.get(list_key()))
    # Each VTIMEZONE made once, for all the calendars of its window (a city of one session's).
    zones = cache(lambda window: vtimezone.from_window(*window, known.get(window[0])).to_ical())
    made = (events, prints, zones, latest_update(schedule.sessions, now) or feeds.NO_DATE, sizes)

    def of_schedule() -> Iterator[Document]:
        for path, content_type, render, headers in (  # the longest to render first, while
                (links.EVENTS_JSON_PATH, JSON_TYPE,  # another worker renders the next
                 partial(json_api.events_bytes, members=members), DESCRIBED),
                ("/", HTML_TYPE, partial(html.agenda_page, items=parts("card")), ()),
                ("/embed", HTML_TYPE, partial(html.embed_page, items=parts("embed")),
                 tuple(security("/embed", ANY_FRAMING))),
                (links.AGENDA_CARD_PATH, PNG_TYPE, cards.agenda_card, ())):
            yield Document(path, content_type, lambda r=render: r(schedule, now),
                           _digest(whole, path, since), _dated(ended, since, updated), headers)
        yield Document(links.EVENTS_SCHEMA_PATH, SCHEMA_TYPE,
                       lambda: json_api.schema_bytes(schedule),
                       _digest(calendar, "schema"), updated)
        yield Document("/robots.txt", "text/plain; charset=utf-8", lambda: links.ROBOTS.format(
            calendar.url(links.SITEMAP_PATH)).encode(), _digest(calendar.base_url, "robots"))
        for name, content_type in STATIC_FILES.items():
            yield Document(f"/static/{name}", content_type,
                           lambda name=name: (STATIC_FOLDER / name).read_bytes(), _digest(name))
        yield from _filtered(version, now, None, None, schedule.sessions, *made)
        for series in schedule.series:
            chosen = tuple(s for s in schedule.sessions if s.series.id == series.id)
            yield from _filtered(version, now, series.id, None, chosen, *made)
        for series_id, title in version.history.gone_series.items():  # their feeds stay, empty
            yield from _filtered(version, now, series_id, None, (), *made, title)

    def of_cities() -> Iterator[Document]:
        by_city: dict[str, list[Session]] = {}
        for session in schedule.sessions:
            by_city.setdefault(session.city, []).append(session)
        # A slug is one city's (check sees to it); a city's spelling now, over one gone from it.
        named = {links.city_slug(c): c for c in (*version.history.gone_cities, *sorted(by_city))}
        for city in named.values():
            yield from _filtered(version, now, None, city, tuple(by_city.get(city, ())), *made)
        for session in schedule.sessions:  # the .ics of a dated session, made of its VEVENT
            if session.is_dated:
                path = links.session_path(session, ".ics")
                yield Document(
                    path, ICAL_TYPE,
                    lambda s=session: ical.session_bytes(schedule, s, events.get(s.id), zones),
                    prints[session.id], _dated(session.updated, updated),
                    (("Content-Disposition", "attachment"),))  # browsers name it after the URL
    return of_schedule(), of_cities()


def _filtered(version: Version, now: datetime, series_id: str | None, city: str | None,
              chosen: tuple[Session, ...], events: Mapping[str, bytes], prints: dict[str, str],
              zones: Callable[[Any], bytes], anyone: datetime, sizes: Mapping[str, int],
              series_title: str | None = None) -> Iterator[Document]:
    """The calendar and news feeds of the whole schedule, a series or a city (a series gone
    from the schedule by its `series_title`); `anyone`: feeds.feed_updated's."""
    schedule = version.schedule
    calendar = schedule.calendar
    title = wording.publication_title(schedule, series_id, city, series_title)
    folder = (links.series_doc_path(series_id, "") if series_id is not None  # its feeds' folder
              else links.city_doc_path(city, "") if city is not None else "/")
    # Only a city's documents are made of its own sessions alone (its calendar's VTIMEZONE
    # too, when one is dated); the others change with any edit: keyed by the version.
    made_of: object = tuple(prints[s.id] for s in chosen) if city is not None and \
        any(s.is_dated for s in chosen) else f"{version.number}:{version.digest}"
    # Planned dates have no city yet: a city's feed has none of them.
    series_ids = () if city else ([series_id] if series_id else None)
    planned = tuple(p for p in schedule.planned if series_ids is None or p.series.id in series_ids)
    gone = max((p.end for p in planned if p.end <= now), default=None)  # it left the feed then
    path = folder + "calendar.ics"
    listed = calendar.listed.get(list_key(city, series_id))  # it lost or gained a session
    yield Document(path, ICAL_TYPE,
                   lambda: ical.feed_bytes(schedule, chosen, title, series_ids, events, now, zones),
                   _digest(made_of, path, title, gone),
                   _dated(latest_update(chosen + planned), calendar.updated, listed, gone))
    # An announcement dated in the future is held back until then: the file can
    # be prepared ahead of the press release.
    published = tuple(s for s in chosen if s.announced is not None and s.announced <= now)
    due = tuple((len(feeds.news([s], now)), s.is_over(now), sizes.get(s.id)) for s in published)
    if latest_update(chosen) is None:  # nothing of its own: dated by the whole schedule
        made_of = f"{version.number}:{version.digest}"
    updated = feeds.feed_updated(schedule, published, chosen, now, listed, anyone)  # lastBuildDate
    for name, render, content_type in (("rss.xml", partial(feeds.rss_bytes, sizes=sizes), RSS_TYPE),
                                       ("atom.xml", feeds.atom_bytes, ATOM_TYPE)):
        path = folder + name
        yield Document(
            path, content_type,
            lambda render=render, path=path: render(schedule, published, title, now, path, updated),
            _digest(made_of, path, title, tuple(prints[s.id] for s in published), due, updated),
            None if updated == feeds.NO_DATE else updated)


# --- the manifest -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One URL of a built folder: its file's ETag and size, its codings and headers."""

    path: str
    etag: str
    size: int
    codings: tuple[str, ...]  # compressed siblings, in the server's order of preference
    headers: tuple[tuple[str, str], ...]  # every coding's (not ETag, Vary, Content-Encoding)
    key: str
    modified: str | None  # the Last-Modified header's value, if any

    @property
    def file(self) -> str:
        """The file, relative to the folder."""
        return file_for(self.path)

    def line(self, kinds: dict[tuple[tuple[str, str], ...], int]) -> bytes:
        """The entry's line in the manifest; its headers by their number in `kinds`
        (most URLs share theirs with many others: each set is written once)."""
        row = [self.path, self.etag, self.size, list(self.codings), kinds[self.headers], self.key,
               self.modified]
        return (LINE.encode(row) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Site:
    """A built folder, read: its manifest's entries by URL path."""

    folder: Path
    version: int
    digest: str
    built_for: datetime
    valid_from: datetime | None
    valid_until: datetime | None
    entries: dict[str, Entry]
    ino: int  # the manifest's inode: a folder built anew in the same place has another
    extras: str = ""  # the key of the files of `_write_extras`
    # In the process that built it, its sessions' `fingerprints` and the time zones' changes
    # (ical.zone_changes), which the next build reuses.
    prints: Mapping[str, tuple[Session, str, str]] = dataclasses.field(
        default_factory=dict, repr=False, compare=False)
    known: Mapping[Any, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def holds(self, now: datetime) -> bool:
        """True when `now` is in the period between moments this folder was built for."""
        return (self.valid_from is None or self.valid_from <= now) and \
            (self.valid_until is None or now < self.valid_until)

    def open(self, entry: Entry, coding: str) -> Any:
        """The file of `entry` in `coding`, opened for reading (the caller closes it)."""
        return open(self.folder / (entry.file + SIBLINGS.get(coding, "")), "rb")  # noqa: SIM115


class SiteError(AgendaError):
    """A folder that is not a complete build (no manifest, unreadable, another format)."""


def read_site(folder: Path, like: Site | None = None) -> Site:
    """The built folder at `folder`; SiteError when it is not complete. The manifest is read a
    line at a time (90,000 URLs at 10,000 sessions), or not at all when `like` is the folder it
    was built from (`CHANGES`). An entry equal to `like`'s for its URL is that one: a folder
    takes memory only for what changed."""
    try:
        with open(folder / MANIFEST, encoding="utf-8") as handle:
            info = os.fstat(handle.fileno())
            head, entries = like and _changed(folder, like, info.st_size) or (
                json.loads(handle.readline()), None)
            if head.get("format") != FORMAT:
                raise SiteError(f"{folder}: not a site folder of this release")
            if entries is None:
                entries = _entries(head, like, handle)
        if len(entries) != head["count"]:
            raise ValueError(f"{len(entries)} entries of {head['count']}")
        since, until = head["valid_from"], head["valid_until"]
        return Site(folder, int(head["version"]), str(head["digest"]),
                    datetime.fromisoformat(head["built_for"]),
                    datetime.fromisoformat(since) if since else None,
                    datetime.fromisoformat(until) if until else None, entries, info.st_ino,
                    str(head.get("extras", "")))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise SiteError(f"{folder}: not a complete site folder ({exc})") from None


def _entries(head: dict[str, Any], like: Site | None, lines: Iterable[str]) -> dict[str, Entry]:
    """The entries of the `lines` that follow `head` (a manifest's, or a changes file's), headers
    by their number in its kinds; each equal to `like`'s for its URL is that one."""
    kinds = [tuple(tuple(h) for h in headers) for headers in head["kinds"]]
    one: dict[Any, Any] = {}  # equal codings, keys, dates: one object each (9 MiB less at
    entries = {}  # 10,000 sessions: 41,000 keys and 1,200 dates for 90,000 URLs)
    for line in lines:
        path, etag, size, codings, kind, key, modified = DECODE(line)
        codings, key, modified = (one.setdefault(v, v) for v in (tuple(codings), key, modified))
        entry = Entry(path, etag, int(size), codings, kinds[kind], key, modified)
        old = like.entries.get(path) if like else None
        entries[path] = old if old == entry else entry
    return entries


def _changed(folder: Path, like: Site, size: int) -> tuple[dict[str, Any], dict[str, Entry]] | None:
    """The head and entries of the manifest of `folder` (of `size` bytes, whole), from `like`'s and
    the changes since its very folder (its name, its manifest's inode); else, in doubt, None."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, IndexError), open(
            folder / CHANGES, encoding="utf-8") as handle:
        head = json.loads(handle.readline())
        lines = handle.readlines()
        whole = (head["size"], head["lines"]) == (size, len(lines))  # neither was cut short
        if whole and head["from"] == [like.folder.name, like.ino]:
            entries = {**like.entries, **_entries(head, like, lines)}
            for path in head["gone"]:
                del entries[path]
            if len(entries) == head["count"]:
                return head, entries
    return None


# --- building -----------------------------------------------------------------------


def _write(target: str | Path, data: bytes) -> None:
    try:
        out = open(target, "wb")  # closed below, either way
    except FileNotFoundError:  # the first file of its folder
        os.makedirs(os.path.dirname(target), exist_ok=True)
        out = open(target, "wb")
    with out:
        out.write(data)


def render_one(document: Document, folder: Path) -> Entry:
    """Render `document` into `folder` with its compressed siblings; its manifest entry."""
    body = document.render()
    name = f"{folder}/{file_for(document.path)}"  # plain strings: 180,000 files a full build
    _write(name, body)
    etag = hashlib.sha256(body).hexdigest()[:encoding.ETAG_LENGTH]
    codings = encoding.compressed(body) if encoding.compressible(document.content_type,
                                                                   len(body)) else {}
    for coding, data in codings.items():
        _write(name + SIBLINGS[coding], data)
    if document.modified is not None:  # static hosts date a file by its modification time
        stamp = document.modified.timestamp()
        for suffix in ("", *(SIBLINGS[c] for c in codings)):
            os.utime(name + suffix, (stamp, stamp))
    own = document.headers  # with its own policy (the embed's), else the site's
    if not any(name == "Content-Security-Policy" for name, _ in own):
        own += tuple(security(document.path, NO_FRAMING))
    headers = (("Content-Type", document.content_type), ("Cache-Control", CACHE_CONTROL), *own)
    return Entry(document.path, etag, len(body), tuple(codings), headers,
                 document.key, http_date(document.modified) if document.modified else None)


def _reuse(entry: Entry, old: str, new: str, folders: set[str]) -> bool:
    """Hard-link the files of `entry` from the folder `old` into `new` (both ending in "/");
    False if one is gone. `folders` holds the folders made in `new` so far (one mkdir each)."""
    name = entry.file
    folder = name.rpartition("/")[0]  # its compressed siblings are beside it
    try:
        if folder not in folders:
            os.makedirs(new + folder, exist_ok=True)
            folders.add(folder)
        for suffix in ("", *(SIBLINGS[c] for c in entry.codings)):
            os.link(old + name + suffix, new + name + suffix)
    except OSError:
        return False
    return True


# What a forked build worker renders: handed over at the fork (Pool's initializer runs in the
# child, on the documents the fork copied; closures could not be sent). Only workers set it.
_WORK: tuple[list[Document], Path] = ([], Path())


def _receive(todo: list[Document], folder: Path, started: Any) -> None:
    global _WORK  # noqa: PLW0603 - in a build worker, once, at its start
    _WORK = (todo, folder)
    with started.get_lock():
        started.value += 1
    # Forked from a gunicorn worker, it inherits signal handlers that only ask a loop it does not
    # run to stop: the defaults back, so that the pool can end it.
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def _render_slice(indexes: range) -> list[Entry]:
    todo, folder = _WORK
    return [render_one(todo[i], folder) for i in indexes]


@contextlib.contextmanager
def _rendering(todo: list[Document], folder: Path, workers: int
               ) -> Iterator[Callable[[], list[Entry]]]:
    """Render `todo` into `folder`, on `workers` processes when there is enough to do, while the
    caller goes on in the context; what it gives waits for their entries (or renders them)."""
    if workers <= 1 or len(todo) < PARALLEL_FROM:
        yield lambda: [render_one(d, folder) for d in todo]
        return
    # Small slices: the last ones, taken while the other workers end theirs, keep all busy.
    size = max(1, len(todo) // (workers * 32))
    slices = [range(i, min(i + size, len(todo))) for i in range(0, len(todo), size)]
    context = multiprocessing.get_context("fork")
    started = context.Value("i", 0)  # the pool replaces a worker killed (out of memory?)
    pool = context.Pool(workers, initializer=_receive, initargs=(todo, folder, started))
    try:
        parts = pool.map_async(_render_slice, slices, chunksize=1)  # handed over at once

        def entries() -> list[Entry]:
            while not parts.ready():  # but the slice it held never comes: not waited for ever
                if started.value > workers:
                    raise SiteError(_("a build worker was killed (out of memory?)"))
                parts.wait(0.5)
            pool.close()  # the workers end when they have nothing more to do
            return [e for part in parts.get() for e in part]
        yield entries
    finally:
        pool.terminate()
        pool.join()


def _sort_out(documents: Iterable[Document], since: datetime | None, previous: Site | None
              ) -> tuple[list[Entry], list[Document]]:
    """The entries of `previous` with the key and date of one of `documents` (files reused), and
    the other documents, to render, dated no later than `since` (`_clamped`)."""
    reused, todo = list[Entry](), list[Document]()
    header = cache(lambda at: http_date(at) if at else None)  # 90,000 files, a few hundred dates
    for document in documents:
        old = previous.entries.get(document.path) if previous is not None else None
        modified = _clamped(document.modified, since)
        if old is not None and old.key == document.key and old.modified == header(modified):
            reused.append(old)
            continue
        if modified is not document.modified:  # (a copy only of those rendered)
            document = dataclasses.replace(document, modified=modified)
        if old is None or old.key != document.key:
            todo.append(document)
        else:  # a new moment dates it anew (a file has one date): its bytes, not drawn again
            todo.append(dataclasses.replace(document, render=lambda r=document.render, file=(
                f"{previous.folder}/{old.file}", old.size): _whole(*file) or r()))  # (or cut)
    return reused, todo


def _whole(name: str, size: int) -> bytes | None:
    """The bytes of the file `name` if it holds `size` of them: not gone, nor cut short. Read
    without a file object (a third of the time: whole-schedule documents read 10,000 each)."""
    with contextlib.suppress(OSError):
        handle = os.open(name, os.O_RDONLY)
        try:
            if len(data := os.read(handle, size + 1)) == size:  # more: it grew, not this file
                return data
        finally:
            os.close(handle)
    return None


def _shared(entries: list[Entry]) -> list[Entry]:
    """`entries` with one tuple for equal headers and one for equal codings, as `read_site`
    reads them: 90,000 entries of a folder just built hold a few dozen tuples, not 180,000.
    The first entries' tuples are kept: those reused from a folder, already shared, first."""
    one: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    return [e if one.setdefault(e.headers, e.headers) is e.headers
            and one.setdefault(e.codings, e.codings) is e.codings
            else dataclasses.replace(e, headers=one.setdefault(e.headers, e.headers),
                                     codings=one.setdefault(e.codings, e.codings))
            for e in entries]


class _Files(Mapping[str, bytes]):
    """The files in `folder` of the `entries` (by URL path) at `prefix` + id + `suffix`, by each
    of `ids` (sessions'): read when asked, never all held (10,000 VEVENTs or JSON documents); one
    gone or cut (not its manifest size) is missing: rendered. Of parts (`_part`), with a `field`:
    that field's bytes, missing if the part has none."""

    def __init__(self, folder: Path, entries: Mapping[str, Entry], ids: Iterable[str],
                 prefix: str, suffix: str, field: str | None = None) -> None:
        self.files = {i: (f"{folder}/{e.file}", e.size) for i in ids
                      if (e := entries.get(prefix + i + suffix)) is not None}
        self.field = field

    def __getitem__(self, key: str) -> bytes:
        if (data := _whole(*self.files[key])) is not None and self.field is not None:
            head, body = data.split(b"\n", 1)
            data = body[slice(*DECODE(head.decode()).get(self.field, (0, 0)))] or None
        if data is None:
            raise KeyError(key)
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


def build(version: Version, now: datetime, target: Path, previous: Site | None = None,
          workers: int | None = None) -> Site:
    """Build the folder of `version` at `now` into `target`, atomically: a folder there (damaged)
    is replaced once this one is complete. Files whose inputs are those of a file of `previous`
    are hard-linked from it; the Site built."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # It starts from the files of `previous`, linked: its spare, made ahead (`prepare`), else
    # linked now into a folder of this call's (two threads may build one target: the desk's).
    holder = (_spare(previous, target.parent) if previous else None) or Path(
        tempfile.mkdtemp(f".{os.getpid()}.tmp", f".{target.name}.", target.parent))
    temporary = holder / "site"  # made as the folder served: mkdtemp's is its owner's alone
    origin = previous  # whole, for the changes (CHANGES) a process serving it reads
    try:
        if not temporary.exists():
            temporary.mkdir()
            previous = previous and _linked(previous, temporary)  # a file gone: rendered again
        workers = workers or os.cpu_count() or 1
        printed = fingerprints(version.schedule, origin)
        prints = {key: made for key, (_, _, made) in printed.items()}
        since, until = period(version.schedule, now)
        now = since or min(now, feeds.NO_DATE)  # the period's documents are those of its start
        reused, todo = _sort_out(session_documents(version, now, prints), since, previous)
        _clear(temporary, previous, [links.SITEMAP_PATH, *(d.path for d in todo)])
        with _rendering(todo, temporary, workers) as rendered:
            entries = rendered()
        made = partial(_Files, temporary, {e.path: e for e in entries + reused},
                       [s.id for s in version.schedule.sessions])
        parts = (partial(made, f"{PARTS}sessions/", ".part"), prints, made(
            f"{links.SESSIONS_FOLDER}/", ".json"), {key: size for key, (_, size) in made(
                f"{links.SESSIONS_FOLDER}/", ".png").files.items()})  # the cards' sizes
        known = ical.zone_changes(version.schedule, origin and origin.known)
        first, then = shared_documents(version, now, *parts, known)
        more, todo = _sort_out(first, since, previous)
        _clear(temporary, previous, [d.path for d in todo])
        with _rendering(todo, temporary, workers) as rendered:  # while the others are sorted out
            others, todo = _sort_out(then, since, previous)  # (in folders of their own)
            _clear(temporary, previous, [d.path for d in todo])
            with _rendering(todo, temporary, workers) as rest:
                entries += rest() + rendered()
        more += others
        entries = _shared(reused + more + [_redated(e, previous, since, temporary)
                                           for e in entries])
        entries.append(_redated(render_one(_sitemap(version.schedule, entries), temporary),
                                previous, since, temporary))
        entries.sort(key=lambda e: e.path)
        gone = origin.entries.keys() - {e.path for e in entries} if origin else set()
        _clear(temporary, previous, gone)  # what this version no longer has (a session withdrawn)
        extras = _write_extras(version.schedule, temporary, entries, previous)
        head = {
            "format": FORMAT, "release": RELEASE, "version": version.number,
            "digest": version.digest, "built_for": now.isoformat(),
            "valid_from": since.isoformat() if since else None,
            "valid_until": until.isoformat() if until else None, "count": len(entries),
            "extras": extras,
        }
        size = _write_lines(temporary / MANIFEST, head, entries, origin)
        if origin:  # its entries reused are its very objects; what a process serving it reads
            changed = [e for e in entries if origin.entries.get(e.path) is not e]
            _write_lines(temporary / CHANGES, {**head, "from": [origin.folder.name, origin.ino],
                         "gone": sorted(gone), "size": size, "lines": len(changed)}, changed)
        if _release() != RELEASE:  # templates, static files, lazy imports, tzdata: read from disk
            raise SiteError(_("agenda or tzdata changed on disk ({package}) since this process "
                              "started: restart it (systemctl restart agenda)", package=PACKAGE))
        os.sync()  # else, after a power cut, nginx would serve files ext4 had not written yet
        if target.is_dir():  # damaged, it is served (by nginx too) until this one takes its place
            os.rename(target, holder / "old")
        os.rename(temporary, target)
    except OSError as error:  # a write's names no file (a full disk): the folder, then
        error.filename = error.filename or str(target)
        raise
    finally:  # even interrupted: what it built, or the folder it replaced
        shutil.rmtree(holder, ignore_errors=True)
    return Site(target, version.number, version.digest, now, since, until,
                {e.path: e for e in entries}, os.stat(target / MANIFEST).st_ino, extras, printed,
                known)


def _write_lines(name: Path, head: dict[str, Any], entries: list[Entry], like: Site | None = None
                 ) -> int:
    """Write a manifest or changes file: `head`, the headers of `entries`, their lines; its size.
    An entry of `like` (the folder built from) has the line of its manifest if it numbers the
    headers alike: copied, not encoded again (most of 90,000 at an edit of 10,000 sessions)."""
    kinds = {h: i for i, h in enumerate(dict.fromkeys(e.headers for e in entries))}
    listed = [[list(h) for h in headers] for headers in kinds]
    kept, old = (like.entries, _lines(like, listed)) if like else ({}, iter(()))
    with open(name, "wb") as out:
        out.write(json.dumps({**head, "kinds": listed}, ensure_ascii=False).encode("utf-8") + b"\n")
        for e in entries:
            for path, line in old if kept.get(e.path) is e else ():  # (both sorted by path)
                if path == e.path and line.startswith(b'["%s",' % path.encode()) and \
                        line.endswith(b"\n"):  # its own (no shift), not cut short
                    out.write(line)
                    break
            else:
                out.write(e.line(kinds))
        return out.tell()


def _lines(site: Site, kinds: list[Any]) -> Iterator[tuple[str, bytes]]:
    """The lines of the manifest of `site` (its very file) with their URL paths, if it numbers
    headers as `kinds`: its entries' lines, as `_write_lines` wrote them."""
    name = site.folder / MANIFEST
    with contextlib.suppress(OSError, ValueError, LookupError, TypeError), open(name, "rb") as file:
        if os.fstat(file.fileno()).st_ino == site.ino and json.loads(file.readline())["kinds"] \
                == kinds:  # (the same headers, numbered alike)
            yield from zip(sorted(site.entries), file, strict=False)


def prepare(site: Site) -> None:
    """Ready the start of the next build from `site`, its spare: its files linked, as `build`
    links them when there is none, made while the service is idle (the 180,000 links of a
    site at 10,000 sessions are then off the edit's path). Under the publishing lock."""
    if _spare(site, site.folder.parent) is not None:
        return
    for old in site.folder.parent.glob(".*.spare.*.tmp"):  # of a folder before: of no use now
        shutil.rmtree(old, ignore_errors=True)
    holder = site.folder.with_name(f".{site.folder.name}.spare.{os.getpid()}.tmp")
    if _linked(site, holder / "site") is site:
        (holder / f"ready-{site.ino}").touch()  # complete: a spare a build may start from
    else:  # a file gone: the next build links what it reuses, and renders the rest
        shutil.rmtree(holder, ignore_errors=True)


def _linked(site: Site, folder: Path) -> Site:
    """Hard-link the files of `site` into `folder` (new); `site`, but without the entries whose
    files could not be (gone: rendered again) if any (no copy of its 80,000 entries else)."""
    source, target, folders = f"{site.folder}/", f"{folder}/", set[str]()
    gone = {path for path, e in site.entries.items() if not _reuse(e, source, target, folders)}
    return dataclasses.replace(site, entries={path: e for path, e in site.entries.items()
                                              if path not in gone}) if gone else site


def _spare(previous: Site, root: Path) -> Path | None:
    """The spare of `previous` in `root`, complete, made by `prepare`, if there is one."""
    return next((holder for holder in root.glob(f".{glob.escape(previous.folder.name)}.spare.*.tmp")
                 if (holder / f"ready-{previous.ino}").exists()), None)


def _clear(folder: Path, previous: Site | None, paths: Iterable[str]) -> None:
    """Unlink from `folder`, the files of `previous` linked, the files of `paths` (with their
    siblings; their folder when none is left in it): what the build renders again or drops.
    Written into, a file linked would change the folder served."""
    for entry in filter(None, map((previous.entries if previous else {}).get, paths)):
        for suffix in ("", *(SIBLINGS[c] for c in entry.codings)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{folder}/{entry.file}{suffix}")
        with contextlib.suppress(OSError):
            os.rmdir(f"{folder}/{entry.file}".rpartition("/")[0])


def _redated(entry: Entry, previous: Site | None, since: datetime | None, folder: Path) -> Entry:
    """`entry`, rendered, other bytes than the previous folder's without a later date (a release's
    wording): a second later (earlier, at the period's start), or nginx's ETag would not move."""
    old = previous.entries.get(entry.path) if previous else None
    stamp = parse_date(old.modified) if old and old.etag != entry.etag and old.modified else None
    if not (stamp and since and entry.modified and parse_date(entry.modified) <= stamp <= since):
        return entry  # the same bytes, a date moved on, or a folder of a moment after this one
    stamp += timedelta(seconds=1 if stamp < since else -1)
    for suffix in ("", *(SIBLINGS[c] for c in entry.codings)):
        os.utime(f"{folder}/{entry.file}{suffix}", (stamp.timestamp(), stamp.timestamp()))
    return dataclasses.replace(entry, modified=http_date(stamp))


def _sitemap(schedule: Schedule, entries: list[Entry]) -> Document:
    """/sitemap.xml: the pages to index (the agenda's, the sessions'), dated as they are served."""
    served, read = {e.path: e.modified for e in entries}, cache(parse_date)  # few dates
    pages = [(schedule.calendar.url(p), read(served.get(p)))
             for p in ("/", *(links.session_path(s) for s in schedule.sessions))]
    return Document(links.SITEMAP_PATH, "text/xml; charset=utf-8",  # text/: sent compressed
                    lambda: links.sitemap_xml(pages), "", _dated(*(at for _, at in pages)))


def _write_extras(schedule: Schedule, folder: Path, entries: list[Entry], previous: Site | None
                  ) -> str:
    """What static hosts need beside the files: `_headers`, nginx's conf, `404.html`; made of the
    URLs and their headers alone (a key, returned): an edit's links those of `previous`."""
    kinds = {h: i for i, h in enumerate(dict.fromkeys(e.headers for e in entries))}
    urls = "".join(f"{e.path}\t{kinds[e.headers]}\t{e.modified is None}\n" for e in entries)
    key = _digest(schedule.calendar, list(kinds), hashlib.sha256(urls.encode()).hexdigest())
    (folder / "_nginx").mkdir(exist_ok=True)
    with contextlib.suppress(OSError):  # one gone: written
        if previous is not None and previous.extras == key:
            for name in EXTRAS:
                os.link(previous.folder / name, folder / name)
            return key
    for name in EXTRAS:  # one linked: never written through (the folder served's)
        (folder / name).unlink(missing_ok=True)
    from agenda import hosting  # the host configurations only; kept apart for size

    with open(folder / "_headers", "w", encoding="utf-8") as out:
        out.writelines(hosting.headers_file(entries))
    for name, text in hosting.nginx_files(entries, schedule.calendar.base_url).items():
        _write(folder / "_nginx" / name, text.encode("utf-8"))
    _write(folder / "404.html", html.error_page(schedule.calendar, 404, *html.ERRORS[404]))
    return key


def export(site: Site, outdir: Path) -> int:
    """Copy the folder of `site` into `outdir` (hard links where the disk allows); files copied.
    `outdir` must be new, empty, or a previous export (it has a manifest), which is replaced."""
    if outdir.exists() and any(outdir.iterdir()) and not (outdir / MANIFEST).exists():
        raise AgendaError(_("{path} is not empty and holds no previous export ({manifest}); "
                            "choose an empty or new folder.", path=outdir, manifest=MANIFEST))
    temporary = outdir.with_name(f".{outdir.name}.{os.getpid()}.tmp")
    for left in outdir.parent.glob(f".{glob.escape(outdir.name)}.*.tmp*"):  # an export killed
        pid = left.name[len(outdir.name) + 2:].split(".")[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not alive(int(pid), left)):
            shutil.rmtree(left, ignore_errors=True)
    copied = []

    def link_or_copy(source: str, target: str) -> None:
        copied.append(None)
        with contextlib.suppress(OSError):  # else another disk
            return os.link(source, target)
        try:
            shutil.copy2(source, target)
        except OSError as exc:  # ends the export (copytree would try every other file)
            raise AgendaError(_("cannot write {path}: {reason}", path=target, reason=exc)) from None

    try:
        shutil.copytree(site.folder, temporary, copy_function=link_or_copy,  # not CHANGES: of
                        ignore=shutil.ignore_patterns(CHANGES))  # the data folder's folders
        if outdir.exists():  # moved aside first: nginx misses it for two renames, not a removal
            os.rename(outdir, temporary.with_suffix(".old"))
        os.rename(temporary, outdir)
    except OSError as error:  # a folder of root's (/var/www)
        raise AgendaError(_("cannot make the export beside {path}, in {parent}, to rename it into "
                            "place ({reason}): let this user write there, on the same disk, or "
                            "export into a new folder inside {path}", path=outdir,
                            parent=outdir.parent, reason=error)) from None
    finally:  # interrupted too: renamed into place, else removed
        shutil.rmtree(temporary, ignore_errors=True)
    shutil.rmtree(temporary.with_suffix(".old"), ignore_errors=True)
    return len(copied)


def alive(pid: int, made: Path) -> bool:
    """Whether `pid`, which made the folder `made` (a build's, an export's) since boot, runs."""
    try:
        with contextlib.suppress(PermissionError):  # alive, but another user's
            os.kill(pid, 0)
        up = time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))  # macOS
        return made.stat().st_mtime > time.time() - up  # a pid of before: another process now
    except OSError:  # no such process, or folder
        return False
