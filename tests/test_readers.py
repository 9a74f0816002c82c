"""What subscribers, journalists and visitors read (issue 17), parsed back independently.

Calendars with icalendar, feeds with feedparser, pages with lxml, JSON with json:
a cancelled event frees the subscriber's time, a session that took place offers its
replay first and no registration, one announcement date everywhere, times that do
not break across lines, and press contacts that belong to a session.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import icalendar
import lxml.html
import pytest
from click.testing import CliRunner

from agenda.cli import main
from agenda.errors import ScheduleError
from agenda.loader import load_schedule, parse_schedule
from agenda.model import Schedule
from agenda.published import Version, first_version, next_version
from agenda.render import feeds, html, ical, json_api
from tests.conftest import FIXTURES, LYON_OCTOBER, MINIMAL, SEVERAL

READERS = FIXTURES / "readers.toml"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")
# A formatted time ("8 h 45", "10 h") or a day and its month ("19 mai", "1er juin"),
# whatever spaces join them: each of those spaces must be a non-breaking one.
TIME = re.compile(r"\b\d{1,2}(\s+)h(?:(\s+)\d{2})?\b")
DAY = re.compile(r"\b\d{1,2}(?:er)?(\s+)(?:" + "|".join(MONTHS) + r")\b")


@pytest.fixture
def readers() -> Schedule:
    return load_schedule(READERS)


def page(schedule: Schedule, session_id: str, now: datetime = NOW) -> lxml.html.HtmlElement:
    session = schedule.session(session_id)
    assert session is not None
    return lxml.html.fromstring(html.session_page(schedule, session, now))


def events(schedule: Schedule) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(ical.feed_bytes(schedule, schedule.sessions))
    return {str(e["URL"]).rsplit("/", 1)[-1]: e for e in calendar.walk("VEVENT")}


def test_cancelled_event_is_transparent_and_still_cancelled(readers: Schedule) -> None:
    found = events(readers)
    cancelled = found["tours"]
    assert str(cancelled["TRANSP"]) == "TRANSPARENT"
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["SUMMARY"]).startswith("Annulé")
    assert {str(e["TRANSP"]) for k, e in found.items() if k != "tours"} == {"OPAQUE"}


def test_ics_description_of_a_held_session_starts_with_its_replay(readers: Schedule) -> None:
    nantes = readers.session("nantes")
    description = str(events(readers)["nantes"]["DESCRIPTION"]).splitlines()
    assert nantes.replay_url in description[0]
    assert not [line for line in description if nantes.registration_url in line]
    upcoming = str(events(readers)["lyon"]["DESCRIPTION"])
    assert readers.session("lyon").registration_url in upcoming


def feed_entries(version: Version) -> list:
    body = feeds.atom_bytes(version.schedule, version.schedule.sessions)
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0
    return parsed.entries


def publish(text: str, current: Version | None, now: datetime) -> Version:
    version, _ = next_version(current, text.encode(), "sessions.toml", now)
    return version


BASE = MINIMAL + """
[[sessions]]
id = "lyon"
series = "s"
number = 1
city = "Lyon"
start = 2026-12-16T08:45:00
end = 2026-12-16T10:15:00
registration_url = "https://example.org/inscription/lyon"
announced = 2026-11-20
description = "Une matinale sur la ville."
"""
REPLAY = "https://video.example.org/replay/lyon"


def test_replay_entry_gives_the_replay_first_and_no_registration() -> None:
    first = publish(BASE, None, datetime(2026, 11, 20, 9, tzinfo=UTC))
    replayed = BASE.replace('city = "Lyon"', f'city = "Lyon"\nreplay_url = "{REPLAY}"')
    version = publish(replayed, first, datetime(2026, 12, 17, 9, tzinfo=UTC))
    (entry,) = [e for e in feed_entries(version) if e.title.startswith("Replay disponible")]
    body = lxml.html.fromstring(entry.content[0].value)
    hrefs = body.xpath("//a/@href")
    assert hrefs[0] == REPLAY
    assert "https://example.org/inscription/lyon" not in hrefs
    assert "Inscription" not in body.text_content()
    paragraphs = [p.text_content() for p in body.xpath("//p")]
    replay_at = next(i for i, p in enumerate(paragraphs) if REPLAY in p)
    assert replay_at < paragraphs.index("Une matinale sur la ville.")


def test_json_of_a_held_session_offers_neither_registration_nor_calendar(
    readers: Schedule,
) -> None:
    document = json.loads(json_api.events_bytes(readers))
    by_id = {s["id"]: s for s in document["sessions"]}
    assert by_id["nantes"]["replay_url"] == readers.session("nantes").replay_url
    assert by_id["nantes"]["registration_url"] is None
    assert by_id["nantes"]["add_to_calendar"] is None
    assert by_id["lyon"]["registration_url"] == readers.session("lyon").registration_url
    # Over by the clock: given the moment, the JSON offers neither either.
    at_now = {s["id"]: s for s in json.loads(json_api.events_bytes(readers, NOW))["sessions"]}
    assert (at_now["rennes"]["registration_url"], at_now["rennes"]["add_to_calendar"]) == (
        None, None
    )
    assert at_now["lyon"]["registration_url"] == readers.session("lyon").registration_url
    alone = json.loads(json_api.session_bytes(readers, readers.session("rennes"), NOW))
    assert alone == at_now["rennes"]


def test_history_dates_the_announcement_as_the_feed_does() -> None:
    # A session added to a published file on 5 December, announced on the 4th.
    first = publish(BASE, None, datetime(2026, 11, 20, 9, tzinfo=UTC))
    added = BASE + """
[[sessions]]
id = "metz"
series = "s"
number = 2
city = "Metz"
start = 2026-12-23T08:45:00
end = 2026-12-23T10:15:00
announced = 2026-12-04
"""
    second = publish(added, first, datetime(2026, 12, 5, 6, 30, tzinfo=UTC))
    moved = added.replace("2026-12-23T08:45", "2026-12-23T09:00")
    version = publish(moved, second, datetime(2026, 12, 6, 9, tzinfo=UTC))
    (entry,) = [e for e in feed_entries(version) if e.id.endswith("/events/metz")]
    published = datetime(*entry.published_parsed[:6], tzinfo=UTC).astimezone(
        version.schedule.calendar.timezone
    )
    metz = version.schedule.session("metz")
    history = [li.text_content() for li in page(version.schedule, "metz").xpath(
        "//section[@aria-labelledby='historique']//li"
    )]
    day = f"{published.day}\u00a0{MONTHS[published.month - 1]} {published.year}"
    assert history[0] == f"{day}\u00a0: annonce"
    document = json.loads(json_api.session_bytes(version.schedule, metz))
    # The same words; the page binds the colon to its word.
    assert document["changes"][0]["summary"] == history[0].replace("\u00a0:", " :")


def test_check_warns_of_a_replay_before_the_session(
    runner: CliRunner, write_schedule, tmp_path: Path
) -> None:
    later = datetime.now(UTC) + timedelta(days=400)
    text = BASE.replace("2026-12-16", f"{later:%Y-%m-%d}").replace(
        'city = "Lyon"', f'city = "Lyon"\nreplay_url = "{REPLAY}"'
    )
    result = runner.invoke(main, ["check", str(write_schedule(text))],
                           env={"AGENDA_PUBLISHED": str(tmp_path / "published.json")})
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if "replay_url" in line]
    assert len(warnings) == 1 and "séance « lyon »" in warnings[0]
    earlier = datetime.now(UTC) - timedelta(days=400)
    held = runner.invoke(main, ["check", str(write_schedule(text.replace(
        f"{later:%Y-%m-%d}", f"{earlier:%Y-%m-%d}"
    )))], env={"AGENDA_PUBLISHED": str(tmp_path / "published.json")})
    assert held.exit_code == 0
    assert "replay_url" not in held.stderr


def breakable_spaces(text: str) -> list[str]:
    """The formatted times and dates in `text` that hold a space a line may break at."""
    found = []
    for pattern in (TIME, DAY):
        for match in pattern.finditer(text):
            if any(g and g != "\u00a0" for g in match.groups()):
                found.append(match.group())
    return found


@pytest.mark.parametrize("fixture", [READERS, SEVERAL], ids=lambda p: p.stem)
def test_no_breakable_space_inside_a_formatted_time(fixture: Path) -> None:
    schedule = load_schedule(fixture)
    bodies = [html.agenda_page(schedule, NOW), html.embed_page(schedule, NOW)]
    for moment in (datetime(2021, 1, 1, tzinfo=UTC), NOW):
        bodies += [html.session_page(schedule, s, moment) for s in schedule.sessions]
    seen = 0
    for body in bodies:
        tree = lxml.html.fromstring(body)
        for script in tree.xpath("//script"):
            script.drop_tree()  # data, not text a reader sees
        text = tree.text_content()
        seen += len(TIME.findall(text))
        assert breakable_spaces(text) == []
    assert seen > 0


# A plain space a line may break at before French high punctuation or a dash, inside
# guillemets, or between « n° » and its number.
LOOSE = re.compile(r" [:;!?»–]|« |n° \d")


@pytest.mark.parametrize("fixture", [READERS, SEVERAL], ids=lambda p: p.stem)
def test_no_line_breaks_before_french_punctuation(fixture: Path) -> None:
    """Text and the words of attributes (titles, descriptions, alt texts) of every page: the
    data's own text (« Ça va ? ») as much as ours (« Annulé : »)."""
    schedule = load_schedule(fixture)
    withdrawn = html.withdrawn_page(schedule.calendar, NOW)
    bodies = [html.agenda_page(schedule, NOW), html.embed_page(schedule, NOW), withdrawn,
              *(html.error_page(schedule.calendar, code, *words)
                for code, words in html.ERRORS.items())]
    for moment in (datetime(2021, 1, 1, tzinfo=UTC), NOW):
        bodies += [html.session_page(schedule, s, moment) for s in schedule.sessions]
    loose = []
    for body in bodies:
        tree = lxml.html.fromstring(body)
        for script in tree.xpath("//script"):
            script.drop_tree()  # data, not text a reader sees
        words = [tree.text_content(), *tree.xpath("//@content|//@alt|//@title|//@aria-label")]
        loose += [match for text in words for match in LOOSE.findall(text)]
    assert loose == []


@pytest.mark.parametrize("fixture", [READERS, SEVERAL], ids=lambda p: p.stem)
def test_feed_readers_break_no_line_before_french_punctuation(fixture: Path) -> None:
    """Titles and bodies of RSS and Atom entries, read back by feedparser: a narrow reader
    showed « Annulé » on a line and « : Tour des Villes » on the next."""
    schedule = load_schedule(fixture)
    seen, loose = 0, []
    for render in (feeds.rss_bytes, feeds.atom_bytes):
        parsed = feedparser.parse(render(schedule, schedule.sessions, until=NOW))
        for entry in parsed.entries:
            body = lxml.html.fromstring(entry.content[0].value).text_content()
            seen += 1
            loose += LOOSE.findall(entry.title) + LOOSE.findall(body)
    assert seen > 0 and loose == []


def test_scripts_write_french_punctuation_as_the_pages_do() -> None:
    """The words the pages' scripts put on screen (a copy's status, the visitor's time)."""
    static = Path(html.__file__).resolve().parent.parent / "static"
    words = [w for js in static.glob("*.js")
             for w in re.findall(r'"((?:[^"\\]|\\.)*)"', js.read_text(encoding="utf-8"))]
    assert any("Adresse" in w for w in words)
    assert [w for w in words if LOOSE.search(w)] == []


def contact_names(tree: lxml.html.HtmlElement) -> list[str]:
    return [p.text_content().split(" (")[0].strip()
            for p in tree.xpath("//section[@aria-labelledby='contacts']//*[@class='contact-name']")]


def test_session_names_its_own_press_contacts(readers: Schedule) -> None:
    everyone = [c.name for c in readers.contacts]
    assert contact_names(page(readers, "lyon")) == ["Zoé Martin"]
    assert contact_names(page(readers, "metz")) == everyone
    entries = {e.id.rsplit("/", 1)[-1]: e for e in feedparser.parse(
        feeds.rss_bytes(readers, readers.sessions)
    ).entries}
    lyon = entries["lyon"].content[0].value
    assert "Zoé Martin" in lyon and "Emmanuel Thérond" not in lyon
    assert "Emmanuel Thérond" in entries["metz"].content[0].value
    document = json.loads(json_api.events_bytes(readers))
    by_id = {s["id"]: s for s in document["sessions"]}
    assert [c["name"] for c in by_id["lyon"]["contacts"]] == ["Zoé Martin"]
    assert [c["name"] for c in by_id["metz"]["contacts"]] == everyone
    alone = json.loads(json_api.session_bytes(readers, readers.session("lyon")))
    assert alone["contacts"] == by_id["lyon"]["contacts"]


def test_unknown_press_contact_is_refused_with_the_nearest_name() -> None:
    text = READERS.read_text("utf-8").replace('contacts = ["Zoé Martin"]',
                                              'contacts = ["Zoe Martin"]')
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, "readers.toml")
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("séance « lyon »", "contacts[0]")
    assert "« Zoé Martin »" in problem.message


def test_list_entries_say_online_and_how_to_register(readers: Schedule) -> None:
    tree = lxml.html.fromstring(html.agenda_page(readers, NOW))
    (card,) = tree.xpath("//li[.//a[@href='/events/lyon']]")
    assert "visioconférence" in card.text_content().casefold()
    assert readers.session("lyon").registration_url in card.xpath(".//a/@href")
    (past,) = tree.xpath("//li[.//a[@href='/events/nantes']]")
    assert readers.session("nantes").registration_url not in past.xpath(".//a/@href")
    embed = lxml.html.fromstring(html.embed_page(readers, NOW))
    (item,) = embed.xpath("//li[.//a[@href='/events/lyon']]")
    assert "visioconférence" in item.text_content().casefold()
    assert readers.session("lyon").registration_url in item.xpath(".//a/@href")



@pytest.mark.parametrize("moment", [datetime(2021, 1, 1, tzinfo=UTC), NOW], ids=str)
def test_json_status_label_is_the_badge_of_the_page(readers: Schedule, moment: datetime) -> None:
    # The CEPS website shows `status_label`: « Tenue » once over, as the page says, not
    # « Confirmé » for a session that took place.
    document = json.loads(json_api.events_bytes(readers, moment))
    labels = {s["id"]: s["status_label"] for s in document["sessions"]}
    badges = {s.id: page(readers, s.id, moment).xpath("//p[contains(@class, 'badge')]")[0]
              .text_content() for s in readers.sessions}
    assert labels == badges
    assert labels["rennes"] == ("Confirmé" if moment.year == 2021 else "Tenue")


@pytest.mark.parametrize("now", [datetime(2021, 10, 20, tzinfo=UTC),
                                 datetime(2021, 12, 1, tzinfo=UTC)])
def test_registration_is_offered_alike_by_page_feed_calendar_and_json(now: datetime) -> None:
    """Whoever reads the session, where it is offered: /events.json kept the registration link
    of a cancelled session, which the CEPS site showed as « S'inscrire »."""
    schedule = load_schedule(SEVERAL)
    document = json.loads(json_api.events_bytes(schedule, now))
    from_json = {e["id"]: e["registration_url"] is not None for e in document["sessions"]}
    calendar = icalendar.Calendar.from_ical(ical.feed_bytes(schedule, schedule.sessions))
    from_ics = {str(e["URL"]).rsplit("/", 1)[-1]: "Inscription" in str(e["DESCRIPTION"])
                for e in calendar.walk("VEVENT")}
    feed = feedparser.parse(feeds.atom_bytes(schedule, schedule.sessions, until=now))
    from_feed = {e.id.rsplit("/", 1)[-1]: "Inscription" in e.content[0].value
                 for e in feed.entries}
    for session in schedule.sessions:
        tree = page(schedule, session.id, now)
        on_page = bool(tree.xpath("//a[normalize-space()='S’inscrire à la séance']"))
        assert from_json[session.id] == on_page, session.id
        assert from_feed.get(session.id, on_page) == on_page, session.id
        if not session.is_over(now):  # a calendar file does not change as the session ends
            assert from_ics.get(session.id, on_page) == on_page, session.id
    # Tours, cancelled, is still to come on 20 October; so is Orléans, open on the 20th.
    assert from_json["annulee"] is False
    assert from_json["automne"] is (now.month == 10)


@pytest.mark.parametrize(("held", "said"), [
    ("", "date à venir"), ("held = true\n", "date non communiquée"),
    ('replay_url = "https://video.example.org/brest"\n', "date non communiquée")])
def test_an_undated_session_says_alike_everywhere_whether_its_date_is_to_come(
    held: str, said: str
) -> None:
    """An announced session without a date read « date à venir » on its page and its card, but
    « date non communiquée » in the JSON (the CEPS site) and in the feed's title and body, as if
    it had taken place or its date were withheld."""
    schedule = parse_schedule(MINIMAL + f"""
[[sessions]]
id = "brest"
series = "s"
city = "Brest"
announced = 2026-11-02
{held}""", "s.toml")
    facts = page(schedule, "brest").xpath("//dl[@class='facts']/div[dt='Date']/dd")[0]
    document = json.loads(json_api.session_bytes(schedule, schedule.session("brest"), NOW))
    (entry,) = feedparser.parse(feeds.rss_bytes(schedule, schedule.sessions, until=NOW)).entries
    body = lxml.html.fromstring(entry.content[0].value)
    (date,) = [p.text_content() for p in body.xpath("//p") if p.text_content().startswith("Date")]
    assert [" ".join(facts.text_content().split()), document["when"],
            entry.title.split(", ", 1)[1], date.replace("\xa0", " ")] \
        == [said, said, said, f"Date : {said}."]


def test_a_session_ending_at_midnight_ends_at_minuit_not_the_next_day_at_0_h() -> None:
    """« mercredi 19 mai 2027, 20 h – jeudi 20 mai 2027, 0 h » made an evening session look
    like one that ran on into Thursday; French says « 20 h – minuit »."""
    schedule = parse_schedule(MINIMAL + """
[[sessions]]
id = "soiree"
series = "s"
city = "Lyon"
start = 2027-05-19T20:00:00
end = 2027-05-20T00:00:00
announced = 2026-11-02
""", "s.toml")
    session = schedule.session("soiree")
    shown = page(schedule, "soiree")
    facts = shown.xpath("//dl[@class='facts']/div[dt='Date']/dd")[0].text_content()
    (description,) = shown.xpath("//meta[@name='description']/@content")
    document = json.loads(json_api.session_bytes(schedule, session, NOW))
    (entry,) = feedparser.parse(feeds.rss_bytes(schedule, schedule.sessions, until=NOW)).entries
    for text in (facts, description, document["when"], entry.title):
        assert "mercredi 19 mai 2027, 20 h – minuit" in " ".join(text.split()), text


def test_a_session_moved_within_its_day_says_from_what_time_everywhere() -> None:
    """Moved from 8 h 45 to 10 h the same day, the calendar's DESCRIPTION said « Séance reportée
    (initialement prévue le mercredi 21 octobre 2026) », the very day it shows: the page, card
    and feed name the time it was first planned at."""
    text = MINIMAL + LYON_OCTOBER
    first = first_version(text.encode(), "s.toml")
    moved, _ = next_version(first, text.replace("T08:45", "T10:00").replace(
        "T10:15", "T11:30").encode(), "s.toml", datetime(2026, 10, 5, tzinfo=UTC))
    schedule = moved.schedule
    (event,) = icalendar.Calendar.from_ical(
        ical.feed_bytes(schedule, schedule.sessions)).walk("VEVENT")
    notice = page(schedule, "lyon").xpath("//p[@class='notice']")[0].text_content()
    said = "Séance reportée : elle était prévue le mercredi 21 octobre 2026 à 8 h 45."
    assert " ".join(notice.split()) == said
    assert str(event["DESCRIPTION"]).splitlines()[0].replace("\xa0", " ") == \
        "Séance reportée (initialement prévue le mercredi 21 octobre 2026 à 8 h 45)."


def test_the_replay_entry_of_an_undated_session_says_its_date_was_not_published() -> None:
    # A replay says the session took place: not « date à venir » in the change's title.
    text = MINIMAL + '[[sessions]]\nid = "brest"\nseries = "s"\ncity = "Brest"\n' \
        'announced = 2026-11-02\n'
    first = first_version(text.encode(), "s.toml")
    version, _ = next_version(first, (text + 'replay_url = "https://video.example.org/b"\n')
                              .encode(), "s.toml", datetime(2026, 11, 20, tzinfo=UTC))
    schedule = version.schedule
    titles = [e.title.replace("\xa0", " ") for e in feedparser.parse(
        feeds.rss_bytes(schedule, schedule.sessions, until=NOW)).entries]
    assert titles == ["Replay disponible : Série : Brest, date non communiquée",
                      "Série : Brest, date non communiquée"]
