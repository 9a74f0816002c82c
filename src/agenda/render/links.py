"""Every URL we publish, built in one place from the calendar's base_url.

Pages link to each other with relative paths; these absolute forms are for what leaves the site.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from agenda.model import CalendarInfo, Session, city_slug
from agenda.render import wording

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
OUTLOOK_PERSONAL = "https://outlook.live.com/calendar/0/deeplink/compose"
OUTLOOK_WORK = "https://outlook.office.com/calendar/0/deeplink/compose"
OUTLOOK_SUBSCRIBE = "https://outlook.live.com/calendar/0/addfromweb"
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


def page_path(session: Session) -> str:
    """'/events/<id>': the session's page."""
    return f"{SESSIONS_FOLDER}/{session.id}"


def ics_path(session: Session) -> str:
    """'/events/<id>.ics': the single-event download."""
    return f"{SESSIONS_FOLDER}/{session.id}.ics"


def json_path(session: Session) -> str:
    """'/events/<id>.json'."""
    return f"{SESSIONS_FOLDER}/{session.id}.json"


def card_path(session: Session) -> str:
    """'/events/<id>.png': the session's social card (beside its page: no folder a session)."""
    return f"{SESSIONS_FOLDER}/{session.id}.png"


def page_url(calendar: CalendarInfo, session: Session) -> str:
    """Absolute URL of the session's page; the feeds' guid while base_url is https://<its host>."""
    return calendar.url(page_path(session))


def ics_url(calendar: CalendarInfo, session: Session) -> str:
    """Absolute URL of the session's .ics download."""
    return calendar.url(ics_path(session))


def home_url(calendar: CalendarInfo) -> str:
    """Absolute URL of the agenda page (base_url + "/"): the feeds' alternate link."""
    return calendar.url("/")


def sitemap_xml(pages: list[tuple[str, datetime | None]]) -> bytes:
    """A sitemap (sitemaps.org 0.9) of `pages`: absolute URLs, with when each last changed."""
    urls = "".join(f"<url><loc>{escape(url)}</loc>"
                   + (f"<lastmod>{at.isoformat()}</lastmod>" if at else "") + "</url>\n"
                   for url, at in pages)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">\n{urls}</urlset>\n').encode()


def subscribe_urls(calendar: CalendarInfo) -> dict[str, str]:
    """How to subscribe to the calendar feed: https, webcal, Google's 'add by URL' link and
    Outlook.com's 'add from web' link."""
    feed = calendar.url(CALENDAR_PATH)
    webcal = "webcal://" + feed.split("://", 1)[1]  # for Apple Calendar, Outlook desktop
    return {
        "https": feed,
        "webcal": webcal,
        "google": f"{GOOGLE_TEMPLATE}?cid={quote(webcal, safe='')}",
        "outlook": f"{OUTLOOK_SUBSCRIBE}?{urlencode({'url': feed, 'name': calendar.name})}",
    }


def add_to_calendar(calendar: CalendarInfo, session: Session) -> dict[str, str]:
    """One-off 'add this session' links: Google, Outlook.com, Office 365 and the .ics download.

    Times are in UTC; the details stay short and point back to the page, which has the rest."""
    assert session.start is not None and session.end is not None
    start, end = session.start.astimezone(UTC), session.end.astimezone(UTC)
    title = wording.headline(session)
    details = "\n".join(t for t in (session.title, page_url(calendar, session)) if t)
    link = session.public_video_url  # the join link only when it may be published
    venue = f"Visioconférence : {link}" if link else "Visioconférence"
    google = {"action": "TEMPLATE", "text": title,
              "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
              "details": details, "location": venue}
    outlook = urlencode({"path": "/calendar/action/compose", "rru": "addevent",
                         "startdt": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                         "enddt": f"{end:%Y-%m-%dT%H:%M:%SZ}",
                         "subject": title, "body": details, "location": venue})
    return {
        "google": f"{GOOGLE_TEMPLATE}?{urlencode(google)}",
        "outlook": f"{OUTLOOK_PERSONAL}?{outlook}",
        "office365": f"{OUTLOOK_WORK}?{outlook}",
        "ics": ics_url(calendar, session),
    }
