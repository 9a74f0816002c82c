"""HTML pages: the agenda, a session's page, the embeddable list and error pages.

Built with a Jinja2 environment of their own (autoescape on), not Flask's render_template,
so they render without an app; `now` only decides which sessions are past. Links inside the
site are root-relative; canonical, Open Graph, JSON-LD and subscription links are absolute.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.core import Locale, get_global, parse_locale
from babel.numbers import get_territory_currencies
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from agenda.model import CalendarInfo, Planned, Schedule, Series, Session, Status, iso
from agenda.render import links, wording
from agenda.render.cards import CardImage, agenda_image, session_image

# schema.org's eventStatus. It has no "tentative": a tentative event is still scheduled.
SCHEDULED = "https://schema.org/EventScheduled"
CANCELLED = "https://schema.org/EventCancelled"
RESCHEDULED = "https://schema.org/EventRescheduled"
# The title and sentence of an error page (the app's, and 404.html): Werkzeug's are English.
ERRORS = {400: ("Requête incorrecte", "Le serveur n’a pas compris cette requête."),
          403: ("Accès refusé", "Ce lien ne donne pas accès à cette page."),
          404: ("Page introuvable", "Cette adresse ne correspond à aucune page de l’agenda."),
          405: ("Méthode non autorisée", "Cette adresse ne prend pas en charge cette méthode."),
          500: ("Erreur interne", "Erreur interne ; elle a été consignée."),
          503: ("Service indisponible", "Le site est en cours de reconstruction ; réessayez.")}


def _typeset(value: Any) -> Any:
    """A value as pages print it, French spacing non-breaking (not Markup: the JSON-LD's data)."""
    text = isinstance(value, str) and not isinstance(value, Markup)
    return wording.typeset(value) if text else value


# The package's templates, autoescaping everything; Jinja2 compiles each once, when first used.
TEMPLATES = Environment(loader=PackageLoader("agenda", "templates"), autoescape=True,
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                        keep_trailing_newline=True, finalize=_typeset)
MACROS = TEMPLATES.get_template("_macros.html").module  # card(), embed(): a session's <li>


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the templates show of a session, every word and date already formatted.

    Not the Session, so that they cannot reach a private video link: the public one alone."""

    id: str
    number: int | None
    city: str
    label: str
    title: str
    when: str
    zone: str
    start_iso: str | None
    duration: str | None
    status: str
    status_class: str
    theme: str = ""
    path: str = ""
    url: str = ""
    cancelled: bool = False
    previous: str | None = None
    past: bool = False
    speakers: tuple[str, ...] = ()
    moderator: str | None = None
    paragraphs: tuple[str, ...] = ()
    video: str | None = None
    replay: str | None = None
    register: str | None = None
    end_iso: str | None = None
    history: tuple[tuple[str, str], ...] = ()  # (anchor, line)
    moved: str = "reportée"


def _view(calendar: CalendarInfo, session: Session, past: bool) -> SessionView:
    moderator = session.moderator
    return SessionView(
        id=session.id, number=session.number, city=session.city, theme=session.title,
        path=links.session_path(session), url=links.page_url(calendar, session),
        label=wording.ordinal_label(session), title=wording.headline(session),
        when=wording.when(session, calendar.language, past), zone=wording.zone_label(session.start),
        start_iso=iso(session.start), end_iso=iso(session.end),
        duration=wording.duration(session.duration) if session.duration is not None else None,
        status=wording.shown_status(session, past),
        status_class=wording.status_class(session, past), cancelled=session.is_cancelled,
        previous=wording.former_start(session, calendar.language) or None, past=past,
        speakers=tuple(wording.person_line(p.name, p.role) for p in session.speakers),
        moderator=wording.person_line(moderator.name, moderator.role) if moderator else None,
        paragraphs=_paragraphs(session.description),
        video=session.public_video_url, replay=session.replay_url,
        # Registration is open until the session ends, unless it is called off.
        register=None if past or session.is_cancelled else session.registration_url,
        history=tuple((links.REVISION_ANCHOR.format(r.sequence),
                       wording.change_line(session, r, calendar)) for r in session.logged)
        if any(not r.is_first for r in session.logged) else (),  # a change entry's link
        moved=wording.moved_word(session))


def _planned_view(calendar: CalendarInfo, planned: Planned) -> SessionView:
    """A planned date, shown among upcoming sessions as « prévue », with no page of its own."""
    return SessionView(
        id=f"prevue-{planned.series.id}-{planned.number}", number=planned.number,
        city="à annoncer", label=f"{planned.series.title} n° {planned.number}",
        title=f"{wording.PLANNED_LABEL} : {wording.planned_headline(planned)}",
        when=wording.when(planned, calendar.language), zone=wording.zone_label(planned.start),
        start_iso=planned.start.isoformat(), end_iso=planned.end.isoformat(),
        duration=wording.duration(planned.end - planned.start),
        status=wording.PLANNED_LABEL, status_class="planned")


def _paragraphs(text: str) -> tuple[str, ...]:
    # The schedule file writes one paragraph per line.
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _order(session: Session, upcoming: bool = True) -> tuple[bool, float, int, str]:
    # Dated sessions by date, undated ones ("date à venir") by number: after the dated ones
    # among upcoming sessions, before them among past ones (which the caller reverses).
    moment = session.start.timestamp() if session.start else 0.0
    return ((session.start is None) == upcoming, moment, session.number or 0, session.id)


def list_items(calendar: CalendarInfo, session: Session, past: bool) -> dict[str, str]:
    """The session's <li> in the agenda's lists ("card") and in the embed's ("embed"): what
    those pages are made of (their `items`), rendered once a session."""
    view = _view(calendar, session, past)
    return {kind: str(getattr(MACROS, kind)(view)) for kind in ("card", "embed")}


def _items(calendar: CalendarInfo, sessions: Sequence[Session], past: Collection[str],
           planned: Sequence[Planned], kind: str, items: Mapping[str, bytes] | None
           ) -> Iterable[Markup]:
    """The <li> of `kind` of `sessions`, in their order, from `items` (`list_items`'s of `kind`,
    by session id) where there, with the planned dates among them by date."""
    macro, items = getattr(MACROS, kind), items or {}
    lines = (Markup(part.decode()) if (part := items.get(s.id)) is not None
             else macro(_view(calendar, s, s.id in past)) for s in sessions)
    if not planned:
        return lines  # made as the page is written: a long agenda never holds them all at once
    dates = [((False, p.start.timestamp(), p.number, ""), macro(_planned_view(calendar, p)))
             for p in planned]  # a planned date before a session of its start (_order)
    keyed = sorted([*zip(map(_order, sessions), lines, strict=True), *dates], key=lambda k: k[0])
    return [line for _, line in keyed]


def _groups(schedule: Schedule, sessions: Sequence[Session], past: Collection[str],
            planned: Sequence[Planned], items: Mapping[str, bytes] | None
            ) -> list[tuple[Series, Iterable[Markup]]]:
    """The cards of `sessions` grouped by series, series in file order, sessions in given order;
    planned dates go among them by date."""
    found = [(series, [s for s in sessions if s.series.id == series.id],
              [p for p in planned if p.series.id == series.id]) for series in schedule.series]
    return [(series, _items(schedule.calendar, own, past, extra, "card", items))
            for series, own, extra in found if own or extra]


def _split(schedule: Schedule, now: datetime
           ) -> tuple[frozenset[str], list[Session], list[Session], list[Planned]]:
    """The ids of the sessions past at `now`; upcoming sessions, soonest first; past ones, latest
    first; the planned dates to come."""
    past = schedule.ended_ids(now)
    upcoming = sorted((s for s in schedule.sessions if s.id not in past), key=_order)
    done = sorted((s for s in schedule.sessions if s.id in past),
                  key=lambda s: _order(s, upcoming=False), reverse=True)
    return past, upcoming, done, list(schedule.planned_at(now))


def _site(calendar: CalendarInfo) -> dict[str, Any]:
    """What every full page shows: names and feed links."""
    # Open Graph wants language_TERRITORY: the tag's, else CLDR's likeliest ('fr_Latn_FR': FR).
    tag = Locale.parse(calendar.language, sep="-")
    likely = parse_locale(get_global("likely_subtags")[tag.language])[1]  # every language has one
    return {"calendar": calendar, "home": "/", "home_url": calendar.url("/"),
            "rss": links.RSS_PATH, "atom": links.ATOM_PATH, "json": links.EVENTS_JSON_PATH,
            "ics": links.CALENDAR_PATH, "og_locale": f"{tag.language}_{tag.territory or likely}"}


def _render(template: str, **context: Any) -> bytes:
    return TEMPLATES.get_template(template).render(**context).encode("utf-8")


def script_json(data: Any) -> Markup:
    """JSON safe inside a <script> data block: '<', '>' and '&' escaped so text cannot close it."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def agenda_page(schedule: Schedule, now: datetime, items: Mapping[str, bytes] | None = None
                ) -> bytes:
    """GET /: upcoming sessions, then past ones, grouped by series, and the subscribe box; a
    session's card from `items` if there (see `list_items`)."""
    past, upcoming, done, planned = _split(schedule, now)
    return _render(
        "agenda.html", **_site(schedule.calendar), image=agenda_image(schedule, past),
        upcoming=_groups(schedule, upcoming, past, planned, items),
        past=_groups(schedule, done, past, (), items),
        subscribe=links.subscribe_urls(schedule.calendar))


def _offer(session: Session, start: datetime, past: bool) -> dict[str, Any] | None:
    """Free registration as a schema.org Offer, with one of the three availabilities Google
    reads; None when there is no registration link."""
    if session.registration_url is None:
        return None
    availability = ("SoldOut" if session.is_cancelled or past  # nobody can register any more
                    else "PreOrder" if session.status is Status.TENTATIVE  # before it is confirmed
                    else "InStock")
    offer: dict[str, Any] = {"@type": "Offer", "price": 0, "url": session.registration_url,
                             "availability": f"https://schema.org/{availability}"}
    zone = getattr(start.tzinfo, "key", "")  # free, in its country's money then (UTC has none)
    country = get_global("zone_territories").get(get_global("zone_aliases").get(zone, zone), "")
    if money := get_territory_currencies(country, start.date(), tender=True):
        offer["priceCurrency"] = money[0]
    if session.appeared is not None:  # when it was announced, as the feeds and the JSON say
        offer["validFrom"] = session.appeared.isoformat()
    return offer


def event_jsonld(calendar: CalendarInfo, session: Session, past: bool = False,
                 image: CardImage | None = None) -> dict[str, Any] | None:
    """schema.org Event for an online event, as Google documents it; None when undated."""
    if session.start is None or session.end is None:
        return None  # Google requires startDate: no date, no structured data
    page = links.page_url(calendar, session)
    people = (*session.speakers, *((session.moderator,) if session.moderator else ()))
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "Event",
        "name": f"{wording.ordinal_label(session)} : {session.city}",  # eventStatus says the rest
        "startDate": session.start.isoformat(), "endDate": session.end.isoformat(),
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
        "eventStatus": RESCHEDULED if (previous := session.moved_from)
        else CANCELLED if session.is_cancelled else SCHEDULED,
        # A private join link must not be published; the page is where people go instead.
        "location": {"@type": "VirtualLocation", "url": session.public_video_url or page},
        "organizer": {"@type": "Organization", "name": calendar.organizer.name,
                      "url": calendar.organizer.url or calendar.url("/")},
        "url": page, "inLanguage": calendar.language,
        "description": "\n".join(t for t in (session.title, session.description.strip()) if t)
        or wording.session_summary(session, calendar.language, past),  # as the page says it
        "performer": [{"@type": "Person", "name": p.name} | ({"jobTitle": p.role} if p.role else {})
                      for p in people],
        "offers": _offer(session, session.start, past),
        "image": [image.url] if image is not None else None, "previousStartDate": iso(previous),
        "recordedIn": {"@type": "CreativeWork", "url": session.replay_url}
        if session.replay_url else None}
    return {key: value for key, value in data.items() if value}  # no empty string or list


def session_page(schedule: Schedule, session: Session, now: datetime,
                 ics: str | None = None) -> bytes:
    """GET /events/<id>: one session, add-to-calendar links and JSON-LD; `ics`: a personal
    page's own .ics, and no JSON-LD (its video link is one person's: machines read the public)."""
    calendar = schedule.calendar
    past = session.is_over(now)
    image = session_image(calendar, session, past)
    jsonld = event_jsonld(calendar, session, past=past, image=image) if ics is None else None
    return _render(
        "session.html", **_site(calendar), s=_view(calendar, session, past),
        series=session.series, series_paragraphs=_paragraphs(session.series.description),
        contacts=schedule.contacts_for(session),
        summary=wording.session_summary(session, calendar.language, past), image=image,
        add=links.add_to_calendar(calendar, session, past),
        ics_path=(ics or links.session_path(session, ".ics")) if session.is_dated else None,
        jsonld=script_json(jsonld) if jsonld is not None else None)


def embed_page(schedule: Schedule, now: datetime, items: Mapping[str, bytes] | None = None
               ) -> bytes:
    """GET /embed: the upcoming sessions, compact, for an <iframe> on another site; a session's
    line from `items` if there (see `list_items`)."""
    past, upcoming, _, planned = _split(schedule, now)
    return _render("embed.html", **_site(schedule.calendar), any_session=bool(upcoming or planned),
                   sessions=_items(schedule.calendar, upcoming, past, planned, "embed", items))


def error_page(calendar: CalendarInfo, code: int | None, title: str, message: str) -> bytes:
    """A French error page with a way back to the agenda."""
    return _render("error.html", **_site(calendar), code=code, title=title, message=message)


def withdrawn_page(calendar: CalendarInfo, at: datetime) -> bytes:
    """What the address of a withdrawn session shows: not a 404 to whoever kept the link."""
    day = wording.long_date(at.astimezone(calendar.timezone), calendar.language)
    return error_page(calendar, None, "Séance retirée", f"Elle a été retirée de l’agenda le {day}.")
