"""Every URL we publish, built in one place from the calendar's base_url.

Pages link to each other with relative paths; these absolute forms are for what leaves the site.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime
from itertools import accumulate
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from agenda.model import CalendarInfo, Session, city_slug
from agenda.render import wording

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
OUTLOOK_PERSONAL = "https://outlook.live.com/calendar/0/deeplink/compose"
OUTLOOK_WORK = "https://outlook.office.com/calendar/0/deeplink/compose"
OUTLOOK_SUBSCRIBE = "https://outlook.live.com/calendar/0/addfromweb"
LINK_LIMIT = 2_000  # characters: some browsers and servers cut or refuse a longer link
# Root-relative paths of the site-wide documents; the *_url functions give absolute forms.
CALENDAR_PATH = "/calendar.ics"
RSS_PATH = "/rss.xml"
ATOM_PATH = "/atom.xml"
EVENTS_JSON_PATH = "/events.json"
EVENTS_SCHEMA_PATH = "/schemas/events.json"
AGENDA_CARD_PATH = "/card.png"
SITEMAP_PATH = "/sitemap.xml"  # the pages to index, dated: the agenda's and the sessions'
# All may be crawled (a page not to index says noindex, which a Disallow would hide from them).
ROBOTS = "User-agent: *\nDisallow:\n\nSitemap: {}\n"
SESSIONS_FOLDER = "/events"  # where each session's documents are, named after its id
REVISION_ANCHOR = "revision-{}"  # a change's line in its page's history: its feed entry's link
# The documents that also exist narrowed to one series or one city, by file name.
FILTERED_NAMES = ("calendar.ics", "rss.xml", "atom.xml")


def series_doc_path(series_id: str, name: str) -> str:
    """'/series/<id>/<name>': a feed narrowed to one series, as a path static hosts can serve."""
    return f"/series/{series_id}/{name}"


def city_doc_path(city: str, name: str) -> str:
    """'/cities/<slug>/<name>': a feed narrowed to one city, as a path static hosts can serve."""
    return f"/cities/{city_slug(city)}/{name}"


def session_path(session: Session, suffix: str = "") -> str:
    """'/events/<id>': the session's page; beside it (no folder a session), with `suffix`,
    its single-event download '.ics', its '.json' and its social card '.png'."""
    return f"{SESSIONS_FOLDER}/{session.id}{suffix}"


def page_url(calendar: CalendarInfo, session: Session) -> str:
    """Absolute URL of the session's page; the feeds' guid while base_url is https://<its host>."""
    return calendar.url(session_path(session))


def sitemap_xml(pages: list[tuple[str, datetime | None]]) -> bytes:
    """A sitemap (sitemaps.org 0.9) of `pages`: absolute URLs, with when each last changed."""
    urls = "".join(f"<url><loc>{escape(url)}</loc>"
                   + (f"<lastmod>{at.isoformat()}</lastmod>" if at else "") + "</url>\n"
                   for url, at in pages)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">\n{urls}</urlset>\n').encode()


def _query(values: dict[str, str]) -> str:
    """A query string with spaces as %20: Outlook.com shows a « + » as a plus sign."""
    return urlencode(values, quote_via=quote)


def subscribe_urls(calendar: CalendarInfo) -> dict[str, str]:
    """How to subscribe to the calendar feed: https, webcal, Google's 'add by URL' link and
    Outlook.com's 'add from web' link."""
    feed = calendar.url(CALENDAR_PATH)
    webcal = "webcal://" + feed.split("://", 1)[1]  # for Apple Calendar, Outlook desktop
    return {"https": feed, "webcal": webcal,
            "google": f"{GOOGLE_TEMPLATE}?{_query({'cid': webcal})}",
            "outlook": f"{OUTLOOK_SUBSCRIBE}?{_query({'url': feed, 'name': calendar.name})}"}


def _cut(text: str, excess: int) -> str:
    """`text` cut, ended with « … », `excess` or more characters shorter percent-encoded; or ""."""
    sizes = list(accumulate(len(quote(char, "")) for char in text))
    kept = bisect_right(sizes, sizes[-1] - excess - len(quote("…")))
    return text[:kept] + "…" if kept else ""


def add_to_calendar(calendar: CalendarInfo, session: Session, past: bool) -> dict[str, str] | None:
    """One-off 'add this session' links: Google, Outlook.com, Office 365 and the .ics download;
    None for a session undated, cancelled or `past`: adding it to a calendar makes no sense.

    Times are in UTC; a tentative session's title says so, as its page does (a one-off copy is
    never updated); the details are the theme and the page's link. Over LINK_LIMIT, the theme
    gives way first (cut with « … », then left out), then the video link, then the title."""
    if session.start is None or session.end is None or session.is_cancelled or past:
        return None
    start, end = session.start.astimezone(UTC), session.end.astimezone(UTC)
    title, theme, link = wording.headline(session), session.title, session.public_video_url
    ics = calendar.url(session_path(session, ".ics"))
    while True:
        details = "\n".join(t for t in (theme, page_url(calendar, session)) if t)
        venue = f"Visioconférence : {link}" if link else "Visioconférence"
        google = _query({"action": "TEMPLATE", "text": title,
                         "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
                         "details": details, "location": venue})
        ms = _query({"path": "/calendar/action/compose", "rru": "addevent",
                     "startdt": f"{start:%Y-%m-%dT%H:%M:%SZ}", "enddt": f"{end:%Y-%m-%dT%H:%M:%SZ}",
                     "subject": title, "body": details, "location": venue})
        found = {"google": f"{GOOGLE_TEMPLATE}?{google}", "outlook": f"{OUTLOOK_PERSONAL}?{ms}",
                 "office365": f"{OUTLOOK_WORK}?{ms}", "ics": ics}
        excess = max(map(len, found.values())) - LINK_LIMIT
        if excess <= 0 or not (theme or link or title):
            return found
        if theme:
            theme = _cut(theme, excess)
        elif link:
            link = None
        else:
            title = _cut(title, excess)
