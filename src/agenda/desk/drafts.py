"""Drafts: an editor's copy of the schedule text, changed with tomlkit, published on request.

A draft lives in `<folder>/.drafts/<key>.json` beside the schedule: its text and the
text of the file it started from, in one file written at once (two files could be left
half written, a draft text paired with a start it does not come from). Edits go
through tomlkit, which keeps comments, order and layout: the draft differs
from the file only in the lines an editor changed.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import tomli
import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

from agenda import published
from agenda.format import Field, Kind


@dataclass(frozen=True, slots=True)
class Draft:
    """An editor's draft: its text, and the text and digest of the file it started from."""

    text: str
    base: str

    def moved(self, on_disk: str) -> bool:
        """True when the file changed since the draft began, other than into the draft itself
        (a publication that failed after writing the file, a double click on « Publier »)."""
        return on_disk not in (self.base, self.text)

    @property
    def raw(self) -> bytes:
        """The draft as the bytes the schedule file will hold."""
        return self.text.encode("utf-8")


def drafts_folder(schedule_path: Path, make: bool = False) -> Path:
    """Where drafts live: a hidden folder beside the schedule; `make`: made if missing, for the
    service alone (drafts hold the private video links), even when an older desk made it 0755."""
    folder = schedule_path.parent / ".drafts"
    if make:
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    return folder


def key(email: str) -> str:
    """A file name for the editor's draft."""
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:24]


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename, keeping the file's permissions and group.

    A link (data/sessions.toml pointing into a checkout of the schedule's repository) is
    followed: the file it names is replaced, and the link kept. Renaming over the link
    made it a file of its own, which the checkout never saw, and every hand edit or pull
    there was then ignored by the service without a word."""
    path = Path(os.path.realpath(path))
    try:
        info = path.stat()
        mode, group = info.st_mode & 0o777, info.st_gid
    except FileNotFoundError:
        mode, group = 0o644, -1

    def write(out: BinaryIO) -> None:
        out.write(data)
        with contextlib.suppress(OSError):  # a group the service is not in: its own, then
            os.fchown(out.fileno(), -1, group)

    published.write_atomically(path, write, mode)


class BrokenDraft(Exception):
    """A draft file that is not a draft (edited by hand, cut short): set aside under `aside`."""

    def __init__(self, path: Path, aside: Path) -> None:
        super().__init__(f"{path} is not a draft; set aside as {aside.name}")
        self.path, self.aside = path, aside


def load_draft(schedule_path: Path, email: str) -> Draft | None:
    """The editor's open draft, or None. A draft file that cannot be read as one is renamed
    out of the way (so that the desk opens again) and BrokenDraft says where it went."""
    folder, name = drafts_folder(schedule_path), key(email)
    path, legacy = folder / f"{name}.json", folder / f"{name}.toml"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        meta = json.loads(data.decode("utf-8"))
        # A draft saved before the text moved into the same file: its .toml beside.
        text = meta.get("text") if "text" in meta else legacy.read_text(encoding="utf-8")
        draft = Draft(text, meta.get("base"))
    except (ValueError, AttributeError, TypeError, RecursionError, FileNotFoundError):
        draft = None  # UnicodeDecodeError is a ValueError
    if draft is None or not isinstance(draft.text, str) or not isinstance(draft.base, str):
        # A name of its own: one set aside earlier in the same second is not written over.
        stamp = time.strftime("%Y%m%d-%H%M%S")
        handle, aside = tempfile.mkstemp(".json", f"{name}.illisible-{stamp}-", folder)
        os.close(handle)
        try:
            os.replace(path, aside)
        except FileNotFoundError:  # another request (a second tab) set it aside meanwhile
            os.unlink(aside)
            return None
        raise BrokenDraft(path, Path(aside))
    return draft


@contextlib.contextmanager
def held(schedule_path: Path, email: str) -> Iterator[None]:
    """The editor's draft kept from other requests while one reads, changes and writes it
    back (or drops it): two forms saved at once (two tabs, a login shared by two officers)
    each wrote the draft it had read, the later undoing the earlier, both told « saved »."""
    with published.publishing_lock(drafts_folder(schedule_path, make=True) / f"{key(email)}.json"):
        yield


def save_draft(schedule_path: Path, email: str, draft: Draft) -> None:
    """Write the editor's draft (its text and where it started)."""
    folder, name = drafts_folder(schedule_path, make=True), key(email)
    meta = json.dumps({"editor": email, "base": draft.base, "text": draft.text},
                      ensure_ascii=False).encode("utf-8")
    published.write_atomically(folder / f"{name}.json", lambda out: out.write(meta), 0o600)
    (folder / f"{name}.toml").unlink(missing_ok=True)


def preview_folder(schedule_path: Path, email: str) -> Path:
    """Where the site built from the editor's draft lives."""
    return drafts_folder(schedule_path, make=True) / f"apercu-{key(email)}"


def drop_draft(schedule_path: Path, email: str) -> None:
    """Abandon the editor's draft, and its preview."""
    folder, name = drafts_folder(schedule_path), key(email)
    for file in (f"{name}.toml", f"{name}.json"):
        (folder / file).unlink(missing_ok=True)
    shutil.rmtree(preview_folder(schedule_path, email), ignore_errors=True)


def _bare(lines: list[str]) -> list[str]:
    return [line.rstrip("\r\n") for line in lines]


HEADER = re.compile(r"\s*\[")  # [calendar], [[sessions]]: a table begins
ID = re.compile(r"""\s*id\s*=\s*(["'])(.*?)\1""")


def _in_tables(lines: list[str]) -> list[tuple[str, str, str]]:
    """Each line, its end left out, with the table it is in: its header, and its id (or its
    place among the tables of that header, such as contacts). Every session ends with lines
    alike (status = "confirmed"): matched by their text alone, the last lines of a session
    were taken for those of a session added after it, and its change went to that one."""
    bare = _bare(lines)
    starts = [0, *(i for i, line in enumerate(bare) if i and HEADER.match(line))]
    seen: dict[str, int] = {}
    keyed = []
    for start, end in zip(starts, [*starts[1:], len(bare)], strict=True):
        header = bare[start].strip() if HEADER.match(bare[start]) else ""
        seen[header] = seen.get(header, 0) + 1
        ids = [found.group(2) for line in bare[start:end] if (found := ID.match(line))]
        name = ids[0] if ids else f"#{seen[header]}"
        keyed += [(header, name, line) for line in bare[start:end]]
    return keyed


def line_end(text: str) -> str:
    """The text's own line end: CRLF when most of its lines end so (saved under Windows)."""
    return "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"


def _dumps(document: Any, like: str) -> str:
    """The document's text, every line ending as those of `like`: tomlkit ends the lines it
    adds with LF, which would mix line ends in a CRLF file."""
    text = tomlkit.dumps(document)
    return re.sub(r"\r?\n", "\r\n", text) if line_end(like) == "\r\n" else text


def _in_layout(text: str, again: str, edited: str) -> str:
    """`edited`, tomlkit's text of `text` once changed, in the layout of `text` itself.

    tomlkit gathers the tables of an array written in several places (a [[series]] among the
    [[sessions]]): its text moved tables and comments the editor never touched. The lines the
    change made (`again` to `edited`) are carried over to `text` instead, when they can be and
    mean the same; tomlkit's text is kept otherwise."""
    if again == text:
        return edited
    carried = rebase(Draft(edited, again), text)
    try:
        if carried is not None and tomli.loads(carried.text) == tomli.loads(edited):
            return carried.text
    except ValueError:  # TOMLDecodeError, or a number int() refuses (4,300+ digits)
        pass
    return edited


def diff(before: str, after: str, names: tuple[str, str]) -> list[str]:
    """The unified diff of two texts, line by line, their ends left out (CRLF or LF)."""
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), *names, n=2,
                                     lineterm=""))


def rebase(draft: Draft, current: str) -> Draft | None:
    """The draft's changes applied to the file as it is now, or None when both changed the
    same lines (then only the editor can choose).

    Lines are compared without their ends, and the draft's lines take those of the file:
    a file saved again with CRLF ends (Windows) has changed none of its lines. A line matches
    only a line of the same table (_in_tables).
    """
    base, text, lines = (t.splitlines(True) for t in (draft.base, draft.text, current))
    mine = difflib.SequenceMatcher(None, _in_tables(base), _in_tables(text), autojunk=False)
    theirs = difflib.SequenceMatcher(None, _in_tables(base), _in_tables(lines), autojunk=False)
    end = line_end(current)
    edits = [(i1, i2, [t.rstrip("\r\n") + end if t.endswith("\n") else t for t in text[j1:j2]])
             for tag, i1, i2, j1, j2 in mine.get_opcodes() if tag != "equal"]
    others = [(i1, i2) for tag, i1, i2, _, _ in theirs.get_opcodes() if tag != "equal"]
    # Lines both only added at one place (two new sessions at the end) go one after the other.
    joined = any(i1 == i2 == o1 == o2 for i1, i2, _ in edits for o1, o2 in others)
    for i1, i2, _ in edits:
        # Overlapping or touching ranges of the base: the same lines, or lines next to them.
        if any(o1 <= i2 and i1 <= o2 and not i1 == i2 == o1 == o2 for o1, o2 in others):
            return None
    # Map each base line to where it is in `current` (after the lines added before it),
    # then replay the draft's edits there.
    position = {}
    for tag, i1, i2, j1, j2 in theirs.get_opcodes():
        if tag == "equal":
            position.update((i1 + k, j1 + k) for k in range(i2 - i1 + 1))
        elif tag == "insert":
            position[i1] = j2
    for i1, i2, new in sorted(edits, reverse=True):
        if i1 not in position:
            return None
        start = position[i1]
        lines[start:start + (i2 - i1)] = new
    try:  # lines added at one place by both may set one key twice: the editor chooses then
        if joined:
            tomli.loads("".join(lines))
    except ValueError:  # TOMLDecodeError, or a number int() refuses (4,300+ digits)
        return None
    return Draft("".join(lines), current)


# --- edits ------------------------------------------------------------------------


def _toml(field: Field, value: Any) -> Any:
    """A Python value as the tomlkit item the file should hold."""
    if field.kind is Kind.MULTILINE and "\n" in value:
        return tomlkit.string(value, multiline=True)
    if field.kind is Kind.TABLE:
        table = tomlkit.inline_table()
        table.update(value)
        return table
    if field.kind is Kind.TABLES:
        array = tomlkit.array()
        for row in value:
            item = tomlkit.inline_table()
            item.update(row)
            array.append(item)
        return array.multiline(True)
    return value


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def set_values(table: Table, fields: Iterable[Field], values: Mapping[str, Any]) -> None:
    """Write `values` (None removes a key) into `table`, touching only the keys that change."""
    for field in fields:
        new = values.get(field.name)
        if new is None or (new == field.default and field.name not in table):
            if field.name in table:
                del table[field.name]
        elif field.name not in table or _plain(table[field.name]) != new:
            table[field.name] = _toml(field, new)


def _array(document: Any, key: str) -> AoT:
    if key not in document:
        document.append(key, tomlkit.aot())
    return document[key]


def find(document: Any, key: str, item_id: str) -> Table | None:
    """The [[key]] table whose id is `item_id`, or None."""
    for table in document.get(key, []):
        if _plain(table.get("id")) == item_id:
            return table
    return None


def edit(text: str, key: str, item_id: str | None, fields: Iterable[Field],
         values: Mapping[str, Any]) -> str:
    """The text with one [[key]] table (or the [key] table when item_id is None) changed.

    An item_id that no table has adds a new [[key]] table at the end of its array. A table
    written alone in its lines is changed there alone: tomlkit took two seconds to read and
    write again 1,000 sessions for each form saved.
    """
    fields = tuple(fields)
    lines = text.splitlines(True)
    span = _lines_of(lines, key, item_id) if item_id is not None else None
    if span is not None:
        part = "".join(lines[span[0]:span[1]])
        with contextlib.suppress(TOMLKitError, ValueError):  # cut where it is not: as a whole
            alone = _edit(part, key, item_id, fields, values)
            edited = "".join([*lines[:span[0]], alone, *lines[span[1]:]])
            if _only_changed(text, edited, key, item_id, alone):
                return edited
    return _edit(text, key, item_id, fields, values)


def _lines_of(lines: list[str], key: str, item_id: str) -> tuple[int, int] | None:
    """The lines (first, end) of the one [[key]] table whose id is `item_id`, when no table of
    its own ([key.speakers]) follows it; else None."""
    keyed = _in_tables(lines)
    found = [i for i, (header, name, _) in enumerate(keyed)
             if header == f"[[{key}]]" and name == item_id]
    if not found or found != list(range(found[0], found[-1] + 1)):
        return None  # none, or two of that id (which the loader refuses)
    end = found[-1] + 1
    after = keyed[end][0].lstrip("[") if end < len(keyed) else ""
    return None if after.startswith(f"{key}.") else (found[0], end)


def _only_changed(text: str, edited: str, key: str, item_id: str, alone: str) -> bool:
    """Whether `edited` holds what `text` does but for the [[key]] table `item_id`, which is all
    of `alone`, its lines edited (not so when a line inside a multiline string looked like a
    header, and the table was cut where it is not)."""
    try:
        before, after, table = values(text), values(edited), values(alone).get(key, [])
    except ValueError:
        return False
    old, new = before.get(key, []), after.get(key, [])
    places = [i for i, found in enumerate(old) if found.get("id") == item_id]
    return len(places) == 1 and len(old) == len(new) and table == [new[places[0]]] \
        and new[places[0]].get("id") == item_id \
        and {**after, key: [t for i, t in enumerate(new) if i != places[0]]} \
        == {**before, key: [t for i, t in enumerate(old) if i != places[0]]}


def _edit(text: str, key: str, item_id: str | None, fields: tuple[Field, ...],
          values: Mapping[str, Any]) -> str:
    """`edit`, on the whole of `text`."""
    document = tomlkit.parse(text)
    again = _dumps(document, text)  # the text as tomlkit lays it out, before the change
    if item_id is None:
        table = document[key]
    else:
        table = find(document, key, item_id)
        if table is None:
            table = tomlkit.table()
            table.trivia.indent = "\n"
            _array(document, key).append(table)
            table = _array(document, key)[-1]
    set_values(table, fields, values)
    return _in_layout(text, again, _dumps(document, text))


def edit_rows(text: str, key: str, fields: Iterable[Field],
              rows: list[Mapping[str, Any]]) -> str:
    """The text with the [[key]] tables (such as contacts) replaced row by row."""
    fields = tuple(fields)
    document = tomlkit.parse(text)
    again = _dumps(document, text)
    tables = _array(document, key)
    for index, row in enumerate(rows):
        if index < len(tables):
            set_values(tables[index], fields, row)
        else:
            table = tomlkit.table()
            table.trivia.indent = "\n"
            set_values(table, fields, row)
            tables.append(table)
    while len(tables) > len(rows):
        del tables[len(tables) - 1]
    return _in_layout(text, again, _dumps(document, text))


def values(text: str) -> dict[str, Any]:
    """The plain values of the text, read by the loader's parser: tomli reads 1,000 sessions
    in a tenth of tomlkit's second, which the edits alone need (it keeps the layout). Raises
    TOMLDecodeError for a text the loader cannot read (a number of 4,300 digits included)."""
    try:
        return tomli.loads(text)
    except ValueError as error:  # TOMLDecodeError, or a number int() refuses
        raise tomli.TOMLDecodeError(str(error), text, 0) from error


def item_values(text: str, key: str, item_id: str | None) -> dict[str, Any] | None:
    """The plain values of one table of the text, or None when there is no such table."""
    data = values(text)
    if item_id is None:
        return data.get(key)
    return next((t for t in data.get(key, []) if t.get("id") == item_id), None)


def rows_values(text: str, key: str) -> list[dict[str, Any]]:
    """The plain values of every [[key]] table."""
    return values(text).get(key, [])
