"""What the outputs can carry is decided in the loader: the rest is refused with a message.

Each test pins a class of input from the outside review (issue 9) that used to
pass `agenda check` and then break a route, or crash the check itself.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from agenda import loader
from agenda.errors import ScheduleError
from agenda.loader import MAX_FILE_BYTES, load_schedule, parse_schedule
from agenda.render import ical, json_api
from tests.conftest import MINIMAL

SESSION = """
[[sessions]]
id = "lyon"
series = "s"
city = "{city}"
start = {start}
end = {end}
announced = {announced}
sequence = {sequence}
"""


def session_text(
    city: str = "Lyon",
    start: str = "2021-06-16T08:45:00",
    end: str = "2021-06-16T10:15:00",
    announced: str = "2021-06-01",
    sequence: int = 0,
    head: str = MINIMAL,
) -> str:
    """The minimal schedule with one session whose fields are given as TOML source."""
    return head + SESSION.format(
        city=city, start=start, end=end, announced=announced, sequence=sequence
    )


def messages(text: str) -> list[str]:
    """The problems of schedule text, as the messages people read (file name left out)."""
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, "f.toml")
    return [str(p).removeprefix("f.toml, ") for p in caught.value.problems]


@pytest.mark.parametrize("char", ["\\uFFFE", "\\uFFFF", "\\uFDD0", "\\U0001FFFF", "\\U0010FFFE"])
def test_noncharacter_in_text_is_refused(char: str) -> None:
    code = char.lstrip("\\uU").lstrip("0").upper()
    assert messages(session_text(city=f"Ly{char}on")) == [
        f"séance « lyon », champ city : contient le caractère U+{code:0>4}, "
        "que les agendas et les flux d'actualité ne peuvent pas transporter : retirez-le"
    ]


def test_noncharacter_in_calendar_name_is_refused() -> None:
    text = session_text().replace('name = "Essai"', 'name = "Es\\uFFFEsai"')
    assert messages(text) == [
        "[calendar], champ name : contient le caractère U+FFFE, "
        "que les agendas et les flux d'actualité ne peuvent pas transporter : retirez-le"
    ]


@pytest.mark.parametrize("city", ["Ly\\uFEFFon", "\\uFEFFLyon", "Lyon\\uFEFF", "Ly\\u00ADon",
                                  "Ly\\u200Bon", "Ly\\u2060on"])
def test_an_invisible_sign_within_a_text_is_dropped_everywhere(city: str) -> None:
    """A byte order mark, and a soft hyphen or a zero-width space pasted from a web page: the
    name looked like Lyon, but the JSON said « Ly\\u00adon » to the CEPS site's search, and
    `agenda check` refused it beside Lyon with two names that read the same."""
    schedule = parse_schedule(session_text(city=city))
    (session,) = schedule.sessions
    assert session.city == "Lyon"
    calendar = icalendar.Calendar.from_ical(ical.session_bytes(schedule, session))
    (event,) = calendar.walk("VEVENT")
    assert "Lyon" in str(event["SUMMARY"]) and "\ufeff" not in str(event["SUMMARY"])
    # The JSON says what the calendar says.
    assert json.loads(json_api.session_bytes(schedule, session))["city"] == "Lyon"


@pytest.mark.parametrize("city", ["\\uFEFF", "\\u200B", "\\u00A0\\u200E", "\\u2060\\u3000"])
def test_a_text_of_invisible_characters_alone_is_empty(city: str) -> None:
    """A city of a zero-width space passed as a name: its page's heading showed nothing, its
    title « Série : », its card no city. A byte order mark alone was already refused."""
    assert messages(session_text(city=city)) == [
        "séance « lyon », champ city : ne doit pas être vide"
    ]


@pytest.mark.parametrize("char", ["\\u0000", "\\u001B", "\\u007F", "\\u0085", "\\u009F"])
def test_control_character_is_refused(char: str) -> None:
    assert messages(session_text(city=f"Ly{char}on")) == [
        "séance « lyon », champ city : contient un caractère de contrôle : retirez-le"
    ]


def test_line_separator_is_refused() -> None:
    assert messages(session_text(city="Ly\\u2028on")) == [
        "séance « lyon », champ city : contient U+2028, un saut de ligne invisible : gardez le "
        "texte sur une ligne"
    ]


def test_partner_names_are_checked_like_text() -> None:
    text = MINIMAL + 'partners = ["Bon", "Ma\\uFFFFuvais"]\n'
    assert messages(text) == [
        "série « s », champ partners[1] : contient le caractère U+FFFF, "
        "que les agendas et les flux d'actualité ne peuvent pas transporter : retirez-le"
    ]


def test_overlong_one_line_text_is_refused() -> None:
    assert messages(session_text(city="x" * 1001)) == [
        "séance « lyon », champ city : fait 1001 caractères ; 1000 au plus sont permis"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start", "0001-01-01T08:00:00"),
        ("start", "9999-12-31T08:00:00"),
        ("announced", "1969-12-31"),
        ("announced", "2200-01-01"),
        # At datetime's edges an offset cannot be moved to UTC (OverflowError).
        ("announced", "0001-01-01T00:00:00+01:00"),
        ("announced", "9999-12-31T23:59:00-01:00"),
    ],
)
def test_year_out_of_range_is_refused(field: str, value: str) -> None:
    year = int(value[:4])
    text = session_text(**{field: value})
    assert f"séance « lyon », champ {field} : l'année {year} est hors limites ; les dates vont " \
        "de 1970 à 2199" in messages(text)


def test_offset_date_time_out_of_range_in_utc_is_refused() -> None:
    text = session_text(announced="2199-12-31T23:00:00-05:00")
    assert messages(text) == [
        "séance « lyon », champ announced : l'année 2199 est hors limites ; les dates vont de "
        "1970 à 2199"
    ]


def test_calendar_updated_in_year_one_is_refused() -> None:
    text = MINIMAL.replace('name = "Essai"', 'name = "Essai"\nupdated = 0001-01-01')
    assert messages(text) == [
        "[calendar], champ updated : l'année 1 est hors limites ; les dates vont de 1970 à 2199"
    ]


def test_edges_of_the_year_range_load() -> None:
    text = session_text(start="2199-12-31T08:00:00", end="2199-12-31T09:00:00",
                        announced="1970-01-01")
    session = parse_schedule(text).sessions[0]
    assert session.start is not None and session.start.year == 2199


def test_sequence_above_32_bits_is_refused() -> None:
    assert messages(session_text(sequence=2**31)) == [
        "séance « lyon », champ sequence : doit valoir 2147483647 au plus, pas 2147483648"
    ]


def test_start_with_seconds_is_refused() -> None:
    assert messages(session_text(end="2021-06-16T08:45:05")) == [
        "séance « lyon », champ end : doit tomber sur une minute entière, comme "
        "2021-06-16T08:45:00 : les pages et les flux montrent l'heure à la minute"
    ]


@pytest.mark.parametrize(
    "url", ["https://[agenda.example.org", "https://agenda.example.org:99999", "https://:80"]
)
def test_malformed_host_in_url_is_refused(url: str) -> None:
    text = session_text() + f'registration_url = "{url}"\n'
    assert messages(text) == [
        f"séance « lyon », champ registration_url : « {url} » n'est pas une adresse http ou "
        "https, comme « https://example.org/ »"
    ]


def test_malformed_base_url_is_refused() -> None:
    text = MINIMAL.replace("https://agenda.example.org", "https://[agenda.example.org")
    assert messages(text) == [
        "[calendar], champ base_url : « https://[agenda.example.org » n'est pas une adresse "
        "http ou https, comme « https://example.org/ »"
    ]


def test_deep_nesting_is_refused() -> None:
    text = session_text() + "extra = " + "[" * 600 + "]" * 600 + "\n"
    assert messages(text) == [
        "f.toml : valeurs imbriquées trop profondément (listes ou tables les unes dans les "
        "autres)"
    ]


def test_date_without_midnight_is_the_start_of_that_day() -> None:
    head = MINIMAL.replace('name = "Essai"', 'name = "Essai"\ntimezone = "America/Sao_Paulo"')
    text = session_text(head=head, start="2018-11-05T08:45:00", end="2018-11-05T10:15:00",
                        announced="2018-11-04")
    announced = parse_schedule(text).sessions[0].announced
    # 4 November 2018 began at 01:00 (UTC-2) in Sao Paulo: the clocks skipped midnight.
    assert announced == datetime(2018, 11, 4, 3, tzinfo=UTC)
    assert announced is not None and announced.date().isoformat() == "2018-11-04"


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + session_text().encode("utf-8"))
    assert load_schedule(path).sessions[0].city == "Lyon"


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError) as caught:
        load_schedule(tmp_path)
    assert [p.message for p in caught.value.problems] == [
        "est un dossier, pas un fichier d'agenda : indiquez le fichier .toml qu'il contient"
    ]


def _hang_guard(signum: int, frame: object) -> None:
    raise AssertionError("loading a FIFO did not return")


def test_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "sessions.toml"
    os.mkfifo(fifo)
    previous = signal.signal(signal.SIGALRM, _hang_guard)
    signal.alarm(10)  # a guard against a hang, not a measure of speed
    try:
        with pytest.raises(ScheduleError) as caught:
            load_schedule(fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [p.message for p in caught.value.problems] == [
        "n'est pas un fichier ordinaire (un tube ou un périphérique ?) : indiquez un fichier .toml"
    ]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_bytes(session_text().encode() + b"#" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    assert caught.value.problems[0].message.endswith(
        f"un fichier d'agenda en fait au plus {MAX_FILE_BYTES}"
    )


def test_a_number_python_cannot_read_is_refused_in_french() -> None:
    # tomli turns 4,300 digits and more into an int with int(), which refuses them with a
    # ValueError that is not a TOMLDecodeError: it must not reach `agenda check` or the desk.
    text = session_text() + "number = " + "9" * 5000 + "\n"
    assert messages(text) == ["f.toml : un nombre a trop de chiffres (4 300 au plus)"]


def test_a_text_the_loader_leaves_as_it_is_is_not_copied(monkeypatch) -> None:
    """A version holds every text of the file: 10,000 sessions read whole fit the memory target
    only if the texts the loader has nothing to change (most, accented ones too) are the
    strings TOML made, not a copy of each (8 MiB more at 10,000 sessions, kept by every
    worker)."""
    parsed: list[dict] = []
    loads = loader.tomli.loads
    monkeypatch.setattr(loader.tomli, "loads", lambda text: parsed.append(loads(text)) or
                        parsed[-1])
    text = session_text(city="Clermont-Ferrand").replace(
        "[[sessions]]", '[[sessions]]\ntitle = "La ville à l’épreuve du climat"', 1)
    (session,) = parse_schedule(text).sessions
    (table,) = next(found["sessions"] for found in parsed if "sessions" in found)
    assert session.title is table["title"] and session.city is table["city"]
