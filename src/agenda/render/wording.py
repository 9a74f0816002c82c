"""The words users read: French (or the calendar's language) labels, dates and times.

Dates and times go through Babel: month and day names come from CLDR, not a hand-written table.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time, timedelta

from babel import Locale
from babel.dates import format_time, get_timezone_location

from agenda.model import CalendarInfo, Change, Planned, Revision, Schedule, Session, Status

# Joins the parts of a time (« 8 h 45 ») and a day to its month: a line never breaks inside them.
NBSP = "\u00a0"
VOWELS = "AEIOUÀÂÉÈÊËÎÏÔÖÛÜ"  # « d’Alger », « d’Oslo »; an h is left alone (« de Helsinki »)
# CLDR's French names of time zones that are plural islands, without their article: « des ».
PLURAL = {"Açores", "Bermudes", "Caïmans", "Chagos", "Cocos", "Comores", "Galápagos", "Kerguelen",
          "Maldives", "Marquises", "Palaos"}
TO_PLACE = (("Le ", "au "), ("Les ", "aux "))
OF_PLACE = (("Le ", "du "), ("Les ", "des "), ("Îles ", "des îles "), ("Île ", "de l’île "))
# French spacing: a line never starts with « : ; ! ? » – » nor ends with « « » or « n° ».
FRENCH_SPACES = re.compile(r" (?=[:;!?»–])|(?<=«) |(?<=n°) (?=\d)")
STATUS_LABELS = {  # the desk's choices; what readers see is shown_status's
    Status.CONFIRMED: "Confirmé", Status.TENTATIVE: "À confirmer", Status.CANCELLED: "Annulé"}
# What every title of a session starts with when it is off or not confirmed (off_label).
OFF_LABELS = {Status.CANCELLED: "Annulé", Status.TENTATIVE: "Non confirmé"}
RESCHEDULED_LABEL = "Reporté"
ADVANCED_LABEL = "Avancé"
HELD_LABEL = "Tenue"
PLANNED_LABEL = "Prévue"
UNDATED_LABEL = "Date à venir"  # a confirmed session without a date: not « Confirmé » beside it
# The colour (CSS class) of the words shown_status adds (a status's own is its value).
STATUS_CLASSES = {HELD_LABEL: "held", RESCHEDULED_LABEL: "rescheduled",
                  ADVANCED_LABEL: "rescheduled"}
PLANNED_NOTE = (
    "Date prévue par le calendrier de la série ; la ville et l’intervenant seront annoncés.")
UNDATED = "date non communiquée"
UNDATED_UPCOMING = "date à venir"
HELD_UNDATED = "séance tenue, date non communiquée"
# What each kind of change a revision made is called: the first words of its feed entry's
# title, and its phrase in the change log on the session's page.
NEWS_WORDS = {
    Change.CANCELLED: ("Annulé", "séance annulée"),
    Change.REINSTATED: ("Rétabli", "séance rétablie"),
    Change.RESCHEDULED: ("Nouvelle date", "nouvelle date"),
    Change.DATED: ("Date annoncée", "date annoncée"),
    Change.CONFIRMED: ("Séance confirmée", "séance confirmée"),  # a date may be still to come
    Change.UNCONFIRMED: ("Séance non confirmée", "séance non confirmée"),
    Change.SPEAKERS: ("Intervenants", "intervenants modifiés"),
    Change.ACCESS: ("Modalités de participation", "modalités de participation modifiées"),
    Change.REPLAY: ("Replay disponible", "replay disponible"),
    Change.REPLAY_REMOVED: ("Replay retiré", "replay retiré")}
FRENCH = Locale("fr")  # the pages' language: CLDR's data for it, read once as a font file is


def _babel(locale: str) -> Locale:
    """The Babel locale of a BCP 47 tag as the schedule writes it ('fr', 'fr-FR')."""
    return FRENCH if locale == "fr" else Locale.parse(locale, sep="-")


def typeset(text: str) -> str:
    """`text` as pages and feed readers show it: the spaces of French punctuation non-breaking."""
    return FRENCH_SPACES.sub(NBSP, text)


def long_date(moment: datetime, locale: str = "fr", weekday: bool = True) -> str:
    """'mercredi 19 mai 2021' (day and month joined; `weekday` false: '19 mai 2021'); French
    writes the first '1er'. CLDR's wide names, read directly: format_datetime is 10 times slower."""
    language = _babel(locale)
    day = "1er" if language.language == "fr" and moment.day == 1 else str(moment.day)
    text = f"{day}{NBSP}{language.months['format']['wide'][moment.month]} {moment.year}"
    return f"{language.days['format']['wide'][moment.weekday()]} {text}" if weekday else text


def clock_time(moment: datetime, locale: str = "fr") -> str:
    """'8 h 45', '9 h', joined by non-breaking spaces (other languages: CLDR short time)."""
    if locale.partition("-")[0].lower() == "fr":  # its language, as Babel reads it (no Locale)
        return f"{moment.hour}{NBSP}h" + (f"{NBSP}{moment.minute:02d}" if moment.minute else "")
    # The whole CLDR short time: in ko, ar or hi the day period (오후, م, pm) is part of it.
    return format_time(moment.time(), "short", locale=_babel(locale)).replace(" ", NBSP)


def time_range(start: datetime, end: datetime, locale: str = "fr") -> str:
    """'8 h 45 – 10 h 15', '20 h – minuit', or with both dates when the session spans midnight."""
    at_midnight = end.time() == time(0) and end.date() == start.date() + timedelta(days=1)
    if at_midnight and locale.partition("-")[0].lower() == "fr":  # not « jeudi 20 mai, 0 h »
        return f"{clock_time(start, locale)} – minuit"
    if start.date() == end.date():
        return f"{clock_time(start, locale)} – {clock_time(end, locale)}"
    return f"{clock_time(start, locale)} – {long_date(end, locale)}, {clock_time(end, locale)}"


def when(session: Session | Planned, locale: str = "fr", over: bool = False) -> str:
    """'mercredi 19 mai 2021, 8 h 45 – 10 h 15'; without a date, 'date à venir' until it is
    `over` or cancelled (none will come), then 'date non communiquée'."""
    if session.start is None or session.end is None:  # a session (a planned date has its own)
        return UNDATED if over or session.status is Status.CANCELLED else UNDATED_UPCOMING
    return f"{long_date(session.start, locale)}, {time_range(session.start, session.end, locale)}"


def zone_label(start: datetime | None) -> str:
    """'heure de Paris', 'heure d’Alger', 'heure du Caire': the zone's city as CLDR writes it in
    French; a zone named after no place by its offset at `start`: 'heure UTC', 'heure UTC−3' (for
    Etc/GMT+3, whose sign is POSIX's, the other way round)."""
    if start is None or not (key := getattr(start.tzinfo, "key", "")):
        return ""
    city = get_timezone_location(key, _babel("fr"), return_city=True)
    if not any(letter.islower() for letter in city):  # UTC, GMT+3, EST5EDT
        minutes = round((start.utcoffset() or timedelta()).total_seconds() / 60)
        hours, rest = divmod(abs(minutes), 60)
        offset = f"{'+' if minutes > 0 else '−'}{hours}{f':{rest:02d}' if rest else ''}"
        return f"heure UTC{offset if minutes else ''}"
    return "heure " + after(OF_PLACE, city, "des " if city in PLURAL else "d’" if city[0] in VOWELS
                           else "de ")


def after(joins: tuple[tuple[str, str], ...], name: str, word: str) -> str:
    """A place's `name` after « à » (TO_PLACE) or « de »: 'à Lyon', 'au Havre', 'du Caire'."""
    return next((to + name.removeprefix(a) for a, to in joins if name.startswith(a)), word + name)


def duration(span: timedelta) -> str:
    """'1 h 30', '2 h', '45 min', '1 jour', '2 jours 3 h 30' (non-breaking spaces); at least
    '1 min', as times are whole minutes (the loader sees to it)."""
    minutes = max(1, round(span.total_seconds() / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, rest = divmod(minutes, 60)
    words = (f"{days}{NBSP}jour{'s' if days > 1 else ''}" if days else "",
             f"{hours}{NBSP}h" + (f"{NBSP}{rest:02d}" if rest else "") if hours else "",
             f"{rest}{NBSP}min" if rest and not hours else "")  # '1 h 30', not '1 h 30 min'
    return " ".join(word for word in words if word)


def ordinal_label(session: Session) -> str:
    """'Tour des Villes n° 3' (or just the series title when the session has no number)."""
    title = session.series.title
    return f"{title} n° {session.number}" if session.number is not None else title


def off_label(session: Session) -> str:
    """'Annulé', or 'Non confirmé' for a tentative session not known to be held (never cancelled:
    the loader sees to it); else "". Every title starts with it, for calendars that show no STATUS
    (Google) and copies added from a link, which never update: true after the date too."""
    return "" if session.is_known_held else OFF_LABELS.get(session.status, "")


def headline(session: Session) -> str:
    """'Tour des Villes n° 3 : Clermont-Ferrand', prefixed 'Annulé : ' or 'Non confirmé : '."""
    return " : ".join(p for p in (off_label(session), ordinal_label(session), session.city) if p)


def sentence(text: str) -> str:
    """`text` ended as a sentence: « . » added, unless it ends with its own (« Et demain ? »)."""
    return text if text[-1] in ".?!…" else f"{text}."


def person_line(name: str, role: str) -> str:
    """'Olivier Bianchi, Maire de Clermont-Ferrand'."""
    return f"{name}, {role}" if role else name


def people(session: Session) -> list[tuple[str, str]]:
    """('Intervenant', person_line) for each speaker, then ('Animation', …) for the moderator."""
    roles = [("Intervenant", p) for p in session.speakers]
    roles += [("Animation", session.moderator)] if session.moderator else []
    return [(label, person_line(p.name, p.role)) for label, p in roles]


def moved_label(session: Session) -> str:
    """'Avancé' for a session moved to an earlier date than first planned, else 'Reporté'."""
    earlier = session.moved_from and session.start and session.start < session.moved_from
    return ADVANCED_LABEL if earlier else RESCHEDULED_LABEL


def moved_word(session: Session) -> str:
    """'avancée' or 'reportée', as in « Séance reportée »."""
    return "avancée" if moved_label(session) == ADVANCED_LABEL else "reportée"


def announcement_title(session: Session, locale: str = "fr", over: bool = False) -> str:
    """A feed entry's title: headline and when, marked 'Reporté' when moved and not cancelled."""
    text = f"{headline(session)}, {when(session, locale, over)}"
    former = former_start(session, locale)
    return f"{moved_label(session)} : {text} (au lieu du {former})" if former else text


def former_start(session: Session, locale: str = "fr") -> str:
    """'mercredi 15 décembre 2021 à 8 h 45': when a rescheduled session was first planned; ""
    once it is cancelled, which is then all there is to tell (every output says it so)."""
    return short_moment(session.moved_from, locale) if session.moved_from else ""


def when_in_zone(session: Session | Planned, locale: str = "fr", over: bool = False) -> str:
    """'mercredi 19 mai 2021, 8 h 45 – 10 h 15, heure de Paris', or as `when` without a date."""
    return ", ".join(p for p in (when(session, locale, over), zone_label(session.start)) if p)


def publication_title(schedule: Schedule, series_id: str | None, city: str | None,
                      series_title: str | None = None) -> str:
    """The calendar's name, narrowed by the series title and the city when a feed is filtered
    (`series_title`: the title of a series gone from the schedule)."""
    series_title = next((s.title for s in schedule.series if s.id == series_id), series_title)
    named = series_title if series_title and series_title not in schedule.calendar.name else ""
    return " – ".join(p for p in (schedule.calendar.name, named, city) if p)


def planned_headline(planned: Planned) -> str:
    """'Tour des Villes n° 5 : à annoncer'."""
    return f"{planned.series.title} n° {planned.number} : à annoncer"


def short_moment(moment: datetime, locale: str = "fr") -> str:
    """'mercredi 19 mai 2021 à 8 h 45'."""
    return f"{long_date(moment, locale)} à {clock_time(moment, locale)}"


def change_title(session: Session, revision: Revision, locale: str = "fr") -> str:
    """A change entry's title, dated as the change left the session: « Nouvelle date : … », or
    « Rétabli : … (au lieu du …) » for a session reinstated at another date."""
    start, end = session.dates_after(revision)
    then = replace(session, start=start, end=end)
    text = f"{ordinal_label(session)} : {session.city}, {when(then, locale, session.is_known_held)}"
    title = f"{NEWS_WORDS[revision.news[0]][0]} : {text}"  # its most important news
    if Change.RESCHEDULED in revision.news and revision.previous_start is not None:
        title += f" (au lieu du {short_moment(revision.previous_start, locale)})"
    return title


def change_phrase(revision: Revision) -> str:
    """What one revision did, in the change log's words: 'nouvelle date', 'précisions'."""
    if revision.is_first:
        return "annonce"
    if revision.news:
        return ", ".join(NEWS_WORDS[n][1] for n in revision.news)
    return "correction" if revision.correction else "précisions"


def change_line(session: Session, revision: Revision, calendar: CalendarInfo) -> str:
    """One line of a session's change log: '17 mai 2021 : nouvelle date (au lieu du …)'.

    The day is the feeds', in the calendar's zone: the first's, its announcement's (appeared)."""
    announced = session.appeared if revision.is_first else None
    moment = (announced or revision.at).astimezone(calendar.timezone)
    line = f"{long_date(moment, calendar.language, weekday=False)} : {change_phrase(revision)}"
    if Change.RESCHEDULED in revision.news and revision.previous_start is not None:
        line += f" (au lieu du {short_moment(revision.previous_start, calendar.language)})"
    return line


def shown_status(session: Session, past: bool = False) -> str:
    """The state a reader sees, every output's: 'Annulé', 'Non confirmé' (off_label), else 'Tenue'
    once it took place, 'Reporté' (or 'Avancé'), 'Confirmé' ('Date à venir' without a date)."""
    if off := off_label(session):
        return off
    if session.is_known_held or past:
        return HELD_LABEL
    return moved_label(session) if session.moved_from else \
        STATUS_LABELS[session.status] if session.is_dated else UNDATED_LABEL


def status_class(session: Session, past: bool = False) -> str:
    """The colour of shown_status, taken from the word itself so that it always matches."""
    return STATUS_CLASSES.get(shown_status(session, past), session.status.value)


def session_summary(session: Session, locale: str = "fr", past: bool = False) -> str:
    """A page's meta description, a sentence or three: 'Tour des Villes n° 1 à Biarritz (Club …),
    en visioconférence : séance tenue, date non communiquée.', not a bare date; first, whether
    the session was cancelled, not confirmed or moved."""
    club = f" ({session.series.club})" if session.series.club else ""
    over = session.held or past
    moment = HELD_UNDATED if over and not session.is_dated else when_in_zone(session, locale, over)
    place = after(TO_PLACE, session.city, "à ")
    off, former = off_label(session), former_start(session, locale)
    names = ", ".join(p.name for p in session.speakers)
    return " ".join(s for s in (
        off and f"Séance {off.lower()}e.",  # « Séance annulée. », « … non confirmée. »
        former and f"Séance {moved_word(session)} : elle était prévue le {former}.",  # as the page
        f"{ordinal_label(session)} {place}{club}, en visioconférence : {moment}.",
        session.title and sentence(session.title), names and sentence(f"Avec {names}")) if s)
