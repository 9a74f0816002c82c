"""What a static host needs to serve a site folder as the app does: `_headers` and nginx files.

Both are written from the manifest's entries (agenda.site): the headers a host sends are the app's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from agenda.headers import CORS, CORS_PREFLIGHT, security
from agenda.render import links
from agenda.site import Entry

CLOUDFLARE_RULES = 100  # the rules of _headers Cloudflare Pages applies, the first ones
QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"'})  # for inside an nginx "string"
ESCAPED = str.maketrans({c: "\\" + c for c in ".^$|()[]{}*+?\\"})  # literal in a regex
# No date of its own (never the file's, the build's clock) and no answer by date, as the app.
UNDATED = '\n        add_header Last-Modified "";\n        if_modified_since off;'
TRY_PAGE = "\n        try_files $uri.html =404;"  # /events/x is events/x.html


def headers_file(entries: Iterable[Entry]) -> Iterator[str]:
    """The lines of `_headers` (Netlify, Cloudflare Pages): every URL with its headers but
    Last-Modified (hosts date files), the site's own first (Cloudflare applies 100 rules only)."""
    yield "# Headers of every URL, as the agenda server sends them (agenda build).\n"
    many = (links.SESSIONS_FOLDER + "/", "/cities/")  # a URL or more a session, a city: last
    for entry in sorted(public(entries), key=lambda e: e.path.startswith(many)):  # stable
        yield from (entry.path + "\n", *(f"  {name}: {value}\n" for name, value in entry.headers))


def public(entries: Iterable[Entry]) -> Iterator[Entry]:
    """The entries of public URLs (not the parts a build keeps for the next)."""
    return (e for e in entries if not e.path.startswith("/_"))


def _location(match: str, headers: tuple[tuple[str, str], ...], extra: str = "") -> str:
    content_type = dict(headers)["Content-Type"]
    adds = "\n".join(f'        add_header {name} "{value.translate(QUOTED)}";'
                     for name, value in headers if name != "Content-Type")
    if CORS[0] in headers:  # a conditional fetch()'s preflight, which nginx answers with 405
        preflight = "".join(f' add_header {key} "{text}";' for key, text in CORS + CORS_PREFLIGHT)
        extra += f"\n        if ($request_method = OPTIONS) {{{preflight} return 204; }}"
    return f"""    location {match} {{
        types {{ }}
        default_type "{content_type}";
{adds}{extra}
    }}
"""


def _regex(paths: list[str], pages: bool = False) -> str:
    """A regex location for `paths`: folders and names, ids generalised (later sessions fit)."""
    folders = {"/".join(parts[:2]).translate(ESCAPED) + ("/[^/]+" if len(parts) > 2 else "")
               for parts in (path.split("/")[:-1] for path in paths)}
    names = {path.rsplit("/", 1)[1] for path in paths}
    if len(names) <= (1 if pages else 3) and links.SESSIONS_FOLDER not in folders:  # a few
        name_part = "|".join(n.translate(ESCAPED) for n in sorted(names))
    elif pages:
        name_part = "[^/.]+"
    else:
        tails = sorted({("." + n.rsplit(".", 1)[-1]).translate(ESCAPED) for n in names})
        name_part = f"[^/]+(?:{'|'.join(tails)})"
    return f"~ ^(?:{'|'.join(sorted(folders))})/(?:{name_part})$"


def nginx_locations(entries: Iterable[Entry]) -> str:
    """nginx `location` blocks serving a site folder: one per kind of answer; one for "/" and each
    URL undated among dated ones (only a first version has any), which nginx would date by file."""
    kinds: dict[tuple[tuple[str, str], ...], list[Entry]] = {}
    for entry in public(entries):  # grouped by headers
        kinds.setdefault(entry.headers, []).append(entry)
    blocks = []
    for headers, group in kinds.items():
        extra = "" if any(e.modified for e in group) else UNDATED
        found: dict[bool, list[str]] = {True: [], False: []}  # pages, files
        for e in group:
            if e.path == "/" or e.modified is None and not extra:
                blocks.append(_location(f"= {e.path}", e.headers, (UNDATED if e.modified is None
                                        else "") + f"\n        try_files /{e.file} =404;"))
            else:
                found[e.file != e.path[1:]].append(e.path)
        for pages, paths in found.items():
            if paths:
                blocks.append(_location(_regex(paths, pages), headers, extra + TRY_PAGE * pages))
    return "".join(blocks)


NGINX_HEAD = """# nginx snippet serving an agenda site folder (written by the builder): include it
# in a server block whose root is the folder (or the `current` link to it), as in
#     root /srv/agenda/data/sessions.site/current;
#     include /srv/agenda/data/sessions.site/current/_nginx/agenda-static.conf;
# gzip_static (every nginx) sends the .gz siblings; where the brotli module is loaded
# (Debian: libnginx-mod-http-brotli-static), include _nginx/brotli.conf for the .br ones.
gzip off;
gzip_static on;  # to a CDN (Via) and an HTTP/1.0 proxy too, as the app; no Range, as the app
gzip_proxied any; gzip_http_version 1.0; max_ranges 0;
gzip_vary on;
etag on;
if_modified_since before;
charset off;
server_tokens off;
error_page 301 403 404 =404 /404.html;  # a folder, with its slash (no index) or not, is no URL
# A filter on nginx alone (agenda-site.conf sends it to the app): its path form, else a 404.
if ($arg_series ~ "^[a-z0-9-]+$") { rewrite ^/([a-z]+[.][a-z]+)$ /series/$arg_series/$1 last; }
if ($arg_city ~ "^[a-z0-9-]+$") { rewrite ^/([a-z]+[.][a-z]+)$ /cities/$arg_city/$1 last; }
if ($request_uri ~* "^(?![^?]*/private/)[^?]*[?](?:[^&]*&)*(?:series|city)=[^&]") { return 404; }

location ^~ /_ { return 404; }
location ~ [.](?:html|gz|br)$ { return 404; }  # a page's file or a sibling: not a URL of the app
location = /404.html {
    internal;
    types { }
    default_type "text/html; charset=utf-8";
    add_header Cache-Control "no-cache" always;  # "always": a 404 gets no add_header else
    add_header Access-Control-Allow-Origin "*" always;  # a script can tell it from no network
"""  # then the security headers of the app's 404s


def nginx_files(entries: Iterable[Entry], base_url: str) -> dict[str, str]:
    """The files of `_nginx/`: the snippet for any nginx, and the brotli line for those that can."""
    security_lines = "".join(f'    add_header {name} "{value}" always;\n'
                             for name, value in security("/404.html"))
    # A link's /events/x/ (a CMS adds the slash) or x//y (nginx merges): the app's address, of up
    # to five segments; not the desk's nor a personal link's (its location logs nothing; this would)
    slashed = (f'if ($request_uri ~ "^(?!/+desk(?:/|$)|[^?]*/private/)(?=[^?]*(?://|[^/]/'
               f'(?:[?]|$)))/*([^/?]*){"/*(/[^/?]+)?" * 4}/*(?:[?]|$)") {{ return 308 '
               f'"{base_url.rstrip("/")}/$1$2$3$4$5$is_args$args"; }}\n')
    return {
        "agenda-static.conf": f"{NGINX_HEAD}{security_lines}}}\n{slashed}\n"
                              f"{nginx_locations(entries)}",
        "brotli.conf": "# Needs the brotli module (libnginx-mod-http-brotli-static).\n"
                       "brotli_static on;\n"}
