"""A series' rhythm: tentative « à annoncer » events that real sessions take over, never twice."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import feedparser
import icalendar
import lxml.html
import pytest
import recurring_ical_events
from dateutil.rrule import rrulestr

from agenda import create_app
from agenda.errors import ScheduleError
from agenda.loader import parse_schedule
from agenda.published import first_version, next_version
from agenda.render import feeds, html, ical, json_api
from tests.conftest import MINIMAL, SHIPPED

RULE = "FREQ=MONTHLY;BYDAY=3WE;COUNT=6"
RHYTHM = f"""
rhythm = {{ rule = "{RULE}", first = 2021-03-17, start = 08:45:00, end = 10:15:00 }}
"""
TEXT = MINIMAL + RHYTHM + """
[[sessions]]
id = "biarritz"
series = "s"
number = 1
city = "Biarritz"
held = true

[[sessions]]
id = "clermont"
series = "s"
number = 3
city = "Clermont-Ferrand"
start = 2021-05-19T08:45:00
end = 2021-05-19T10:15:00
announced = 2021-05-14

[[sessions]]
id = "lyon"
series = "s"
number = 4
city = "Lyon"
announced = 2021-05-20
"""
NOW = datetime(2021, 5, 25, 9, 0, tzinfo=UTC)


def feed(version) -> icalendar.Calendar:
    data = ical.feed_bytes(version.schedule, version.schedule.sessions)
    return icalendar.Calendar.from_ical(data)


def expected_dates() -> list[date]:
    """The rule expanded by dateutil on its own, not through our planning module."""
    return [d.date() for d in rrulestr(RULE, dtstart=datetime(2021, 3, 17, 8, 45))]


def test_open_planned_dates_are_tentative_events_to_announce() -> None:
    version = first_version(TEXT.encode(), "s.toml")
    calendar = feed(version)
    planned = [e for e in calendar.walk("VEVENT") if "à annoncer" in str(e["SUMMARY"])]
    dates = expected_dates()
    # n° 1 was held, n° 3 has its date: the other four are planned.
    wanted = [dates[i - 1] for i in (2, 4, 5, 6)]
    assert sorted(e.decoded("DTSTART").date() for e in planned) == wanted
    assert {str(e["STATUS"]) for e in planned} == {"TENTATIVE"}
    assert str(planned[0]["SUMMARY"]).startswith("Série n° ")
    between = recurring_ical_events.of(calendar).between(datetime(2021, 1, 1), datetime(2022, 1, 1))
    assert len(between) == 5  # four planned dates and Clermont-Ferrand


def test_planned_dates_stay_out_of_the_news_feeds_and_show_on_pages() -> None:
    version = first_version(TEXT.encode(), "s.toml")
    body = feeds.rss_bytes(version.schedule, version.schedule.sessions)
    assert all("annoncer" not in e.title for e in feedparser.parse(body).entries)
    page = html.agenda_page(version.schedule, NOW).decode()
    assert page.count("Prévue") == 3  # n° 4, 5 and 6 are still to come on 25 May


def test_planned_dates_in_json_say_their_zone_as_the_pages_and_sessions_do() -> None:
    """A site showing /events.json's `when` had « 8 h 45 » for a planned date, without the
    « heure de Paris » every session and the pages have: whose 8 h 45, to a reader abroad?"""
    version = first_version(TEXT.encode(), "s.toml")
    document = json.loads(json_api.events_bytes(version.schedule, NOW))
    page = "".join(lxml.html.fromstring(html.agenda_page(version.schedule, NOW)).itertext())
    (session,) = [s for s in document["sessions"] if s["start"]]
    assert session["when"].endswith(", heure de Paris")
    assert document["planned"]
    for planned in document["planned"]:
        start = datetime.fromisoformat(planned["start"])
        when = planned["when"].replace("\u00a0", " ")
        assert when.endswith(f"{start.hour} h {start.minute:02} – 10 h 15, heure de Paris")
        assert planned["when"].replace(" –", "\u00a0–") in page  # the dash bound


def test_a_planned_date_gone_by_is_no_longer_listed_as_to_come() -> None:
    """On 25 May, /events.json still listed n° 2 of 21 April as « Prévue », « à annoncer »,
    which the agenda page had dropped: the CEPS site showed a date gone by as one to come."""
    version = first_version(TEXT.encode(), "s.toml")
    document = json.loads(json_api.events_bytes(version.schedule, NOW))
    page = lxml.html.fromstring(html.agenda_page(version.schedule, NOW))
    shown = page.xpath("//li[contains(@class, 'card-planned')]//time/@datetime")
    dates = expected_dates()
    assert [datetime.fromisoformat(p["start"]).date() for p in document["planned"]] \
        == [datetime.fromisoformat(t).date() for t in shown] == [dates[i - 1] for i in (4, 5, 6)]


def test_a_session_given_a_date_takes_over_the_planned_event() -> None:
    first = first_version(TEXT.encode(), "s.toml")
    before = {str(e["UID"]): e for e in feed(first).walk("VEVENT")}
    (planned_uid,) = [
        uid for uid, e in before.items()
        if e.decoded("DTSTART").date() == expected_dates()[3]
    ]
    dated = TEXT.replace(
        'city = "Lyon"', 'city = "Lyon"\nstart = 2021-06-16T08:45:00\nend = 2021-06-16T10:15:00'
    )
    version, _ = next_version(first, dated.encode(), "s.toml", NOW)
    after = {str(e["UID"]): e for e in feed(version).walk("VEVENT")}
    assert set(after) == set(before)  # one event, never two
    event = after[planned_uid]
    assert str(event["SUMMARY"]) == "Série n° 4 : Lyon"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert int(event["SEQUENCE"]) == int(before[planned_uid]["SEQUENCE"]) + 1


def test_an_edit_elsewhere_leaves_the_planned_events_as_they_were() -> None:
    # Subscribers' copies of the planned dates stay valid: an edit of a session (then two)
    # neither restamps nor re-sequences them, and their bytes stay the same.
    first = first_version(TEXT.encode(), "s.toml")
    edited = TEXT.replace('city = "Lyon"', 'city = "Lyon"\ntitle = "La ville"')
    second, _ = next_version(first, edited.encode(), "s.toml", NOW)
    third, _ = next_version(second, ("# relu\n" + edited).encode(), "s.toml", NOW.replace(day=26))

    def planned(version) -> dict[str, bytes]:
        return {str(e["UID"]): e.to_ical() for e in feed(version).walk("VEVENT")
                if str(e["STATUS"]) == "TENTATIVE"}

    assert len(planned(first)) == 4
    assert planned(second) == planned(first)
    assert planned(third) == planned(first)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=MONTHLY;BYDAY=3WE", "ne finit jamais : ajoutez COUNT=… ou UNTIL=…"),
        ("FREQ=SOMETIMES;COUNT=3", "n'est pas une règle de récurrence RFC 5545"),
        ("FREQ=DAILY;COUNT=100000", "prévoit plus de 500 dates"),
        # dateutil reads a space as a new line: an EXDATE was refused as « not a single rule ».
        ("FREQ=MONTHLY;COUNT=3 EXDATE:20210421T084500", "doit être la règle seule"),
        ("EXRULE:FREQ=DAILY;COUNT=2", "doit être la règle seule"),
        # dateutil sought, hour by hour until the year 9999, a date an impossible rule never has:
        # `agenda check` and the desk's form hung. Hours put many planned dates on one day.
        ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30;COUNT=1", "prévoit des jours : FREQ vaut DAILY"),
        ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30;UNTIL=21991231", "sans BYHOUR, BYMINUTE"),
        ("FREQ=SECONDLY;INTERVAL=86400;BYMONTH=2;BYMONTHDAY=30;COUNT=1", "prévoit des jours"),
        ("FREQ=DAILY;BYHOUR=8,9,10;COUNT=3", "les heures sont « start » et « end »"),
        # dateutil's IndexError for an ordinal no month has went up as a traceback.
        ("FREQ=MONTHLY;BYDAY=+1000MO;COUNT=3", "n'est pas une règle de récurrence RFC 5545"),
        # INTERVAL=0: dateutil never moved on from the first period, looking forever.
        ("FREQ=MONTHLY;INTERVAL=0;BYMONTH=3;COUNT=3", "INTERVAL vaut 1 ou plus"),
        # RFC 5545: COUNT and UNTIL MUST NOT both occur (dateutil only warns, for now).
        ("FREQ=MONTHLY;COUNT=3;UNTIL=20300101", "finit deux fois, par COUNT et par UNTIL"),
    ],
)
def test_a_bad_rhythm_is_refused_with_a_message(rule: str, message: str) -> None:
    text = MINIMAL + RHYTHM.replace(RULE, rule)
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, "s.toml")
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("série « s »", "rhythm.rule")
    assert message in problem.message


@pytest.mark.parametrize(("rule", "first", "hours", "field", "stamp", "change"), [
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;COUNT=2", "2021-03-28", ("02:30:00", "03:30:00"),
     "rhythm.start", "2021-03-28 02:30", "les horloges sautent cette heure"),
    ("FREQ=MONTHLY;BYDAY=-1SU;COUNT=12", "2021-01-31", ("01:00:00", "02:15:00"),
     "rhythm.end", "2021-03-28 02:15", "les horloges sautent cette heure"),
    ("FREQ=WEEKLY;BYDAY=SU;COUNT=20", "2021-09-19", ("02:30:00", "04:00:00"),
     "rhythm.start", "2021-10-31 02:30", "les horloges reculent"),
])
def test_a_rhythm_at_an_hour_the_clocks_skip_or_pass_twice_is_refused(
    rule: str, first: str, hours: tuple[str, str], field: str, stamp: str, change: str,
) -> None:
    """As a session's: a planned date at 02:30 on the night the clocks change was published
    at a time that does not exist (or exists twice), which every client reads its own way."""
    rhythm = (f'rhythm = {{ rule = "{rule}", first = {first}, start = {hours[0]}, '
              f"end = {hours[1]} }}\n")
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(MINIMAL + rhythm, "s.toml")
    (problem,) = caught.value.problems
    assert problem.field == field
    assert problem.message.startswith(f"{stamp} ")
    assert change in problem.message


def test_the_shipped_file_declares_no_rhythm() -> None:
    # The press release gives no rhythm ("une fois par mois", no day): nothing is planned.
    client = create_app({"AGENDA_DATA": str(SHIPPED)}).test_client()
    calendar = icalendar.Calendar.from_ical(client.get("/calendar.ics").data)
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == [
        "Tour des Villes n° 3 : Clermont-Ferrand"
    ]
    assert client.get("/events.json").get_json()["planned"] == []


@pytest.mark.parametrize("number", ["", "number = 4\n", "number = 6\n"])
def test_a_planned_date_gives_way_to_a_session_on_its_day(number: str) -> None:
    # A session on n° 5's day without its number (an extra one, n° 4 put off by a month, or
    # n° 6 brought forward): calendars showed it and « n° 5 : à annoncer » side by side. The
    # planned date gives way while the day is taken, and comes back, as an update, when freed.
    text = TEXT + f"""
[[sessions]]
id = "nice"
series = "s"
{number}city = "Nice"
start = 2021-07-21T09:00:00
end = 2021-07-21T10:30:00
announced = 2021-07-01
"""
    text = text.replace('number = 4\ncity = "Lyon"', 'city = "Lyon"') if "4" in number else text
    taken = first_version(text.encode(), "sessions.toml")
    on_the_day = [e for e in recurring_ical_events.of(feed(taken)).at(date(2021, 7, 21))]
    assert [("Nice" in str(e["SUMMARY"]), "n° 5" in str(e["SUMMARY"])) for e in on_the_day] \
        == [(True, False)], [str(e["SUMMARY"]) for e in on_the_day]
    freed, _ = next_version(taken, text.replace("2021-07-21T", "2021-07-22T").encode(),
                            "sessions.toml", datetime(2021, 7, 2, tzinfo=UTC))
    [back] = recurring_ical_events.of(feed(freed)).at(date(2021, 7, 21))
    assert "n° 5" in str(back["SUMMARY"]) and back["UID"] not in {
        str(e["UID"]) for e in feed(taken).walk("VEVENT")}


def test_a_planned_date_dropped_then_planned_again_goes_on_from_its_sequence() -> None:
    # n° 6 moved (SEQUENCE 1), dropped from the rhythm, then planned again: calendars that had
    # it at SEQUENCE 1 would take a SEQUENCE 0 for an older copy, not an update.
    later = TEXT.replace("08:45:00, end", "09:00:00, end")
    steps = [TEXT, later, later.replace("COUNT=6", "COUNT=5"), later]
    version, sequences = None, []
    for day, text in enumerate(steps, 1):
        version, _ = next_version(version, text.encode(), "sessions.toml",
                                  datetime(2021, 5, day, 9, tzinfo=UTC))
        found = [int(e["SEQUENCE"]) for e in feed(version).walk("VEVENT")
                 if e.decoded("DTSTART").date() == date(2021, 8, 18)]
        sequences.append(found)
    assert sequences[:3] == [[0], [1], []]
    assert sequences[3] and sequences[3][0] >= 1
