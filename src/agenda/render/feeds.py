"""RSS 2.0 and Atom 1.0 news feeds: one entry per announced session, for journalists.

An entry is dated when its announcement appeared (Session.appeared), never by the event;
each change journalists hear of (`Revision.news`) is one more, dated at it, with the session as
it is now. Ids are https URLs at the UID's host (the feed's: base_url's), without base_url's port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from html import escape
from urllib.parse import urlsplit

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from agenda.model import Contact, Revision, Schedule, Session, latest_update
from agenda.render import links, wording
from agenda.render.cards import draw, session_image, session_text

RSS_TYPE = "application/rss+xml"
ATOM_TYPE = "application/atom+xml"
GENERATOR = "agenda"  # not feedgen's, whose version would change every ETag on an upgrade
TTL_MINUTES = 360  # six hours, as the iCalendar feed's REFRESH-INTERVAL
# A news feed is a sliding window (RFC 5005 §2): the newest entries, enough for years of monthly
# sessions and their changes. Readers keep what they saw; the pages and /events.json hold all.
MAX_ENTRIES = 200
# The `updated` of a feed when nothing has a date: fixed, where "now" would change the bytes.
NO_DATE = datetime(1970, 1, 1, tzinfo=UTC)


def entry_updated(session: Session) -> datetime:
    """When an announced session last changed: its `updated`, or its announcement if later."""
    return max(t for t in (session.updated, session.appeared) if t is not None)


def news(sessions: Iterable[Session], until: datetime | None = None
         ) -> list[tuple[Session, Revision]]:
    """The revisions journalists hear of (`Session.tells`), up to `until`; newest first."""
    return sorted(((s, r) for s in sessions for r in s.revisions
                   if (until is None or r.at <= until) and s.tells(r)),
                  key=lambda pair: (-pair[1].at.timestamp(), pair[0].id, pair[1].sequence))


def feed_updated(schedule: Schedule, entries: Sequence[Session],
                 selected: Sequence[Session] | None = None, until: datetime | None = None,
                 listed: datetime | None = None, anyone: datetime | None = None) -> datetime:
    """The feed's `updated`/`lastBuildDate`: latest entry update or end (by `until`: its body
    changes then) or loss of a session (`listed`), else the latest change by `until` of the
    sessions it is about (`selected`), else of any (`anyone`, found once a build), else 1970."""
    stamps = [entry_updated(s) for s in entries]
    stamps += [s.end for s in entries if until and s.end and s.end <= until]
    # An edit outside the sessions; the feed losing one (a withdrawal, a move to another city).
    stamps += [t for t in (schedule.calendar.updated, listed) if t is not None]
    moment = max(stamps, default=None) or latest_update(selected or (), until) or anyone \
        or latest_update(schedule.sessions, until) or NO_DATE
    return moment.astimezone(schedule.calendar.timezone)


_text = partial(escape, quote=False)  # data as HTML text: markup in the schedule stays text


def _link(url: str, label: str | None = None) -> str:
    return f'<a href="{escape(url, quote=True)}">{_text(label or url)}</a>'


def _contact(contact: Contact) -> str:
    name = contact.name + (f" ({contact.organization})" if contact.organization else "")
    email = _link(f"mailto:{contact.email}", contact.email) if contact.email else ""
    return "<li>" + " – ".join(p for p in (_text(name), _text(contact.phone), email) if p) + "</li>"


def entry_html(schedule: Schedule, session: Session, over: bool) -> str:
    """An entry's body as HTML: status, theme, people, date, links, press contacts; data escaped.
    Once the session is `over`, it offers neither registration nor a link to come."""
    info = schedule.calendar
    html: list[str] = []
    if session.replay_url:  # once the session took place, its recording is what readers want
        html.append(f"<p><strong>Revoir la séance :</strong> {_link(session.replay_url)}</p>")
    if off := wording.off_label(session):  # « Séance annulée. », « … non confirmée. »: at any time
        html.append(f"<p><strong>Séance {off.lower()}e.</strong></p>")
    if former := _text(wording.former_start(session, info.language)):  # none once cancelled
        moved = wording.moved_word(session)
        html.append(f"<p><strong>Séance {moved}.</strong> Elle était prévue le {former}.</p>")
    if session.title:
        html.append(f"<p><strong>Thème :</strong> {_text(session.title)}</p>")
    if people := [f"<li>{label} : {_text(line)}</li>" for label, line in wording.people(session)]:
        html.append("<ul>" + "".join(people) + "</ul>")
    zone = f" ({wording.zone_label(session.start)}), en visioconférence" if session.is_dated else ""
    moment = _text(wording.when(session, info.language, over) + zone)
    html.append(f"<p><strong>Date :</strong> {moment}.</p>")
    html.extend(f"<p>{_text(line)}</p>" for line in session.description.splitlines() if line)
    # Only the public link: a private one goes to registered people, never to a feed.
    if session.public_video_url:
        html.append(f"<p><strong>Visioconférence :</strong> {_link(session.public_video_url)}</p>")
    elif not session.is_cancelled and not over:
        html.append("<p><strong>Visioconférence :</strong> "
                    "le lien de connexion est communiqué aux inscrits.</p>")
    if session.registration_url and not session.is_cancelled and not over:
        html.append(f"<p><strong>Inscription :</strong> {_link(session.registration_url)}</p>")
    related = [_link(links.page_url(info, session), "Page de la séance")]
    if add := links.add_to_calendar(info, session, over):  # as the page's, when it has some
        related.append(_link(add["ics"], "Ajouter à mon agenda (.ics)"))
    html.append("<p>" + " · ".join(related) + "</p>")
    if contacts := schedule.contacts_for(session):
        html.append("<p><strong>Contacts presse :</strong></p>")
        html.append("<ul>" + "".join(_contact(c) for c in contacts) + "</ul>")
    return "\n".join(html)


def build_entry(schedule: Schedule, session: Session, revision: Revision | None = None,
                until: datetime | None = None, sizes: Mapping[str, int] | None = None) -> FeedEntry:
    """An announced session's entry, its id its page's URL at its UID's host and in https (for any
    base_url); or its change `revision`'s, dated at it, with '#revision-<SEQUENCE>', title atop."""
    info = schedule.calendar
    anchor = f"#{links.REVISION_ANCHOR.format(revision.sequence)}" if revision else ""
    page = links.page_url(info, session) + anchor  # a change's: its line in the page's history
    host = session.uid.rpartition("@")[2] or info.host
    guid = urlsplit(page)._replace(scheme="https", netloc=host).geturl()
    over = session.is_over(until) if until else session.is_known_held
    body = entry_html(schedule, session, over)
    entry = FeedEntry()
    image = session_image(info, session, over)
    entry.load_extension("media")  # the share card: the entry's picture in Feedly, an e-mail
    entry.media.content(url=image.url, type="image/png", medium="image", group=None,
                        width=str(image.width), height=str(image.height))
    if sizes is not None:  # RSS (feedgen 1.0 writes an Atom one as a link without its rel)
        size = sizes.get(session.id) or len(draw(session_text(info, session, over)))
        entry.enclosure(image.url, str(size), "image/png")
    entry.guid(guid, permalink=guid == page)  # also the Atom id
    if revision is None:
        assert session.appeared is not None, "only announced sessions have an entry"
        title = wording.announcement_title(session, info.language, over)
        published, updated = session.appeared, entry_updated(session)
    else:
        title = wording.change_title(session, revision, info.language)
        published = updated = revision.at
        since = "<p><em>La séance a changé depuis : ce qui suit la décrit à jour.</em></p>\n" \
            if any(revision.at < r.at <= (until or r.at) for r in session.revisions) else ""
        body = f"<p><strong>{_text(title)}</strong></p>\n{since}{body}"
    entry.title(wording.typeset(title))
    entry.published(published.astimezone(info.timezone))
    entry.updated(updated.astimezone(info.timezone))
    # One link only: feedgen 1.0 drops rel and type from Atom entry links, so the .ics would be
    # a second rel="alternate" of the same type (RFC 4287 forbids it): it is in the body instead.
    entry.link(href=page, rel="alternate", type="text/html")
    # NetNewsWire shows neither Media RSS nor enclosures, Thunderbird and Outlook the body.
    card = f'<img src="{escape(image.url)}" alt="{escape(image.alt)}" width="{image.width}" '
    entry.content(wording.typeset(f'{card}height="{image.height}">\n{body}'), type="html")
    teaser = wording.session_summary(session, info.language, over)  # the page's description
    entry.summary(_text(wording.typeset(teaser)), type="html")  # lists show it under the title
    entry.category(term=session.series.id, label=session.series.title)
    return entry


def _feed_bytes(schedule: Schedule, sessions: Iterable[Session], path: str, self_type: str,
                title: str | None = None, until: datetime | None = None,
                updated: datetime | None = None, sizes: Mapping[str, int] | None = None) -> bytes:
    """The RSS or Atom (`self_type`) feed at `path` of the announced sessions among `sessions` and
    their changes up to `until`; dated `updated` (as feed_updated), by default from its entries."""
    info = schedule.calendar
    organizer = info.organizer
    entries = sorted((s for s in sessions if s.announced is not None), key=lambda s: s.id)
    feed = FeedGenerator()
    feed.load_extension("media")  # its namespace, for the entries' share cards
    feed.id(urlsplit(info.url(path))._replace(scheme="https", netloc=info.host).geturl())
    feed.title(title or info.name)
    about = info.description or info.name  # RSS requires a description
    # RSS readers take it as HTML, as an entry's: the schedule's markup stays text there too.
    feed.description(_text(about) if self_type == RSS_TYPE else about)
    feed.language(info.language)
    # Atom requires an author; feedgen adds none by itself (nor an empty email or uri).
    feed.author(name=organizer.name, email=organizer.email, uri=organizer.url)
    if organizer.email:
        feed.managingEditor(f"{organizer.email} ({organizer.name})")
    # feedgen takes the RSS channel <link> from the last link() call: the agenda page, last.
    feed.link(href=info.url(path), rel="self", type=self_type)
    feed.link(href=info.url("/"), rel="alternate", type="text/html")
    feed.generator(GENERATOR)
    feed.ttl(TTL_MINUTES)
    feed.updated(updated or feed_updated(schedule, entries, None, until))
    # Newest first, announcements and changes together, ties in id order (sorted() is stable).
    dated = sorted([(s.appeared, s, None) for s in entries] + [(r.at, s, r) for s, r in news(
        entries, until)], key=lambda item: item[0], reverse=True)
    for _, session, revision in dated[:MAX_ENTRIES]:
        feed.add_entry(build_entry(schedule, session, revision, until, sizes), order="append")
    return feed.rss_str(pretty=True) if self_type == RSS_TYPE else feed.atom_str(pretty=True)


def rss_bytes(schedule: Schedule, sessions: Iterable[Session], title: str | None = None,
              until: datetime | None = None, path: str = links.RSS_PATH,
              updated: datetime | None = None, sizes: Mapping[str, int] | None = None) -> bytes:
    """The RSS 2.0 feed of `sessions`, at `path`; its cards' file `sizes` by id (else drawn)."""
    return _feed_bytes(schedule, sessions, path, RSS_TYPE, title, until, updated, sizes or {})


def atom_bytes(schedule: Schedule, sessions: Iterable[Session], title: str | None = None,
               until: datetime | None = None, path: str = links.ATOM_PATH,
               updated: datetime | None = None) -> bytes:
    """The Atom 1.0 feed of `sessions`, at `path` (its URL in https, no port: the feed's id)."""
    return _feed_bytes(schedule, sessions, path, ATOM_TYPE, title, until, updated)
