"""Built bodies kept on disk, shared by every process of a deployment and across restarts.

A body (a page, a feed, a JSON document, an .ics, a card) is named by the
digest of what it is made of (agenda.digest): the same sessions give the same
name in every worker, in the next version and after a restart, so each body is
built once and found by all. It is stored with its gzip and brotli forms and
what its headers need, in one SQLite file (WAL mode: readers never wait for a
writer; two processes writing one name write the same bytes).

The store is a cache and never the source of truth: a missing or unreadable
entry is built again, and a store that cannot be opened is replaced by a
private one in a temporary folder. Memory stays small whatever the number of
sessions: a worker keeps only what `Hot` holds.

Tables:
- answers: name → ETag of the plain body, the metadata of its headers (JSON),
  and the version it was made for (NULL when made only of sessions that may
  outlive the version);
- bodies: ETag and release → bytes, for the plain body and each compressed
  form (whose ETag is the plain one plus -gz or -br), with the plain ETag they
  belong to; a new release's compressor may give other bytes for one ETag;
- parts: name → bytes, per-session pieces that whole-schedule documents are
  assembled from (one event of the calendar, one item of the JSON);
- notes: the digest of the code that wrote the parts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agenda.digest import CODE
from agenda.encoding import IDENTITY, Form

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    name TEXT PRIMARY KEY, version TEXT, etag TEXT NOT NULL, meta TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS answers_version ON answers(version);
CREATE TABLE IF NOT EXISTS bodies (etag TEXT PRIMARY KEY, plain TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS bodies_plain ON bodies(plain);
CREATE TABLE IF NOT EXISTS parts (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS notes (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


# Connections a forked process found open (see BodyStore._db): kept, never closed.
_INHERITED: list[sqlite3.Connection] = []


def default_path(published: Path) -> Path:
    """Where the bodies of a published version are kept by default: beside it, hidden."""
    return published.with_name("." + published.stem + ".bodies.sqlite")


# Rows of `bodies` are keyed by ETag and release: the compressed forms of one
# plain body (one ETag) differ from one release's compressor settings to the next.
RELEASE = "@" + CODE[:16]

# Bodies above this are streamed from the store to the client, never read whole.
LARGE = 1 << 19
CHUNK = 1 << 18


@dataclass(frozen=True, slots=True)
class Blob:
    """A large body in the store, sent in chunks (`BodyStore.stream`)."""

    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class Stored:
    """An answer found in the store: its bodies (or Blobs) by coding, their ETags, metadata."""

    bodies: dict[str, bytes | Blob]
    etags: dict[str, str]
    meta: dict[str, Any]


class BodyStore:
    """The SQLite file of built bodies; one connection per process and thread."""

    def __init__(self, path: Path | None) -> None:
        """Open (or create) the store at `path`; None, or a path that fails, uses a private one."""
        self._local = threading.local()
        self.path = self._usable(path)

    def _usable(self, path: Path | None) -> Path:
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._forget_other_code(self._open(path))
                return path
            except (OSError, sqlite3.Error) as error:
                log.warning("cannot keep built bodies in %s (%s); using a private store",
                            path, error)
        private = Path(tempfile.mkdtemp(prefix="agenda-bodies-")) / "bodies.sqlite"
        self._open(private).close()
        return private

    @staticmethod
    def _forget_other_code(connection: sqlite3.Connection) -> None:
        """Drop the parts an older release wrote (answers go by the sweep), then close."""
        with connection:
            noted = connection.execute("SELECT value FROM notes WHERE name = 'code'").fetchone()
            if noted is None or noted[0] != CODE:
                connection.execute("DELETE FROM parts")
                connection.execute("INSERT OR REPLACE INTO notes VALUES ('code', ?)", (CODE,))
        connection.close()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        try:
            connection = _connect(path)
        except sqlite3.DatabaseError as error:
            if "not a database" not in str(error) and "malformed" not in str(error):
                raise
            # A cache that no longer reads is thrown away, never repaired.
            log.warning("%s is damaged (%s); starting it afresh", path, error)
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            connection = _connect(path)
        return connection

    def _db(self) -> sqlite3.Connection:
        """This process's and thread's connection (a connection must not cross a fork)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            inherited = getattr(local, "connection", None)
            if inherited is not None:
                # Opened before a fork: never used nor closed here, since closing it
                # in the child could release the parent's locks or its WAL files.
                _INHERITED.append(inherited)
            local.connection = self._open(self.path)
            local.pid = os.getpid()
        return local.connection

    # --- answers --------------------------------------------------------------

    def has(self, name: str) -> bool:
        """True when the answer `name` is stored."""
        try:
            row = self._db().execute("SELECT 1 FROM answers WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as error:
            log.warning("reading %s failed: %s", self.path, error)
            return False
        return row is not None

    def get(self, name: str) -> Stored | None:
        """The answer `name`, or None (never stored, or lost); large bodies as Blobs."""
        try:
            db = self._db()
            row = db.execute("SELECT etag, meta FROM answers WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            etag, meta = row
            forms = db.execute(
                "SELECT etag, CASE WHEN length(data) > ? THEN length(data) ELSE data END "
                "FROM bodies WHERE plain = ?", (LARGE, etag)).fetchall()
        except sqlite3.Error as error:
            log.warning("reading %s failed: %s", self.path, error)
            return None
        found = json.loads(meta)
        by_etag = {e[:-len(RELEASE)]: (Blob(e[:-len(RELEASE)], data) if type(data) is int else data)
                   for e, data in forms if e.endswith(RELEASE)}
        etags = {coding: etag + suffix for coding, suffix in found["suffixes"].items()}
        if any(e not in by_etag for e in etags.values()):
            return None  # swept by another process meanwhile: built again
        return Stored({c: by_etag[e] for c, e in etags.items()}, etags, found)

    def stream(self, blob: Blob) -> Iterator[bytes]:
        """The bytes of a large body, a chunk at a time (a sweep meanwhile cuts it short)."""
        try:
            db = self._db()
            row = db.execute("SELECT rowid FROM bodies WHERE etag = ?",
                             (blob.etag + RELEASE,)).fetchone()
            if row is None:
                return
            with db.blobopen("bodies", "data", row[0], readonly=True) as reader:
                while chunk := reader.read(CHUNK):
                    yield chunk
        except sqlite3.Error as error:
            log.warning("reading %s failed: %s", self.path, error)

    def read(self, blob: Blob) -> bytes:
        """The bytes of a large body, whole (for the rare answers that need them so)."""
        return b"".join(self.stream(blob))

    def put(self, name: str, version: str | None, forms: dict[str, Form],
            meta: dict[str, Any]) -> bool:
        """Store an answer: its forms by coding (identity first) and metadata; False on failure."""
        plain = forms[IDENTITY].etag
        document = dict(meta, suffixes={c: f.etag[len(plain):] for c, f in forms.items()})
        try:
            db = self._db()
            for form in forms.values():
                if form.data is not None:
                    db.execute("INSERT OR IGNORE INTO bodies VALUES (?, ?, ?)",
                               (form.etag + RELEASE, plain, form.data))
                    continue
                # Written through a blob handle, a piece at a time, never whole in memory.
                cursor = db.execute("INSERT OR IGNORE INTO bodies VALUES (?, ?, zeroblob(?))",
                                    (form.etag + RELEASE, plain, form.size))
                if cursor.rowcount:
                    assert form.file is not None
                    form.file.seek(0)
                    with db.blobopen("bodies", "data", cursor.lastrowid) as writer:
                        while chunk := form.file.read(CHUNK):
                            writer.write(chunk)
            db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)",
                       (name, version, plain, json.dumps(document, separators=(",", ":"))))
            self._written()
        except sqlite3.Error as error:
            log.warning("writing %s failed: %s; the body stays in memory only", self.path, error)
            self._rollback()
            return False
        return True

    @contextlib.contextmanager
    def batch(self, size: int = 200) -> Iterator[None]:
        """Commit writes by groups of `size` within this block (a build), not one by one.

        Each commit costs about as much as building a small body; other
        processes wait at most one group for the lock.
        """
        local = self._local
        local.batch, local.unsaved = size, 0
        try:
            yield
        finally:
            local.batch = 0
            self._commit()

    def _written(self) -> None:
        local = self._local
        local.unsaved = getattr(local, "unsaved", 0) + 1
        if local.unsaved >= getattr(local, "batch", 0):
            self._commit()

    def _commit(self) -> None:
        local = self._local
        local.unsaved = 0
        try:
            self._db().commit()
        except sqlite3.Error as error:
            log.warning("writing %s failed: %s", self.path, error)
            self._rollback()

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db().rollback()

    def names(self) -> list[str]:
        """Every answer stored (tests and maintenance)."""
        return [n for (n,) in self._db().execute("SELECT name FROM answers")]

    def every_body(self) -> Iterator[bytes]:
        """Every body stored, in every form (tests: what could ever be served)."""
        for (data,) in self._db().execute("SELECT data FROM bodies"):
            yield data

    # --- parts ------------------------------------------------------------------

    def part(self, name: str) -> bytes | None:
        """A stored part, or None."""
        try:
            row = self._db().execute("SELECT data FROM parts WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def parts(self, names: list[str]) -> dict[str, bytes]:
        """The stored parts among `names`, in as few queries as SQLite allows."""
        found: dict[str, bytes] = {}
        db = self._db()
        try:
            for start in range(0, len(names), 500):
                chunk = names[start:start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(db.execute(
                    f"SELECT name, data FROM parts WHERE name IN ({marks})", chunk))  # noqa: S608
        except sqlite3.Error as error:
            log.warning("reading %s failed: %s", self.path, error)
        return found

    def put_parts(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store parts (name, bytes)."""
        try:
            self._db().executemany("INSERT OR IGNORE INTO parts VALUES (?, ?)", items)
            self._written()
        except sqlite3.Error as error:
            log.warning("writing %s failed: %s", self.path, error)
            self._rollback()

    # --- sweeping ---------------------------------------------------------------

    def forget(self, names: Iterable[str]) -> None:
        """Forget the answers `names` made of sessions (a version replaced those sessions)."""
        self._commit()
        try:
            with self._db() as db:
                db.executemany("DELETE FROM answers WHERE name = ? AND version IS NULL",
                               ((n,) for n in names))
        except sqlite3.Error as error:
            log.warning("sweeping %s failed: %s", self.path, error)

    def sweep(self, keep_versions: Iterable[str], live: Iterable[str] | None = None) -> int:
        """Forget what no served version needs; returns how many answers went.

        Answers made for a version other than `keep_versions` go. With `live`
        (every answer name the version in service uses, known after a whole
        build), answers made of sessions go too unless named there. Bodies no
        answer uses go last.
        """
        kept = list(keep_versions)
        self._commit()
        try:
            with self._db() as db:
                marks = ",".join("?" * len(kept)) or "NULL"
                gone = db.execute(
                    f"DELETE FROM answers WHERE version IS NOT NULL AND version NOT IN ({marks})",  # noqa: S608
                    kept).rowcount
                if live is not None:
                    db.execute("CREATE TEMP TABLE IF NOT EXISTS live (name TEXT PRIMARY KEY)")
                    db.execute("DELETE FROM live")
                    db.executemany("INSERT OR IGNORE INTO live VALUES (?)", ((n,) for n in live))
                    gone += db.execute(
                        "DELETE FROM answers WHERE version IS NULL "
                        "AND name NOT IN (SELECT name FROM live)").rowcount
                    db.execute("DELETE FROM live")
                db.execute("DELETE FROM bodies WHERE plain NOT IN (SELECT etag FROM answers)")
                if live is not None:  # what an older release compressed
                    db.execute("DELETE FROM bodies WHERE substr(etag, ?) != ?",
                               (-len(RELEASE), RELEASE))
        except sqlite3.Error as error:
            log.warning("sweeping %s failed: %s", self.path, error)
            return 0
        return gone


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None,
                                 check_same_thread=False)
    connection.isolation_level = ""  # transactions opened by `with`, as the sqlite3 module does
    connection.execute("PRAGMA journal_mode=WAL")
    # A cache: a crash may lose the last writes (they are built again), never corrupt.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(SCHEMA)
    return connection


class Hot:
    """The bodies a process keeps in memory, up to a budget in bytes, oldest out first.

    Entries live in the dictionaries the caller gives (one per version), so a
    lookup on the request path is one dictionary access; this only counts
    their size and removes the oldest when the budget is passed.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._order: OrderedDict[tuple[int, Any], tuple[dict, Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, home: dict, key: Any, value: Any, size: int) -> bool:
        """Put `value` in `home[key]` if it fits the budget; False when it is too big to keep."""
        if size > self.budget // 4:
            return False
        with self._lock:
            home[key] = value
            self._order[(id(home), key)] = (home, key, size)
            self.size += size
            while self.size > self.budget and self._order:
                _, (where, old, old_size) = self._order.popitem(last=False)
                where.pop(old, None)
                self.size -= old_size
        return True

    def drop(self, home: dict) -> None:
        """Forget every entry kept in `home` (a version no longer served)."""
        with self._lock:
            for item in [k for k, v in self._order.items() if v[0] is home]:
                _, key, size = self._order.pop(item)
                home.pop(key, None)
                self.size -= size
