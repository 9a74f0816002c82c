"""A year of the series as subscribers see it: twelve monthly sessions, then every edit.

The schedule is published step by step at explicit moments (`published.publish`, what
`agenda publish` runs), served from the built folder by one app whose moment follows, and
after each step every subscriber's address is fetched: the calendar feeds (whole, series,
cities), each session's .ics, page and JSON, RSS, Atom, /events.json and a registered
person's personal .ics. icalendar, recurring-ical-events, vobject and feedparser
read them back, and a client that replaces an event only when its SEQUENCE grows (Apple,
Outlook) is kept along: it must always show what is served. Each step says what it changes
(sessions whose SEQUENCE must grow, news the feeds must gain); everything else must stay
byte for byte, with its ETag, Last-Modified and a 304 for a client that cached it (plain or
gzip).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import pytest
import recurring_ical_events
import vobject
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from werkzeug.http import parse_date

from agenda import create_app, personal
from agenda.published import publish
from tests.conftest import MINIMAL
from tests.routes import html_text

PARIS = ZoneInfo("Europe/Paris")
CITIES = ("Amiens", "Brest", "Caen", "Dijon", "Nice", "Grenoble", "Lille", "Metz", "Nancy",
          "Orléans", "Pau")
Y = 2025  # past, so that the service's clock is never behind the publications


def third_wednesday(month: int) -> date:
    first = date(Y, month, 1)
    return first + timedelta(days=(2 - first.weekday()) % 7 + 14)


def session_text(number: int, city: str, day: date) -> str:
    start = datetime.combine(day, time(8, 45))
    end = start + timedelta(minutes=90)
    return f"""
[[sessions]]
id = "{session_id(city)}"
series = "s"
number = {number}
city = "{city}"
start = {start.isoformat()}
end = {end.isoformat()}
announced = {Y}-01-04
speakers = [{{ name = "Maire de {city}", role = "Maire" }}]
registration_url = "https://inscription.example.org/{number}"
video_url = "https://visio.example.org/salle-{number}"
description = "Une matinale à {city}, sur la ville de demain."
"""


def session_id(city: str) -> str:
    return city.lower().replace("é", "e")


RHYTHM = f"""rhythm = {{ rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=12", first = {third_wednesday(1)}, \
start = 08:45:00, end = 10:15:00 }}
"""
YEAR = MINIMAL + RHYTHM + "".join(
    session_text(n, city, third_wednesday(n)) for n, city in enumerate(CITIES, 1))


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def in_session(sid: str, old: str, new: str) -> Callable[[str], str]:
    """An edit of one line of one session's table."""
    def edit(text: str) -> str:
        head = f'id = "{sid}"'
        before, _, rest = text.partition(head)
        table, sep, after = rest.partition("[[sessions]]")
        assert old in table, old
        return before + head + table.replace(old, new) + sep + after
    return edit


def removed(sid: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        tables = text.split("[[sessions]]")
        return "[[sessions]]".join(t for t in tables if f'id = "{sid}"' not in t)
    return edit


@dataclass(frozen=True)
class Step:
    """An edit published at `at`: the sessions (ids, or planned dates' UIDs) whose event
    changes, the sessions whose news the feeds gain, and the wall-clock starts expected."""

    name: str
    at: datetime
    edit: Callable[[str], str]
    changed: frozenset[str]
    news: tuple[str, ...] = ()
    correction: bool | None = None
    withdraw: tuple[str, ...] = ()
    starts: dict[str, datetime] = field(default_factory=dict)


def moment(month: int, day: int) -> datetime:
    return datetime(Y, month, day, 9, tzinfo=UTC)


def moved(number: int, days: int, hour: str = "08:45") -> tuple[Callable[[str], str], datetime]:
    """Session n° `number` moved `days` from its planned day and to `hour` (90 minutes), from
    wherever earlier steps put it; and its new start, in Paris."""
    start = datetime.combine(third_wednesday(number) + timedelta(days=days),
                             time.fromisoformat(hour))
    sid = session_id(CITIES[number - 1])

    def edit(text: str) -> str:
        table = text.split(f'id = "{sid}"', 1)[1].split("[[sessions]]", 1)[0]
        old = [line for line in table.splitlines() if line.startswith(("start =", "end ="))]
        for line, new in zip(old, (start, start + timedelta(minutes=90)), strict=True):
            text = in_session(sid, line, f"{line.split('=')[0]}= {new.isoformat()}")(text)
        return text
    return edit, start.replace(tzinfo=PARIS)


def step_moving(name: str, at: datetime, number: int, days: int, hour: str = "08:45",
                correction: bool | None = None) -> Step:
    edit, start = moved(number, days, hour)
    sid = session_id(CITIES[number - 1])
    return Step(name, at, edit, frozenset({sid}), () if correction else (sid,), correction,
                starts={sid: start})


PLANNED = "s.%d@agenda.example.org"
ALL = frozenset(session_id(c) for c in CITIES)
STEPS = (
    step_moving("février reporté d'une semaine", moment(1, 10), 2, 7),
    step_moving("février avancé", moment(1, 25), 2, -7),
    step_moving("février revient à sa date", moment(1, 28), 2, 0),
    # Both across a change of the clocks: their UTC time is not the one before plus the days.
    step_moving("mars passé à l'heure d'été, à 9 h", moment(2, 1), 3, 14, "09:00"),
    step_moving("octobre passé à l'heure d'hiver", moment(2, 10), 10, 14),
    Step("avril annulé", moment(2, 20),
         in_session("dijon", 'description', 'status = "cancelled"\ndescription'),
         frozenset({"dijon"}), ("dijon",)),
    Step("avril rétabli", moment(3, 5),
         in_session("dijon", 'status = "cancelled"\n', ""), frozenset({"dijon"}), ("dijon",)),
    Step("mai à Toulon au lieu de Nice", moment(3, 20),
         in_session("nice", 'city = "Nice"', 'city = "Toulon"'), frozenset({"nice"})),
    Step("juin : une intervenante de plus", moment(4, 1),
         in_session("grenoble", 'role = "Maire" }]',
                    'role = "Maire" }, { name = "Léa Roux", role = "Urbaniste" }]'),
         frozenset({"grenoble"}), ("grenoble",)),
    Step("juin : coquille corrigée", moment(4, 3),
         in_session("grenoble", "ville de demain", "ville de demain."),
         frozenset({"grenoble"}), correction=True),
    step_moving("juillet : heure corrigée", moment(4, 10), 7, 0, "09:00", correction=True),
    # Its number is free again: the rhythm's date « à annoncer » comes back in its place.
    Step("août retiré", moment(5, 1), removed("metz"), frozenset({"metz", PLANNED % 8}),
         withdraw=("metz",)),
    Step("série renommée", moment(5, 15),
         lambda t: replace_once(t, 'title = "Série"', 'title = "Tour des Villes"'),
         ALL - {"metz"} | {PLANNED % 8, PLANNED % 12}),
    Step("décembre prévu devient une séance", moment(6, 1),
         lambda t: t + session_text(12, "Reims", third_wednesday(12)),
         frozenset({"reims"}), ("reims",)),
    Step("septembre : lien de visio changé (privé)", moment(6, 10),
         in_session("nancy", "salle-9", "salle-9b"), frozenset({"nancy"})),
    Step("novembre : lien d'inscription changé", moment(6, 20),
         in_session("pau", "inscription.example.org/11", "inscription.example.org/11b"),
         frozenset({"pau"})),
)
WITHDRAWN = ("/events/metz",)
PRIVATE = "personal .ics of nancy"
SECRET = "dR0h3_vK9mQe-Zx7Lp2sTb8YcWn4Ua6F"
CITY_FEEDS = ("/cities/nice/calendar.ics", "/cities/toulon/calendar.ics")
LOOSE = (*WITHDRAWN, *CITY_FEEDS)
FETCHED = ("/calendar.ics", "/rss.xml", "/atom.xml", "/events.json", "/series/s/calendar.ics",
           "/series/s/atom.xml", "/cities/amiens/calendar.ics", "/cities/amiens/rss.xml",
           *CITY_FEEDS) + tuple(
    f"/events/{sid}{kind}" for sid in sorted(ALL | {"reims"}) for kind in (".ics", ".json", ""))


@dataclass
class Seen:
    """What a subscriber's clients hold after a step."""

    bodies: dict[str, tuple[bytes, str, str]]  # path: body, ETag, Last-Modified
    events: dict[str, icalendar.Event]  # by session id (or "planned" UID)
    guids: list[str]


def fetch(client: FlaskClient) -> dict[str, tuple[bytes, str, str]]:
    found = {}
    for path in FETCHED:
        response = client.get(path)
        if response.status_code == 404:
            continue
        assert response.status_code == 200, path
        found[path] = (response.data, response.headers["ETag"], response.headers["Last-Modified"])
        # The private video links never reach a public address.
        assert b"visio.example.org" not in response.data, path
    # A registered person's personal .ics of September has the link, as the session has it.
    signed = personal.signature(personal.key(SECRET), "nancy")
    private = client.get(personal.page_path("nancy", signed) + ".ics")
    found[PRIVATE] = (private.data, "", "")
    return found


def gzip_etags(client: FlaskClient, seen: Seen) -> dict[str, str]:
    """The ETag of each address's gzip form (its own: "<hash>-gz"), as a browser caches it."""
    return {path: client.get(path, headers={"Accept-Encoding": "gzip"}).headers["ETag"]
            for path in seen.bodies if path != PRIVATE}


def session_of(event: icalendar.Event) -> str:
    url = str(event.get("URL", ""))
    return url.rsplit("/events/", 1)[1] if "/events/" in url else str(event["UID"])


def read(bodies: dict[str, tuple[bytes, str, str]]) -> Seen:
    data = bodies["/calendar.ics"][0]
    calendar = icalendar.Calendar.from_ical(data)
    events = {session_of(e): e for e in calendar.walk("VEVENT")}
    assert len(events) == len(calendar.walk("VEVENT")), "one event per session"
    uids = [str(e["UID"]) for e in events.values()]
    assert len(set(uids)) == len(uids)
    # vobject and recurring-ical-events see the same events at the same instants.
    parsed = vobject.readOne(data.decode())
    assert sorted(str(v.uid.value) for v in parsed.vevent_list) == sorted(uids)
    for vevent in parsed.vevent_list:
        (twin,) = (e for e in events.values() if str(e["UID"]) == vevent.uid.value)
        assert vevent.dtstart.value == twin.decoded("DTSTART")
    occurrences = recurring_ical_events.of(calendar).between(datetime(Y - 1, 1, 1),
                                                             datetime(Y + 2, 1, 1))
    assert sorted(str(o["UID"]) for o in occurrences) == sorted(uids)
    rss, atom = (feedparser.parse(bodies[p][0]) for p in ("/rss.xml", "/atom.xml"))
    assert not rss.bozo and not atom.bozo
    guids = [e.id for e in rss.entries]
    assert guids == [e.id for e in atom.entries]
    assert len(set(guids)) == len(guids), "a feed item twice"
    for path, (body, _, _) in bodies.items():
        if path.startswith("/events/") and path.endswith(".ics"):  # the feed's event
            (one,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
            assert one.to_ical() == events[path[8:-4]].to_ical(), path
    return Seen(bodies, events, guids)


class Client:
    """A calendar client of the Apple or Outlook kind: replaces an event when SEQUENCE grows."""

    def __init__(self) -> None:
        self.held: dict[str, icalendar.Event] = {}

    def refresh(self, served: dict[str, icalendar.Event]) -> None:
        for event in served.values():
            old = self.held.get(str(event["UID"]))
            if old is None or event["SEQUENCE"] > old["SEQUENCE"]:
                self.held[str(event["UID"])] = event
        uids = {str(e["UID"]) for e in served.values()}
        self.held = {uid: e for uid, e in self.held.items() if uid in uids}


def stamp(event: icalendar.Event, name: str) -> datetime:
    return event.decoded(name)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Step | None, Seen, dict]]:
    """Each step published, then fetched with the previous step's validators and without;
    the first element is the series as announced."""
    folder = tmp_path_factory.mktemp("year")
    schedule = folder / "sessions.toml"
    published = folder / "sessions.published.json"
    schedule.write_text(YEAR, encoding="utf-8")
    start = moment(1, 4)
    publish(schedule, published, start, new_history=True)
    app = create_app({"AGENDA_DATA": str(schedule), "AGENDA_NOW": start + timedelta(minutes=1),
                      "AGENDA_SECRET": SECRET, "TESTING": True})
    client = app.test_client()
    seen: list = [(None, read(fetch(client)), {})]
    zipped = gzip_etags(client, seen[-1][1])
    text = YEAR
    for step in STEPS:
        text = step.edit(text)
        schedule.write_text(text, encoding="utf-8")
        outcome = publish(schedule, published, step.at, withdraw=step.withdraw,
                          correction=step.correction)
        assert outcome.written, step.name
        app.config["AGENDA_NOW"] = step.at + timedelta(minutes=1)
        # What a client that cached the previous step's answers gets now.
        asked = {path: (client.get(path, headers={"If-None-Match": etag}),
                        client.get(path, headers={"If-Modified-Since": modified}),
                        client.get(path, headers={"If-None-Match": zipped[path],
                                                  "Accept-Encoding": "gzip"}))
                 for path, (_, etag, modified) in seen[-1][1].bodies.items() if path != PRIVATE}
        seen.append((step, read(fetch(client)), asked))
        zipped = gzip_etags(client, seen[-1][1])
    return seen


def pairs(year: list) -> list:
    return [(before[1], after[0], after[1]) for before, after in zip(year, year[1:], strict=False)]


def test_the_series_as_announced(year: list) -> None:
    (_, seen, _) = year[0]
    assert set(seen.events) - ALL == {"s.12@agenda.example.org"}  # December, planned
    for n, city in enumerate(CITIES, 1):
        event = seen.events[session_id(city)]
        assert event.decoded("DTSTART") == datetime.combine(
            third_wednesday(n), time(8, 45), PARIS)
    assert len(seen.guids) == len(CITIES)


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[s.name for s in STEPS])
def test_each_change_reaches_every_client_once(year: list, index: int) -> None:
    before, step, after = pairs(year)[index]
    takes = {"reims": PLANNED % 12}  # a session given a date takes its planned date's place
    assert set(after.events) == (set(before.events) | step.changed) - set(step.withdraw) - {
        takes[s] for s in step.changed if s in takes}
    for sid, event in after.events.items():
        old = before.events.get(sid) or before.events.get(takes.get(sid, sid))
        if old is None:  # the planned date a withdrawal gave back
            assert sid in step.changed and event["STATUS"] == "TENTATIVE"
            continue
        assert event["UID"] == old["UID"], sid
        for name in ("DTSTAMP", "LAST-MODIFIED"):
            if name in event and name in old:
                assert stamp(event, name) >= stamp(old, name), (sid, name)
        if sid in step.changed:
            assert event["SEQUENCE"] > old["SEQUENCE"], sid
            assert stamp(event, "DTSTAMP") == step.at, sid
            assert stamp(event, "LAST-MODIFIED") == step.at, sid
        else:
            assert event.to_ical() == old.to_ical(), sid
        if sid in step.starts:
            assert event.decoded("DTSTART") == step.starts[sid]
            assert event.decoded("DTSTART").utcoffset() == step.starts[sid].utcoffset()
            assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=90)
    status = {sid: str(e.get("STATUS")) for sid, e in after.events.items()}
    assert status["dijon"] == ("CANCELLED" if step.name == "avril annulé" else "CONFIRMED")
    if step.name == "avril annulé":
        assert "Annulé" in str(after.events["dijon"]["SUMMARY"])


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[s.name for s in STEPS])
def test_each_change_is_news_once_and_corrections_never(year: list, index: int) -> None:
    before, step, after = pairs(year)[index]
    lost = {g for g in before.guids if g not in after.guids}
    assert {g.split("/events/", 1)[1] for g in lost} == set(step.withdraw), "a feed item lost"
    new = [g for g in after.guids if g not in before.guids]
    about = sorted(g.split("/events/", 1)[1].split("#")[0] for g in new)
    assert about == sorted(step.news), new
    rss = feedparser.parse(after.bodies["/rss.xml"][0])
    for entry in rss.entries:
        # A change's item says what it said (the series' name aside).
        if "#" in entry.id and entry.id in before.guids and "renommée" not in step.name:
            (old,) = (e for e in feedparser.parse(before.bodies["/rss.xml"][0]).entries
                      if e.id == entry.id)
            assert entry.title == old.title, entry.id
    if step.correction:  # the fix reaches calendars; nothing says it moved or changed
        (sid,) = step.changed
        document = json.loads(after.bodies[f"/events/{sid}.json"][0])
        listed = json.loads(after.bodies["/events.json"][0])["sessions"]
        assert [s for s in listed if s["id"] == sid] == [document]
        page = html_text(after.bodies[f"/events/{sid}"][0])
        event = after.events[sid]
        for said in (page, json.dumps(document, ensure_ascii=False), str(event["SUMMARY"]),
                     str(event["DESCRIPTION"])):
            for word in ("Reporté", "Avancé", "Nouvelle date", "au lieu du"):
                assert word not in said, (sid, word)


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[s.name for s in STEPS])
def test_validators_move_with_the_bytes_and_only_then(year: list, index: int) -> None:
    before, step, after = pairs(year)[index]
    for path, (body, etag, modified) in before.bodies.items():
        if path == PRIVATE:
            continue
        response, by_date, zipped = year[index + 1][2][path]
        if path not in after.bodies:
            assert response.status_code == 404, path
            continue
        new_body, new_etag, new_modified = after.bodies[path]
        if new_body == body:
            assert (response.status_code, new_etag, zipped.status_code) == (304, etag, 304), path
            # Not yet for a feed without sessions nor a withdrawn session's address, dated by
            # the calendar's stamp, which the series' title moves too.
            if path not in LOOSE or "renommée" not in step.name:
                assert (new_modified, by_date.status_code) == (modified, 304), path
        else:
            assert new_etag != etag, path
            assert parse_date(new_modified) > parse_date(modified), path
            assert parse_date(new_modified) <= step.at + timedelta(minutes=1), path
            assert (response.status_code, by_date.status_code) == (200, 200), path
            assert response.data == by_date.data == new_body, path
            assert zipped.status_code == 200 and gzip.decompress(zipped.data) == new_body, path


def test_a_client_that_keeps_the_highest_sequence_shows_what_is_served(year: list) -> None:
    client = Client()
    for step, seen, _ in year:
        client.refresh(seen.events)
        assert {uid: e.to_ical() for uid, e in client.held.items()} == {
            str(e["UID"]): e.to_ical() for e in seen.events.values()}, step and step.name


def feed_events(seen: Seen, path: str) -> dict[str, icalendar.Event]:
    if path not in seen.bodies:
        return {}
    calendar = icalendar.Calendar.from_ical(seen.bodies[path][0])
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_a_session_gone_to_another_city_leaves_its_old_city_feed_empty(year: list) -> None:
    # Subscribers of Nice's calendar see the event go (a 404 would leave it there for ever);
    # Toulon's has it, the same UID, a higher SEQUENCE.
    for step, seen, _ in year:
        whole = feed_events(seen, "/calendar.ics")
        assert feed_events(seen, "/series/s/calendar.ics").keys() == whole.keys()
        nice, toulon = (feed_events(seen, p) for p in CITY_FEEDS)
        moved = "Toulon" in str(seen.events["nice"]["SUMMARY"])
        assert "/cities/nice/calendar.ics" in seen.bodies
        assert ("/cities/toulon/calendar.ics" in seen.bodies) == moved
        (uid,) = toulon if moved else nice
        assert not (nice if moved else toulon)
        assert uid == str(seen.events["nice"]["UID"])
        assert (toulon or nice)[uid].to_ical() == whole[uid].to_ical(), step and step.name


def test_a_registered_persons_ics_follows_the_private_link(year: list) -> None:
    link = "https://visio.example.org/salle-9"
    for step, seen, _ in year:
        (event,) = icalendar.Calendar.from_ical(seen.bodies[PRIVATE][0]).walk("VEVENT")
        public = seen.events["nancy"]
        # One above the public event's: a calendar holding that one takes this one (CLIENTS.md).
        assert (event["UID"], event["SEQUENCE"]) == (public["UID"], public["SEQUENCE"] + 1)
        if step is not None and "privé" in step.name:
            link += "b"
        assert str(event["CONFERENCE"]) == link
        assert link in str(event["DESCRIPTION"])


def test_every_json_document_of_the_year_is_valid_and_keeps_its_shape(year: list) -> None:
    """The CEPS site checks what it fetches against /schemas/events.json (README) and keeps it
    from one version to the next: through moves, a cancellation, a withdrawal and a planned date
    taken, every JSON document is valid, and a session's id, uid and URLs and each field's
    type (or null) stay what they were."""
    text = (resources.files("agenda") / "schemas" / "events.json").read_text(encoding="utf-8")
    check = Draft202012Validator(json.loads(text), format_checker=FormatChecker())
    kinds: dict[tuple[str, str], set[str]] = {}
    names: dict[str, tuple] = {}
    for _, seen, _ in year:
        for path, (body, _, _) in seen.bodies.items():
            if path.endswith(".json"):
                document = json.loads(body)
                assert [e.message for e in check.iter_errors(document)] == [], path
        for entry in json.loads(seen.bodies["/events.json"][0])["sessions"]:
            who = (entry["id"], entry["uid"], entry["url"], entry["json_url"])
            assert names.setdefault(entry["id"], who) == who
            for key, value in entry.items():
                kinds.setdefault((entry["id"], key), set()).add(type(value).__name__)
    assert {k: v for k, v in kinds.items() if len(v - {"NoneType"}) > 1} == {}
