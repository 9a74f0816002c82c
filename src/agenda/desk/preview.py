"""The preview of a draft: the site built from it by the site's own builder, and its changes.

`pending` makes the Version that publishing the draft would make (nothing is
written to the published file), `outgoing` says in French what it sends out,
and `preview_site` has the site's builder write it as files; the desk serves
those files under /desk/apercu/ with a banner.
"""

from __future__ import annotations

import glob
import shutil
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from agenda import history
from agenda.errors import Problem, ScheduleError
from agenda.format import SESSION
from agenda.history import SessionChange, planned_key
from agenda.i18n import _
from agenda.model import Revision, Session
from agenda.published import Version, next_version, publishing_lock
from agenda.render import feeds, wording
from agenda.site import Site, SiteError, build, read_site

# What changed, in the words of the desk's forms ("content": a change the history
# cannot name, as when the previous text is unreadable; "published": a withdrawn session
# put back).
_LABELS = {f.name: f.label.lower() for f in SESSION.fields} | {
    "content": _("content"), "published": _("published again")}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What one session's change sends out, in French, for the list beside the preview."""

    session_id: str
    title: str
    calendar: str  # what calendar subscribers see
    news: tuple[str, ...]  # the entries journalists' feeds get
    check: str  # the line of `agenda check`
    correction: bool = False  # published as a correction (the 15-minute rule)
    announced_on: str = ""  # the day of a session's announcement still to come
    past: str = ""  # when a session given a date (new, or moved) that is past already
    lasting: str = ""  # how long a session given a date lasts, when more than a day
    off: bool = False  # cancelled and still so: nothing of it is news until it is reinstated


@dataclass(frozen=True, slots=True)
class Pending:
    """A draft as it would be published: the version, its changes, or the problems."""

    version: Version | None
    changes: tuple[SessionChange, ...]
    problems: tuple[Problem, ...]
    unchanged: bool = False  # the version published already: nothing to publish


# The history's words for a published session missing from the file, or losing its date, name a
# command or a field: editors have no terminal, the desk says what to do in the desk instead.


def _in_the_desk(problem: Problem, current: Version | None) -> Problem:
    """`problem`, in the desk's words when the command line's would not do."""
    if problem.message == _(history.DATELESS):
        return replace(problem, message=_(
            "calendars already have this session; it cannot lose its date. To call it off, "
            "keep its date and click 'Cancel' on it; if it is postponed, give its new date "
            "(or mark it 'To be confirmed' at the date planned)."))
    for session_id in current.history.sessions if current is not None else ():
        if problem.message == _(history.MISSING, id=session_id):
            return replace(problem, message=_(
                "was published and is missing from the draft, so subscribers would never learn "
                "that it is off. To call it off, put it back (abandon the draft if it removed "
                "it, or add it again with 'New session' and the same id '{id}'), then click "
                "'Cancel' on it; to take it out of the agenda without saying so, ask the "
                "administrator to withdraw it.", id=session_id))
    return problem


def pending(schedule_path: Path, current: Version | None, raw: bytes, now: datetime,
            correction: bool | None, editor: str) -> Pending:
    """The version publishing `raw` at `now` after `current` would make, writing nothing
    (`correction` is the kind of change the editor chose: None for the 15-minute rule), as
    « Publier » makes it for `editor`: a draft is whole, never a save in progress (one that
    removes the last line of the file, as a replay taken off the last session, is not refused
    as the beginning of the published file)."""
    try:
        version, changes = next_version(current, raw, str(schedule_path), now,
                                        correction=correction, editor=editor)
    except ScheduleError as error:
        return Pending(None, (), tuple(_in_the_desk(p, current) for p in error.problems))
    if current is not None and version.digest == current.digest:
        return Pending(current, (), (), unchanged=True)
    return Pending(version, tuple(changes), ())


def outgoing(version: Version, changes: tuple[SessionChange, ...], now: datetime,
             previous: Version | None) -> list[Outgoing]:
    """The French list of what goes out at `now` after `previous`, session by session:
    calendars as they had each UID (a session dated at last is new to them, a session taking
    a planned date updates its entry), journalists' feeds as the site builds them, which hold
    a session back until its announcement (`announced`)."""
    dates = _planned(version, previous, changes)
    found: list[Outgoing] = []
    zone = version.schedule.calendar.timezone
    before = previous.history if previous is not None else None
    for change in changes:
        if any(p.session_id == change.id for p in dates):
            continue  # listed with the planned dates, in their words
        session = version.schedule.session(change.id)
        if session is None or not session.revisions:
            found.append(Outgoing(change.id, change.id, "", (), str(change)))
            continue
        revision = session.revisions[-1]
        uid = version.history.sessions[change.id].uid
        old = before.sessions.get(change.id) if before is not None else None
        had = old is not None and old.in_calendar
        planned = [p for p in before.planned.values() if p.uid == uid] if before else []
        if change.sequence_after is None:
            calendar = _("removed from the calendars")
        elif not session.is_dated:  # changed or not, calendars have no entry of it
            calendar = _("no calendar entry (session without a date)")
        elif planned and not had:
            calendar = _("its planned date, already in the calendars, becomes this session "
                         "(SEQUENCE {before} → {after})", before=planned[0].sequence,
                         after=change.sequence_after)
        elif not had:
            calendar = _("new entry in the calendars")
        else:
            # A box's label (« Publier le lien… ») says nothing of a box unticked: which way.
            went = _("video link made public") if session.video_public \
                else _("video link made private")
            what = ", ".join((_LABELS | {"video_public": went}).get(f, f) for f in revision.fields)
            calendar = _("updated in the calendars (SEQUENCE {before} → {after}): {what}",
                         before=change.sequence_before, after=change.sequence_after, what=what)
        # Titled by the feeds' own entries, built as the site builds them at `now`.
        news = (_title(version, session, revision, now),) \
            if (session, revision) in feeds.news([session], now) else ()
        # A session the feeds neither gave nor had to come (new, its announcement set, or
        # brought to the past) enters them with its announcement, beside its change's entry.
        was = previous.schedule.session(change.id) if previous is not None else None
        fresh = was is None or was.announced is None \
            or was.announced > now >= (session.announced or now)
        if session.announced is not None and (revision.is_first or fresh):
            first = (_title(version, session, None, now),)
            news = first if revision.is_first else first + news
        later = session.announced is not None and session.announced > now
        on = wording.long_date(session.announced.astimezone(zone)) if later else ""
        # A date typed a year off, or kept from the last session, goes out without a word.
        dated = revision.is_first or {"start", "end"} & set(revision.fields)
        past = wording.when(session) if dated and session.is_dated and session.is_over(now) \
            else ""
        # « Reporter » earlier with the start alone changed: a session of a month.
        span = session.duration or timedelta(0)  # elapsed, an hour less across March's change
        lasting = wording.duration(span) if dated and span > timedelta(days=1) else ""
        off = was is not None and was.is_cancelled and session.is_cancelled
        found.append(Outgoing(change.id, wording.headline(session), calendar, news, str(change),
                              revision.correction, on, past, lasting, off))
    return found + dates


def _title(version: Version, session: Session, revision: Revision | None, now: datetime) -> str:
    """The title of the feeds' entry of `session`'s announcement, or of its change `revision`,
    as the site's feeds give it at `now` (« date non communiquée » once it is over)."""
    return str(feeds.build_entry(version.schedule, session, revision, now).title())


def _planned(version: Version, previous: Version | None,
             changes: tuple[SessionChange, ...]) -> list[Outgoing]:
    """The planned dates (« à annoncer ») whose calendar entries come, move or go, with the
    history's words for them (none for a date a shorter rhythm drops)."""
    had = {p.uid: p for p in previous.schedule.planned} if previous is not None else {}
    checks = {c.id: str(c) for c in changes}
    found = []
    for planned in version.schedule.planned:
        before = had.pop(planned.uid, None)
        if before is None:
            calendar = _("new entry in the calendars")
        elif before.sequence != planned.sequence:
            calendar = _("planned date updated in the calendars (SEQUENCE {before} → {after})",
                         before=before.sequence, after=planned.sequence)
        else:
            continue
        key = _("planned {key}", key=planned_key(planned.series.id, planned.number))
        found.append(Outgoing(key, wording.planned_headline(planned), calendar, (),
                              checks.get(key, "")))
    sessions = {entry.uid for entry in version.history.sessions.values()}
    return found + [Outgoing(p.uid, wording.planned_headline(p), _("removed from the calendars"),
                             (), "") for p in had.values() if p.uid not in sessions]


def with_banner(page: bytes, root: str, back: str, stylesheet: str, dated: str) -> bytes:
    """A built page with the preview's banner, saying the moment its documents are dated by
    (`dated`), its site links kept inside the preview."""
    text = page.decode("utf-8").replace('href="/', f'href="{root}')
    text = text.replace('src="/', f'src="{root}')
    # Its title says it too: tabs, history and screen readers named it as the site's page.
    text = text.replace("<title>", f"<title>{_('Preview:')} ", 1)
    said = _('<strong>Preview of the draft</strong>: nothing is published yet; it is dated as '
             'if published on {dated}. <a href="{back}">Back to the draft</a>', back=back,
             dated=dated)
    label = _("Preview")
    banner = f'<div class="desk-banner" role="region" aria-label="{label}"><p>{said}</p></div>'
    text = text.replace("</head>", f'<link rel="stylesheet" href="{stylesheet}">\n</head>', 1)
    # Before <main>, so that the page's skip link stays first; else at the top of <body>.
    if "<main" in text:
        return text.replace("<main", banner + "<main", 1).encode("utf-8")
    head, _sep, rest = text.partition("<body")
    tag, _sep, body = rest.partition(">")
    text = head + "<body" + tag + ">" + banner + body
    return text.encode("utf-8")


def preview_site(version: Version, now: datetime, target: Path, served: Site | None,
                 changes: tuple[SessionChange, ...]) -> tuple[Site, datetime]:
    """The site of `version` built into `target` by the site's builder, and the publication
    time its documents are dated by; reused while current and its `changes` are the same (then
    dated by the version it was built from: publishing later dates the revisions later).

    Files that did not change are hard-linked from `served`, the site being served.
    """
    # The same text makes another history once the 15-minute rule makes a correction an
    # announcement (« Automatique »): kept beside the folder, what it was built with.
    kind, said = target.with_name(target.name + ".changes"), "\n".join(map(str, changes))
    target.parent.mkdir(exist_ok=True)
    # Two tabs, or « Aperçu » and « Publier », at once (threads, or workers): the second waits,
    # then finds the site the first built, rather than building the same folder meanwhile.
    with publishing_lock(target):
        try:
            found = read_site(target, served)  # (built from it: its changes alone)
            dated, _sep, built = kind.read_text(encoding="utf-8").partition("\n")
            same, moment = built == said, datetime.fromisoformat(dated)
        except (SiteError, OSError, ValueError):
            found, same = None, False
        if found is not None and same and found.holds(now) \
                and (found.version, found.digest) == (version.number, version.digest):
            return found, moment
        # Under the lock no other build of this folder runs: what one killed left (a restart).
        for left in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
            shutil.rmtree(left, ignore_errors=True)
        site = build(version, now, target, previous=served)
        moment = (version.published or now).astimezone(version.schedule.calendar.timezone)
        kind.write_text(f"{moment.isoformat()}\n{said}", encoding="utf-8")
    return site, moment
