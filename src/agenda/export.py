"""Static export: the whole site as files whose bytes are the server's answers.

The export drives the real app (its WSGI callable, web/internal.py) over every
URL of the site, so a file cannot differ from what the server would send: same bytes,
same compressed siblings (`.gz`, `.br`), and each file's modification time set
to the answer's Last-Modified. Beside the files it writes what a static host
needs: an nginx snippet (`_nginx/agenda-static.conf`) and a `_headers` file
(Netlify, Cloudflare Pages).

URLs map to files by the "pretty URL" rule: `/` is `index.html`, an
extension-less path such as `/events/lyon` is `events/lyon.html`, every other
path is the file of that name.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Flask

from agenda.errors import ExportError
from agenda.model import Schedule, Session
from agenda.render import links
from agenda.web import internal
from agenda.web.static import FILES as STATIC_FILES

SIBLINGS = {"gzip": ".gz", "br": ".br"}
# Headers of the app's answers that a static host must send as well.
KEPT_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
    "Content-Disposition",
)
MARKER = "_headers"  # present in every export: tells a previous export from another folder


def global_paths() -> list[str]:
    """The URL paths made of the whole schedule (and the static files)."""
    return ["/", "/embed", links.CALENDAR_PATH, links.RSS_PATH, links.ATOM_PATH,
            links.EVENTS_JSON_PATH, links.EVENTS_SCHEMA_PATH, links.AGENDA_CARD_PATH,
            *(f"/static/{name}" for name in STATIC_FILES)]


def series_paths(series_id: str) -> list[str]:
    """The feeds of one series, in their path form."""
    return [links.series_doc_path(series_id, name) for name in links.FILTERED_NAMES]


def city_paths(city: str) -> list[str]:
    """The feeds of one city, in their path form."""
    return [links.city_doc_path(city, name) for name in links.FILTERED_NAMES]


def session_paths(session: Session) -> list[str]:
    """The documents of one session: page, JSON, card and (when dated) .ics."""
    paths = [links.page_path(session), links.json_path(session), links.card_path(session)]
    if session.is_dated:
        paths.append(links.ics_path(session))
    return paths


def site_paths(schedule: Schedule) -> list[str]:
    """Every URL path the site publishes, in one place: a new route is added here."""
    paths = global_paths()
    for series in schedule.series:
        paths += series_paths(series.id)
    for city in sorted(schedule.cities()):
        paths += city_paths(city)
    for session in schedule.sessions:
        paths += session_paths(session)
    return list(dict.fromkeys(paths))  # two cities may share a slug: one file


def file_for(path: str) -> str:
    """The file (relative to the export) that answers `path`: the pretty-URL rule."""
    if path == "/":
        return "index.html"
    relative = path.lstrip("/")
    return relative if "." in relative.rsplit("/", 1)[-1] else relative + ".html"


@dataclass(frozen=True, slots=True)
class Exported:
    """One URL written: its path, file, the headers to send, and its Last-Modified."""

    path: str
    file: str
    headers: tuple[tuple[str, str], ...]
    codings: tuple[str, ...]
    modified: float | None


def export(app: Flask, outdir: Path) -> list[Exported]:
    """Write every URL of the site served by `app` into `outdir`; return what was written."""
    outdir = Path(outdir)
    _check_folder(outdir)
    schedule = app.extensions["agenda.store"].schedule
    base_url = schedule.calendar.base_url
    written: list[Exported] = []
    alike: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
    for path in site_paths(schedule):
        status, answer, body = internal.get(app, path, base_url)
        if status != 200:
            raise ExportError(f"{path} answered {status}, not 200: nothing written "
                              "for it; the export is incomplete.")
        stamp = answer.get("Last-Modified")
        modified = parsedate_to_datetime(stamp).timestamp() if stamp else None
        name = file_for(path)
        _write(outdir / name, body)
        codings: list[str] = []
        if answer.get("Vary") == "Accept-Encoding":
            for coding, suffix in SIBLINGS.items():
                _, packed, data = internal.get(app, path, base_url, {"Accept-Encoding": coding})
                if packed.get("Content-Encoding") == coding:
                    _write(outdir / (name + suffix), data)
                    codings.append(coding)
        headers = tuple((h, answer[h]) for h in KEPT_HEADERS if h in answer)
        # Most URLs send the same headers: one tuple for all of them, not one each.
        headers = alike.setdefault(headers, headers)
        written.append(Exported(path, name, headers, tuple(codings), modified))
    # Files whose answers carry no date (static files) get the newest date of the
    # site, so that the export is the same from one build to the next.
    newest = max((e.modified for e in written if e.modified is not None), default=0.0)
    for entry in written:
        stamp = entry.modified if entry.modified is not None else newest
        for file in [entry.file] + [entry.file + SIBLINGS[c] for c in entry.codings]:
            os.utime(outdir / file, (stamp, stamp))
    _write_lines(outdir / MARKER, headers_lines(written))
    _write(outdir / "_nginx" / "agenda-static.conf", nginx_conf(written).encode())
    _remove_stale(outdir, written)
    return written


def _check_folder(outdir: Path) -> None:
    if outdir.exists() and any(outdir.iterdir()) and not (outdir / MARKER).exists():
        raise ExportError(f"{outdir} is not empty and holds no previous export ({MARKER}); "
                          "choose an empty or new folder.")


def _write(target: Path, body: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)


def _write_lines(target: Path, lines: Iterable[str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as out:
        out.writelines(lines)


def _remove_stale(outdir: Path, written: Iterable[Exported]) -> None:
    """Remove what a previous export wrote that this one did not (a removed session)."""
    keep = {MARKER, "_nginx/agenda-static.conf"}
    for entry in written:
        keep.add(entry.file)
        keep.update(entry.file + SIBLINGS[c] for c in entry.codings)
    for file in sorted(outdir.rglob("*"), reverse=True):  # files before their folders
        relative = file.relative_to(outdir).as_posix()
        if file.is_dir():
            if not any(file.iterdir()):
                file.rmdir()
        elif relative not in keep:
            file.unlink()


def headers_file(written: Iterable[Exported]) -> str:
    """The `_headers` file of Netlify and Cloudflare Pages: every URL with its headers."""
    return "".join(headers_lines(written))


def headers_lines(written: Iterable[Exported]) -> Iterator[str]:
    """The lines of `headers_file`, one at a time (an export may list a hundred thousand URLs)."""
    yield "# Headers of every URL, as the agenda server sends them (agenda build).\n"
    for entry in written:
        yield entry.path + "\n"
        for name, value in entry.headers:
            yield f"  {name}: {value}\n"


FILE_TOKEN = "{file}"  # stands for the file name in a header value (Content-Disposition)
FILE_VARIABLE = "$agenda_file"


def _generic(entry: Exported) -> tuple[tuple[str, str], ...]:
    """The entry's headers with its own file name replaced by a token, to group alike URLs."""
    name = entry.path.rsplit("/", 1)[-1]
    return tuple((h, v.replace(f'"{name}"', f'"{FILE_TOKEN}"')) for h, v in entry.headers)


def _location(match: str, headers: tuple[tuple[str, str], ...], extra: str = "") -> str:
    content_type = dict(headers)["Content-Type"]
    adds = "\n".join(
        f'        add_header {name} "{_quoted(value).replace(FILE_TOKEN, FILE_VARIABLE)}";'
        for name, value in headers if name != "Content-Type")
    return f"""    location {match} {{
        types {{ }}
        default_type "{content_type}";
{adds}{extra}
    }}
"""


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def nginx_conf(written: Iterable[Exported]) -> str:
    """An nginx snippet for a server block serving the export as the app would.

    One location per kind of answer (content type and headers); the headers come
    from the app's own answers, so the two cannot drift apart.
    """
    kinds: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for entry in written:
        kinds.setdefault(_generic(entry), []).append(entry.path)
    blocks = []
    for headers, paths in kinds.items():
        files = [p for p in paths if "." in p.rsplit("/", 1)[-1]]
        pages = [p for p in paths if p not in files]
        if "/" in pages:
            pages.remove("/")
            blocks.append(_location("= /", headers, "\n        try_files /index.html =404;"))
        if pages:
            blocks.append(_location(_regex(pages, pages=True), headers,
                                    "\n        try_files $uri.html =404;"))
        if files:
            blocks.append(_location(_regex(files), headers))
    return f"""# nginx snippet serving an agenda export (written by `agenda build`): include it
# in a server block whose root is the export folder:
#
#     server {{
#         listen 80;
#         root /srv/agenda/site;
#         include /srv/agenda/site/_nginx/agenda-static.conf;
#     }}
#
# Precompressed siblings (.gz, .br) are sent as they are: gzip_static comes with
# nginx; brotli_static needs Debian's libnginx-mod-http-brotli-static (and its
# load_module line): without it, delete the brotli_static line and browsers get gzip.
gzip off;
gzip_static on;
brotli_static on;
gzip_vary on;
etag on;
if_modified_since before;
charset off;
server_tokens off;

location ^~ /_ {{ return 404; }}

{"".join(blocks)}"""


def _regex(paths: list[str], pages: bool = False) -> str:
    """A regex location for `paths`: their folders (one level of ids generalised) and names.

    Pages are '/embed' and '/events/<id>'; files keep their names when few
    ('calendar.ics' in every folder), else their extensions ('/events/<id>.ics').
    """
    folders, names = set(), set()
    for path in paths:
        folder, name = path.rsplit("/", 1)
        parts = folder.split("/")
        folders.add(_escape("/".join(parts[:2])) + ("/[^/]+" if len(parts) > 2 else ""))
        names.add(name)
    folder_part = "|".join(sorted(folders))
    if pages:
        single = len(names) == 1
        name_part = _escape(next(iter(names))) if single else "[a-z0-9-]+"
        return f"~ ^(?:{folder_part})/(?:{name_part})$"
    if len(names) <= 3:
        name_part = "|".join(_escape(n) for n in sorted(names))
    else:
        tails = sorted({_escape("." + n.rsplit(".", 1)[-1]) for n in names})
        name_part = f"[^/]+(?:{'|'.join(tails)})"
    return f"~ ^(?:{folder_part})/(?<agenda_file>{name_part})$"


def _escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$|()[]{}*+?\\" else c for c in text)


def clear(outdir: Path) -> None:
    """Remove an export folder (tests, benchmarks)."""
    shutil.rmtree(outdir, ignore_errors=True)
