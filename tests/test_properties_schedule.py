"""Generated schedules (issue 9): each is refused with ScheduleError, or every route works.

Text comes from all of Unicode, with noncharacters, controls, bidi controls and
line separators made likely; dates run past both ends of the accepted range, in
zones that skip midnight or have a negative DST; URLs and sizes vary. Run
longer with HYPOTHESIS_PROFILE=campaign (see the README).
"""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st

from agenda import create_app
from agenda.errors import ScheduleError
from agenda.loader import load_schedule
from agenda.render import links
from tests.routes import check_every_route

# Characters the review found, or that break XML, iCalendar or line handling.
SPECIAL = [
    "\ufffe", "\uffff", "\ufdd0", "\U0001fffe", "\U0010ffff", "\x00", "\x1b", "\x7f", "\x85",
    "\x9f", "\u2028", "\u2029", "\u202e", "\u2066", "\u200f", "\u200b", "\ufeff", "\t", "\n",
    "\r\n", "\\", '"', "'", "’", "<", ">", "&", ";", ",", ":", "é", "e\u0301", "👩🏽‍💻", "\u00a0",
    "\u3000", "]]>", "<!--", "{{", "%s", "\\n", "\\,",
]
# Any character at all, specials made likely: most such texts are refused.
NASTY = st.lists(st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(SPECIAL)),
                 max_size=40).map("".join)
# Assigned characters but controls and line separators (bidi controls, private use,
# combining marks, emoji and markup included): texts that must come out intact.
SAFE = st.text(st.characters(exclude_categories=["Cs", "Cc", "Cn", "Zl", "Zp"]), max_size=40)


def rarely(rare: st.SearchStrategy, common: st.SearchStrategy, odds: int = 24) -> st.SearchStrategy:
    """`rare` about once in `odds + 1` draws, else `common` (one_of would not weigh them)."""
    return st.integers(0, odds).flatmap(lambda n: rare if n == 0 else common)


# Mostly safe, so that many schedules pass and reach the routes; one field in 25 nasty.
TEXT = rarely(NASTY, SAFE)
NAME = TEXT.filter(str.strip)  # for required fields
ZONES = ["Europe/Paris", "Europe/Dublin", "America/Sao_Paulo", "America/Havana",
         "Asia/Tehran", "Pacific/Apia", "Australia/Lord_Howe", "America/New_York"]
LANGUAGES = ["fr", "fr-FR", "fr-CA", "fr-BE", "fr-CH", "fr-SN", "fr-MA"]
HOSTS = ["agenda.example.org", "[::1]", "xn--bcher-kva.example", "exemple.fr:8443",
         "agenda.ville.québec:8443",  # the good ones; IDNA refuses a snowman (IDNA 2008)
         "[agenda.example.org", "a b.example", "", "agenda.example.org:99999", "☃.example"]
BASE = "https://agenda.example.org"
SLUG = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` exactly (escapes only what TOML requires)."""
    out = []
    for char in text:
        if char in '"\\' or ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@st.composite
def urls(draw: st.DrawFn) -> str:
    """Mostly good http(s) URLs with odd paths; sometimes a bad scheme or host."""
    if draw(st.integers(0, 4)):
        scheme, host = draw(st.sampled_from(["https", "http"])), draw(st.sampled_from(HOSTS[:5]))
    else:
        scheme = draw(st.sampled_from(["https", "http", "ftp", "javascript"]))
        host = draw(st.sampled_from(HOSTS))
    path = draw(rarely(NASTY, SAFE, odds=4))
    return f"{scheme}://{host}/{path[:12]}"


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """Local date-times from 1965 to 2205: the edges of 1970..2199 and beyond."""
    year = draw(rarely(st.integers(1965, 2205), st.integers(1970, 2199), odds=19))
    day = draw(st.datetimes(datetime(2001, 1, 1), datetime(2001, 12, 31, 23, 59)))
    moment = day.replace(year=year, microsecond=0)
    if draw(st.integers(0, 9)):
        moment = moment.replace(second=0)
    # Midnight, and the hours clocks skip or repeat, often.
    return draw(st.sampled_from([moment, moment.replace(hour=0, minute=0, second=0),
                                 moment.replace(hour=2, minute=30, second=0)]))


# Instants with an offset, and cities beyond Latin letters (issue 16).
OFFSETS = st.sampled_from(["", "", "Z", "+05:30", "-03:00", "+14:00"])
CITIES = st.sampled_from(["東京", "القاهرة", "Αθήνα", "Ly\u200bon", "Łódź", "Saint-Étienne",
                          "Saint Etienne", "São Paulo", "Москва", "\u200b"])


@st.composite
def rhythms(draw: st.DrawFn) -> str:
    """A series' rhythm from a first date at the edges of the accepted years and beyond."""
    first = draw(moments()).date()
    rule = draw(st.sampled_from(["FREQ=DAILY;COUNT=2", "FREQ=MONTHLY;BYDAY=3WE;COUNT=6",
                                 "FREQ=YEARLY;COUNT=3", "FREQ=WEEKLY;UNTIL=20300101T000000Z"]))
    return (f'rhythm = {{ rule = "{rule}", first = {first.isoformat()}, start = 08:45:00, '
            "end = 10:15:00 }")


@st.composite
def sessions(draw: st.DrawFn, ident: str) -> str:
    lines = ["[[sessions]]", f'id = "{ident}"', 'series = "s"',
             f"city = {toml_string(draw(rarely(CITIES, NAME, odds=3)))}",
             f"title = {toml_string(draw(TEXT))}",
             f"description = {toml_string(draw(TEXT))}"]
    if draw(st.booleans()):
        start = draw(moments())
        span = draw(st.sampled_from([timedelta(seconds=5), timedelta(minutes=1),
                                     timedelta(minutes=90), timedelta(days=20)]))
        lines += [f"start = {start.isoformat()}", f"end = {(start + span).isoformat()}"]
    if draw(st.booleans()):
        lines.append(f"announced = {draw(moments()).date().isoformat()}")
    else:  # local, or an instant with its offset (issue 16)
        lines.append(f"announced = {draw(moments()).isoformat()}{draw(OFFSETS)}")
    sequence = draw(rarely(st.sampled_from([2**31 - 1, 2**31]), st.integers(0, 3), odds=9))
    lines.append(f"sequence = {sequence}")
    lines.append(f"speakers = [{{ name = {toml_string(draw(NAME))}, "
                 f"role = {toml_string(draw(TEXT))} }}]")
    if draw(st.booleans()):
        lines.append(f"video_url = {toml_string(draw(urls()))}")
        lines.append(f"video_public = {str(draw(st.booleans())).lower()}")
    if draw(st.booleans()):
        lines.append(f"registration_url = {toml_string(draw(urls()))}")
    return "\n".join(lines) + "\n"


@st.composite
def schedules(draw: st.DrawFn) -> str:
    """A whole schedule file, most fields generated."""
    head = [
        "[calendar]",
        f"name = {toml_string(draw(NAME))}",
        f"description = {toml_string(draw(TEXT))}",
        f'timezone = "{draw(st.sampled_from(ZONES))}"',
        f'language = "{draw(st.sampled_from(LANGUAGES))}"',
        f"base_url = {toml_string(draw(rarely(urls(), st.just(BASE), odds=4)))}",
        f"organizer = {{ name = {toml_string(draw(NAME))} }}",
        "",
        "[[series]]",
        'id = "s"',
        f"title = {toml_string(draw(NAME))}",
        f"partners = [{toml_string(draw(NAME))}]",
        draw(st.one_of(st.just(""), rhythms())),
        "",
    ]
    ids = draw(st.lists(SLUG, min_size=1, max_size=3, unique=True))
    return "\n".join(head) + "\n".join(draw(sessions(i)) for i in ids)


def _hang(signum: int, frame: object) -> None:
    raise AssertionError("no answer within the guard time: something hangs")


@contextmanager
def hang_guard(seconds: int = 60) -> Iterator[None]:
    """Fail instead of hanging; a guard against endless loops, not a measure of speed."""
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused_or_served(text: str) -> bool:
    """Load `text` as a schedule file: False when refused, else check every route (each
    city's feeds too); True."""
    with tempfile.TemporaryDirectory() as folder, hang_guard():
        path = Path(folder) / "sessions.toml"
        path.write_text(text, encoding="utf-8")
        try:
            schedule = load_schedule(path)
        except ScheduleError:
            return False
        app = create_app({"AGENDA_DATA": str(path), "TESTING": False,
                          "AGENDA_NOW": "2021-05-17T12:00:00+02:00"})
        client = app.test_client()
        check_every_route(client, schedule)
        for city in schedule.cities():
            assert client.get(links.city_doc_path(city, "calendar.ics")).status_code == 200
        return True


@given(schedules())
def test_generated_schedule_is_refused_or_every_route_works(text: str) -> None:
    event("served" if refused_or_served(text) else "refused")


@given(st.data())
def test_generated_clean_schedule_is_served(data: st.DataObject) -> None:
    # Mostly valid input, so that the routes, not only the loader, see generated text.
    clean = st.text(st.characters(exclude_categories=["Cs", "Cc", "Cn", "Zl", "Zp"]),
                    min_size=1, max_size=30).filter(str.strip)
    zone = data.draw(st.sampled_from(ZONES))
    start = data.draw(st.datetimes(datetime(1970, 1, 2), datetime(2199, 12, 30)))
    start = start.replace(second=0, microsecond=0)
    span = timedelta(minutes=data.draw(st.integers(1, 60 * 24 * 40)))
    cities = data.draw(st.lists(clean, min_size=1, max_size=3))
    text = "\n".join([
        "[calendar]",
        f"name = {toml_string(data.draw(clean))}",
        f'timezone = "{zone}"',
        f'language = "{data.draw(st.sampled_from(LANGUAGES))}"',
        'base_url = "https://agenda.example.org"',
        f"organizer = {{ name = {toml_string(data.draw(clean))} }}",
        "[[series]]", 'id = "s"', f"title = {toml_string(data.draw(clean))}", "",
    ]) + "".join(
        f'[[sessions]]\nid = "s{i}"\nseries = "s"\ncity = {toml_string(city)}\n'
        f"title = {toml_string(data.draw(clean))}\n"
        f"start = {(start + timedelta(days=400 * i)).isoformat()}\n"
        f"end = {(start + timedelta(days=400 * i) + span).isoformat()}\n"
        f"announced = {start.date().isoformat()}\n"
        for i, city in enumerate(cities)
    )
    # Refused only for a time the zone skips or repeats, or an end past 2199.
    event("served" if refused_or_served(text) else "refused")
