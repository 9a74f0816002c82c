"""One session, the same facts everywhere: every output of a built folder, read back with an
independent parser, says what the others say.

A journalist reads the news feeds, a subscriber the calendars, the CEPS site the JSON, a search
engine the JSON-LD, a visitor the agenda, the embed and the session's page. Generated schedules
(confirmed, tentative, cancelled, moved, undated, held, with a replay, a public or private video
link, an announcement ahead, planned dates of a rhythm) go through generated publications (moves,
cancellations, confirmations, replays, speakers, dates given, sessions added and withdrawn), and
the folder built at a later moment is read with icalendar, vobject, recurring-ical-events,
feedparser, json and html5lib. Each fact is compared with the JSON, which the others must match.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import feedparser
import html5lib
import icalendar
import recurring_ical_events
import vobject
from hypothesis import example, given
from hypothesis import strategies as st

from agenda import site
from agenda.errors import ScheduleError
from agenda.model import Schedule, Session, city_slug
from agenda.published import Version, first_version, next_version
from tests.test_session_state import strings

ZONES = ["Europe/Paris", "America/Sao_Paulo", "Asia/Kolkata", "Europe/London"]
CITIES = ["Lyon", "Saint-Étienne", "Brest"]
DAY_ONE = datetime(2021, 1, 6, 8, 45)  # sessions from here, at the usual hours
FIRST_PUBLICATION = datetime.fromisoformat("2021-01-01T09:00:00+01:00")
RHYTHM = ('rhythm = { rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=8", first = 2021-03-17, '
          "start = 08:45:00, end = 10:15:00 }\n")
EDITS = ["move", "cancel", "reinstate", "confirm", "replay", "speakers", "date", "video",
         "announce later", "city", "series", "add", "withdraw"]


def head(zone: str, rhythm: bool) -> str:
    return ("[calendar]\nname = \"Essai\"\n"
            f'timezone = "{zone}"\nbase_url = "https://agenda.example.org"\n'
            'organizer = { name = "Club", email = "club@example.org" }\n\n'
            '[[series]]\nid = "t"\ntitle = "Autre série"\nclub = "Club T"\n\n'
            '[[series]]\nid = "s"\ntitle = "Série"\n' + (RHYTHM if rhythm else ""))


def toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(f'{{ name = "{p}", role = "Maire" }}' for p in value) + "]"
    return f'"{value}"'


def schedule_text(top: str, sessions: list[dict[str, Any]]) -> bytes:
    return (top + "".join("\n[[sessions]]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in s.items())
                          for s in sessions)).encode()


@st.composite
def a_session(draw: st.DrawFn, ident: str, number: int) -> dict[str, Any]:
    status = draw(st.sampled_from(["confirmed", "tentative", "cancelled"]))
    found: dict[str, Any] = {"id": ident, "series": draw(st.sampled_from("st")),
                             "city": draw(st.sampled_from(CITIES)), "status": status}
    if draw(st.booleans()):
        found["number"] = number
    if draw(st.booleans()):
        found["title"] = f"Thème {ident}"
    if draw(st.booleans()):
        start = DAY_ONE + timedelta(days=draw(st.integers(0, 500)))
        found |= {"start": start, "end": start + timedelta(minutes=90)}
    elif status != "cancelled" and draw(st.booleans()):
        found["held"] = True
    if "start" in found or draw(st.booleans()):
        found["announced"] = date(2021, 1, 1) + timedelta(days=draw(st.integers(0, 500)))
    if draw(st.booleans()):
        found |= {"video_url": f"https://video.example.org/{ident}",
                  "video_public": draw(st.booleans())}
    if draw(st.booleans()):
        found["registration_url"] = f"https://inscription.example.org/{ident}"
    if status != "cancelled" and draw(st.booleans()):
        found["replay_url"] = f"https://replay.example.org/{ident}"
    if draw(st.booleans()):
        found["speakers"] = ["Anne"]
    return found


def edited(sessions: list[dict[str, Any]], edit: str, which: int, days: int
           ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The sessions after `edit` of the one at `which`, and the ids to withdraw."""
    sessions = [dict(s) for s in sessions]
    one = sessions[which % len(sessions)]
    if edit == "withdraw" and len(sessions) > 1:
        return [s for s in sessions if s is not one], (one["id"],)
    if edit == "add":
        start = DAY_ONE + timedelta(days=300 + days)
        sessions.append({"id": f"n{len(sessions)}", "series": "s", "city": "Lyon",
                         "status": "tentative" if which % 2 else "confirmed", "start": start,
                         "end": start + timedelta(minutes=90), "registration_url":
                         "https://inscription.example.org/n", "announced": date(2021, 1, 6)})
    elif edit == "move" and "start" in one:
        one["start"] += timedelta(days=days)
        one["end"] = one["start"] + timedelta(minutes=90)
    elif edit == "cancel":
        one["status"] = "cancelled"
        one.pop("held", None)
        one.pop("replay_url", None)
    elif edit == "reinstate" and one["status"] == "cancelled":
        one["status"] = "confirmed"
    elif edit == "confirm" and one["status"] == "tentative":
        one["status"] = "confirmed"
    elif edit == "replay" and one["status"] != "cancelled":
        one["replay_url"] = f"https://replay.example.org/{one['id']}"
    elif edit == "speakers":
        one["speakers"] = ["Bernard"]
    elif edit == "date" and "start" not in one:
        one.pop("held", None)
        start = DAY_ONE + timedelta(days=200 + days)
        one |= {"start": start, "end": start + timedelta(minutes=90)}
        one.setdefault("announced", date(2021, 4, 16))
    elif edit == "video" and "video_url" in one:
        one["video_public"] = not one["video_public"]
    elif edit == "announce later" and "announced" in one:
        one["announced"] += timedelta(days=abs(days) + 10)
    elif edit == "city":
        one["city"] = "Tours"
    elif edit == "series":  # its number, if any, may be taken there: the edit is then refused
        one["series"] = "t" if one["series"] == "s" else "s"
    return sessions, ()


# (edit, which session, days it moves, days since the last publication: 0 is minutes later, a
# correction of it).
STEPS = st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 4),
                           st.sampled_from([-40, -1, 3, 30]), st.integers(0, 400)), max_size=4)


@st.composite
def histories(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]], list[Any], int]:
    """A schedule's first text, its publications (edit, which, days, gap) and when it is read."""
    top = head(draw(st.sampled_from(ZONES)), draw(st.booleans()))
    numbers = draw(st.permutations(range(1, 9)))
    first = [draw(a_session(f"s{i}", numbers[i])) for i in range(draw(st.integers(1, 5)))]
    return top, first, draw(STEPS), draw(st.integers(0, 600))


def published(top: str, sessions: list[dict[str, Any]], steps: list[Any]
              ) -> tuple[Version, datetime] | None:
    """The version the publications make, and the last one's time; None if the first is refused."""
    try:
        version = first_version(schedule_text(top, sessions), "sessions.toml")
    except ScheduleError:
        return None
    at = FIRST_PUBLICATION
    for edit, which, days, gap in steps:
        at += timedelta(days=gap) if gap else timedelta(minutes=5)
        after, withdrawn = edited(sessions, edit, which, days)
        try:
            version = next_version(version, schedule_text(top, after), "sessions.toml", at,
                                   withdrawn)[0]
        except ScheduleError:  # an edit the file refuses (a number taken twice): not published
            continue
        sessions = after
    return version, at


def text(element: Element | None) -> str:
    """What a reader sees of an element, spaces plain (pages join words with no-break ones)."""
    return "".join(element.itertext()).replace("\u00a0", " ").strip() if element is not None \
        else ""


def plain(value: str) -> str:
    return value.replace("\u00a0", " ")


def classed(tree: Element, tag: str, name: str) -> list[Element]:
    return [e for e in tree.iter(tag) if name in (e.get("class") or "").split()]


def linking(elements: list[Element], href: str | None) -> list[Element]:
    return [e for e in elements if href and any(a.get("href") == href for a in e.iter("a"))]


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def feed_time(parsed: Any) -> datetime:
    return datetime(*parsed[:6], tzinfo=UTC)


class Folder:
    """A built folder's documents, each read with an independent parser once, when first asked."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.read: dict[tuple[str, str], Any] = {}

    def raw(self, path: str) -> bytes:
        return (self.root / site.file_for(path)).read_bytes()

    def exists(self, path: str) -> bool:
        return (self.root / site.file_for(path)).exists()

    def _parsed(self, path: str, kind: str) -> Any:
        if (path, kind) not in self.read:
            body = self.raw(path)
            if kind == "ics":
                vobject.readOne(body.decode())  # a second reader takes it too
                calendar = icalendar.Calendar.from_ical(body)
                self.read[path, kind] = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
            else:
                self.read[path, kind] = html5lib.parse(body, namespaceHTMLElements=False) \
                    if kind == "html" else feedparser.parse(body)
        return self.read[path, kind]

    def events(self, path: str) -> dict[str, icalendar.Event]:
        return self._parsed(path, "ics")

    def page(self, path: str) -> Element:
        return self._parsed(path, "html")

    def feed(self, path: str) -> Any:
        return self._parsed(path, "feed")


def check_calendars(folder: Folder, schedule: Schedule, session: Session,
                    member: dict[str, Any]) -> None:
    """Its event, the same in every calendar that holds it, says what the JSON says."""
    events = folder.events("/calendar.ics")
    if not session.is_dated:
        assert member["ics_url"] is None and not folder.exists(f"/events/{session.id}.ics")
        return
    event = events[member["uid"]]
    (own,) = folder.events(f"/events/{session.id}.ics").values()
    assert own.to_ical() == event.to_ical()
    for city in schedule.cities():
        there = folder.events(f"/cities/{city_slug(city)}/calendar.ics")
        assert (member["uid"] in there) == (city == session.city), city
    for series in schedule.series:
        there = folder.events(f"/series/{series.id}/calendar.ics")
        assert (member["uid"] in there) == (series == session.series), series.id
    assert folder.events(f"/series/{session.series.id}/calendar.ics")[member["uid"]].to_ical() \
        == event.to_ical()
    assert event.decoded("DTSTART") == instant(member["start"])
    assert event.decoded("DTEND") == instant(member["end"])
    # The file's status, as RFC 5545 says it; a tentative one the file says took place was held.
    held = member["status"] == "tentative" and member["status_label"] == "Tenue"
    assert (str(event["SUMMARY"]), str(event["STATUS"]).lower(), int(event["SEQUENCE"])) == (
        member["headline"], "confirmed" if held else member["status"], member["sequence"])
    conference = event.get("CONFERENCE")
    assert (str(conference) if conference else None) == member["video_url"]
    details = str(event["DESCRIPTION"])
    assert member["registration_url"] is None or member["registration_url"] in details
    assert ("initialement prévue" in details) == member["rescheduled"]
    assert ("Séance annulée." in details) == (member["status"] == "cancelled")


def check_page(folder: Folder, session: Session, member: dict[str, Any]) -> Element:
    """Its page: title, badge, times, links, history and JSON-LD as the JSON has them."""
    page = folder.page(f"/events/{session.id}")
    assert text(page.find(".//title")).startswith(member["headline"])
    assert [text(p) for p in classed(page, "p", "badge")] == [member["status_label"]]
    # A cancellation is all there is to tell (the change log keeps a move); a session not
    # confirmed is said so, on its page as everywhere, and one the file says took place is not.
    assert not (member["rescheduled"] and member["status"] == "cancelled")
    notices, unconfirmed = " ".join(text(p) for p in classed(page, "p", "notice")), "Non confirmé"
    assert ("confirm" in notices) == (member["status_label"] == unconfirmed), notices
    assert member["headline"].startswith(unconfirmed) == (member["status_label"] == unconfirmed)
    assert text(page.find(".//dd")) == plain(member["when"])
    if member["status"] == "cancelled":  # no date will come: none is promised beside « Annulé »
        assert "à venir" not in member["when"]
    (alt,) = [m.get("content") for m in page.iter("meta") if m.get("property") == "og:image:alt"]
    assert plain(alt).endswith(f"{member['status_label']}.")
    times = [t.get("datetime") for t in page.iter("time")]
    assert times[:1] == ([member["start"]] if member["start"] else [])
    assert bool(linking([page], session.registration_url)) == bool(member["registration_url"])
    assert bool(classed(page, "section", "add-to-calendar")) == bool(member["add_to_calendar"])
    lines = {li.get("id"): text(li) for li in page.iter("li")
             if (li.get("id") or "").startswith("revision-")}
    if any(change["news"] for change in member["changes"]):  # a change entry may link to it
        assert lines == {f"revision-{c['sequence']}": plain(c["summary"])
                         for c in member["changes"]}
    blocks = [json.loads(text(s)) for s in page.iter("script")
              if s.get("type") == "application/ld+json"]
    if not session.is_dated:
        assert blocks == []
        return page
    (data,) = blocks
    assert (data["startDate"], data["endDate"]) == (member["start"], member["end"])
    status = "EventCancelled" if member["status"] == "cancelled" else \
        "EventRescheduled" if member["rescheduled"] else "EventScheduled"
    assert data["eventStatus"] == f"https://schema.org/{status}"
    assert data.get("previousStartDate") == (
        member["previous_start"] if status == "EventRescheduled" else None)
    assert data["location"]["url"] == (member["video_url"] or member["url"])
    assert ("offers" in data) == (session.registration_url is not None)
    if "offers" in data:  # on sale from its announcement: the one the feeds and the JSON date
        assert instant(data["offers"].get("validFrom")) == instant(member["announced"])
    return page


def check_feeds(folder: Folder, session: Session, member: dict[str, Any], page: Element,
                now: datetime) -> None:
    """Its news entries: one announcement once due, dated and titled as the JSON says, its
    teaser the page's description; each change entry a change of the JSON, on the page."""
    described = [m.get("content") for m in page.iter("meta") if m.get("name") == "description"]
    anchors = {e.get("id") for e in page.iter() if e.get("id")}
    changes = {f"revision-{c['sequence']}": c for c in member["changes"] if c["news"]}
    for path in ("/rss.xml", "/atom.xml"):
        entries = folder.feed(path).entries
        page_id = f"https://agenda.example.org/events/{session.id}"
        told = [e for e in entries if e.id == page_id]
        due = session.announced is not None and session.announced <= now
        assert len(told) == due, path
        for entry in told:
            assert feed_time(entry.published_parsed) == instant(member["announced"])
            title = plain(entry.title)
            assert member["headline"] in title
            assert plain(member["when"]).rsplit(", heure", 1)[0] in title
            assert [plain(entry.summary)] == [plain(d) for d in described]
            body = entry.content[0].value
            for url in (member["registration_url"], member["video_url"], member["replay_url"]):
                assert url is None or url in body, url
            assert ("Elle était prévue le" in body) == member["rescheduled"]
            assert ("Séance annulée." in body) == (member["status"] == "cancelled")
            assert ("Séance non confirmée." in body) == (member["status_label"] == "Non confirmé")
        for entry in entries:
            page_of, _, anchor = entry.id.partition("#")
            if page_of == page_id and anchor:
                assert due and anchor in changes and anchor in anchors, (path, anchor)
                assert feed_time(entry.published_parsed) == instant(changes[anchor]["at"])


def check_lists(folder: Folder, agenda: Element, embed: Element, session: Session,
                member: dict[str, Any], now: datetime) -> None:
    """Its card on the agenda, and in the embed while it is to come, as the JSON says."""
    path = f"/events/{session.id}"
    (card,) = linking(classed(agenda, "li", "card"), path)
    assert [text(p) for p in classed(card, "p", "badge")] == [member["status_label"]]
    assert bool(linking([card], session.registration_url)) == bool(member["registration_url"])
    assert bool(classed(card, "p", "note")) == member["rescheduled"]  # as every other output
    assert [text(p) for p in classed(card, "p", "when")] in ([plain(member["when"])], [])
    shown = linking(embed.findall(".//li"), path)
    assert len(shown) == (not session.is_over(now))
    for item in shown:
        badges = [text(b) for b in classed(item, "span", "badge")]
        assert badges in ([member["status_label"]], []), badges
        assert [text(w) for w in classed(item, "span", "embed-when")] == [plain(member["when"])]
        assert bool(linking([item], session.registration_url)) == bool(
            member["registration_url"])


def check_tense(folder: Folder, agenda: Element, session: Session, member: dict[str, Any],
                page: Element, now: datetime) -> None:
    """Once it is over, none of its outputs says it is still to be confirmed, or will not be."""
    if not session.is_over(now):
        return
    said = [text(page), *(m.get("content") or "" for m in page.iter("meta")), *strings(member)]
    said += [text(card) for card in linking(classed(agenda, "li", "card"), f"/events/{session.id}")]
    for path in ("/rss.xml", "/atom.xml"):
        said += [t for e in folder.feed(path).entries if e.id.partition("#")[0] == member["url"]
                 for t in (e.title, e.summary, e.content[0].value)]
    if session.is_dated:
        event = folder.events("/calendar.ics")[member["uid"]]
        said += [str(event["SUMMARY"]), str(event["DESCRIPTION"])]
    assert [t for t in said if "à confirmer" in plain(t).lower() or "aura pas lieu" in t] == []


def check_schedule(folder: Folder, version: Version, now: datetime) -> None:
    """Counts and planned dates: the same in the JSON, the calendars and the pages; then each
    session, and what is left of a withdrawn one: its page, saying so."""
    schedule = version.schedule
    document = json.loads(folder.raw("/events.json"))
    calendar = icalendar.Calendar.from_ical(folder.raw("/calendar.ics"))
    expanded = recurring_ical_events.of(calendar).between((1970, 1, 1), (2200, 1, 1))
    planned = document["planned"]
    assert len(expanded) == len(schedule.dated_sessions) + len(planned)
    events = folder.events("/calendar.ics")
    for plan in planned:
        event = events[plan["uid"]]
        assert (event.decoded("DTSTART"), str(event["SUMMARY"]), str(event["STATUS"])) == (
            instant(plan["start"]), plan["headline"], "TENTATIVE")
    assert {u for u, e in folder.events("/series/s/calendar.ics").items()
            if "à annoncer" in str(e["SUMMARY"])} == {p["uid"] for p in planned}
    agenda, embed = folder.page("/"), folder.page("/embed")
    assert len(classed(agenda, "li", "card-planned")) == len(planned)
    assert len(classed(embed, "li", "card-planned")) == len(planned)
    rss, atom = folder.feed("/rss.xml").entries, folder.feed("/atom.xml").entries
    assert [(e.id, plain(e.title)) for e in rss] == [(e.id, plain(e.title)) for e in atom]
    titles = {e.id: e.title for e in rss}
    for key, value in [("city", c) for c in schedule.cities()] + [
            ("series", s) for s in schedule.series]:  # the entries of its sessions, as the whole's
        path = f"/cities/{city_slug(value)}/rss.xml" if key == "city" else \
            f"/series/{value.id}/rss.xml"
        own = {e.id: e.title for e in folder.feed(path).entries}
        assert own == {i: t for i, t in titles.items() if getattr(schedule.session(
            i.rpartition("/")[2].partition("#")[0]), key) == value}, path
    members = {m["id"]: m for m in document["sessions"]}
    assert list(members) == [s.id for s in schedule.dated_sessions] + [
        s.id for s in schedule.sessions if not s.is_dated]
    # The embed lists the dated sessions to come in the JSON's order (the agenda's card names its
    # first); undated ones come after them, here by number, there in the file's order.
    listed = [i for li in classed(embed, "li", "embed-item") for a in li.iter("a")
              if (i := a.get("href", "").removeprefix("/events/")) in members
              and members[i]["start"]]
    assert listed == [i for i in members if i in listed]
    whole = b"".join(p.read_bytes() for p in folder.root.rglob("*")
                     if p.is_file() and p.suffix not in (".gz", ".br", ".png"))
    for key, entry in version.history.sessions.items():
        if entry.withdrawn is not None and schedule.session(key) is None:
            assert "Séance retirée" in text(folder.page(f"/events/{key}"))
            assert f"/events/{key}".encode() not in folder.raw("/") + folder.raw("/rss.xml")
            assert not any(folder.exists(f"/events/{key}{s}") for s in (".json", ".ics", ".png"))
    for session in schedule.sessions:
        member = members[session.id]
        assert json.loads(folder.raw(f"/events/{session.id}.json")) == member
        if session.video_url and not session.public_video_url:
            assert session.video_url.encode() not in whole
        check_calendars(folder, schedule, session, member)
        page = check_page(folder, session, member)
        check_feeds(folder, session, member, page, now)
        check_lists(folder, agenda, embed, session, member, now)
        check_tense(folder, agenda, session, member, page, now)


LYON = {"id": "s0", "series": "s", "city": "Lyon", "status": "confirmed"}  # no date, not announced
SPRING = DAY_ONE + timedelta(days=100)
DATED = LYON | {"start": SPRING, "end": SPRING + timedelta(hours=1), "announced": date(2021, 1, 2)}


@given(histories())
# A session added once the file is published: its offer is on sale from its announcement, the
# publication that brought it (JSON, feeds), not from the day the file names.
@example((head("Europe/Paris", False), [LYON], [("add", 0, 3, 30)], 1))
# Published with neither date nor announcement, then cancelled, or dated and announced: the JSON's
# change log had a line, and the feeds a change entry linking to it, that its page did not show.
@example((head("Europe/Paris", False), [LYON], [("cancel", 0, 0, 1)], 0))
@example((head("Europe/Paris", False), [LYON], [("date", 0, 3, 200)], 1))
# Moved, then cancelled: its card on the agenda said the date first planned, as no other did.
@example((head("Europe/Paris", False), [DATED], [("move", 0, 30, 10), ("cancel", 0, 0, 10)], 1))
# Two sessions at the same hour: the JSON, the calendars and the agenda's card put them by id, the
# pages by number (n° 5 first), so the card's « Prochaine séance » was not the embed's first.
@example((head("Europe/Paris", False), [DATED | {"number": 7}, DATED | {"id": "s1", "number": 5}],
          [], 0))
# Cancelled without a date: the embed said « date à venir, » with nothing after the comma, and
# every output « date à venir » beside « Annulé ».
@example((head("Europe/Paris", False), [LYON | {"status": "cancelled"}], [], 0))
# Tentative, read after its date: every output still said it was « à confirmer »; with a replay,
# « À confirmer » beside « Revoir la séance ».
@example((head("Europe/Paris", False), [DATED | {"status": "tentative"}], [], 200))
@example((head("Europe/Paris", False), [DATED | {"status": "tentative", "replay_url":
                                                  "https://replay.example.org/s0"}], [], 0))
# Cancelled, read after its date: its news entries said « Cette matinale n’aura pas lieu. »
@example((head("Europe/Paris", False), [DATED | {"status": "cancelled"}], [], 200))
def test_every_output_says_what_the_json_says(
    history: tuple[str, list[dict[str, Any]], list[Any], int],
) -> None:
    top, sessions, steps, later = history
    made = published(top, sessions, steps)
    if made is None:
        return
    version, at = made
    now = at + timedelta(days=later)
    with tempfile.TemporaryDirectory() as scratch:
        built = site.build(version, now, Path(scratch) / "site", workers=1)
        check_schedule(Folder(built.folder), version, now)
