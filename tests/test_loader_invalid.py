"""Each kind of bad schedule is refused with a message naming file, session and field."""

from __future__ import annotations

import errno
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agenda.errors import ScheduleError
from agenda.loader import load_schedule
from tests.test_cli import french

HEAD = """
[calendar]
name = "Essai"
timezone = "Europe/Paris"
base_url = "https://agenda.example.org"
organizer = { name = "Club", email = "club@example.org" }

[[series]]
id = "tour"
title = "Tour"
"""

GOOD_SESSION = """
[[sessions]]
id = "lyon"
series = "tour"
city = "Lyon"
start = 2021-06-16T08:45:00
end = 2021-06-16T10:15:00
announced = 2021-06-01
"""


def problems_of(write_schedule, text: str) -> list[str]:
    """Load `text` as a schedule file and return its problems as strings."""
    path: Path = write_schedule(text)
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    messages = [str(p) for p in caught.value.problems]
    assert all(m.startswith(str(path)) for m in messages), messages
    return messages


def session_with(**changes: str) -> str:
    """GOOD_SESSION with some lines replaced (value None removes the key)."""
    lines = GOOD_SESSION.strip().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        key = line.split("=")[0].strip()
        if key in changes:
            value = changes.pop(key)
            if value is not None:
                out.append(f"{key} = {value}")
        else:
            out.append(line)
    out += [f"{k} = {v}" for k, v in changes.items() if v is not None]
    return HEAD + "\n" + "\n".join(out) + "\n"


def test_good_session_loads(write_schedule) -> None:
    assert load_schedule(write_schedule(session_with())).session("lyon") is not None


def test_toml_syntax_error_names_its_line(write_schedule) -> None:
    text = session_with() + 'city = "Lyon\n'
    line = text.count("\n")
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        f"séance « lyon », ligne {line}, champ city : il manque le guillemet fermant (\") à "
        "la fin du texte"
    )


def test_unknown_key_suggests_the_right_one(write_schedule) -> None:
    messages = problems_of(write_schedule, session_with(start=None, strat="2021-06-16T08:45:00"))
    expected = "séance « lyon », champ strat : clé inconnue ; vouliez-vous dire « start » ?"
    assert [m for m in messages if m.endswith(expected)] != []


def test_unknown_key_in_calendar_is_named(write_schedule) -> None:
    text = session_with().replace('name = "Essai"', 'name = "Essai"\ntimezon = "UTC"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "[calendar], champ timezon : clé inconnue ; vouliez-vous dire « timezone » ?"
    )


def test_missing_required_field_is_named(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(city=None))
    assert message.endswith("séance « lyon », champ city : est obligatoire")


def test_session_without_id_is_named_by_position(write_schedule) -> None:
    text = session_with() + GOOD_SESSION.replace('id = "lyon"\n', "")
    (message,) = problems_of(write_schedule, text)
    assert message.endswith("séance n° 2 (sans id), champ id : est obligatoire")


def test_end_before_start_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(end="2021-06-16T08:00:00"))
    assert message.endswith("séance « lyon », champ end : doit venir après « start »")


def test_end_equal_to_start_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(end="2021-06-16T08:45:00"))
    assert message.endswith("champ end : doit venir après « start »")


def test_start_without_end_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(end=None))
    assert "séance « lyon », champ end : est obligatoire dès que" in message


def test_duplicate_id_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with() + GOOD_SESSION)
    assert message.endswith(
        "séance « lyon », champ id : « lyon » est déjà l'identifiant d'une autre séance ; "
        "chaque identifiant est unique"
    )


@pytest.mark.parametrize("bad", ["Lyon", "lyon 2021", "lyon_2021", "-lyon", "lyon--2021", "lyoñ"])
def test_malformed_id_is_refused(write_schedule, bad: str) -> None:
    (message,) = problems_of(write_schedule, session_with(id=f'"{bad}"'))
    assert f"champ id : « {bad} » n'est pas un identifiant valide" in message


def test_unknown_series_lists_known_ones(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(series='"tuor"'))
    assert message.endswith(
        "séance « lyon », champ series : « tuor » n'est pas l'identifiant d'une série ; "
        "séries connues : 'tour'"
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.org/x", "example.org/inscription", "https://"]
)
def test_non_http_url_is_refused(write_schedule, url: str) -> None:
    (message,) = problems_of(write_schedule, session_with(registration_url=f'"{url}"'))
    assert f"champ registration_url : « {url} » n'est pas une adresse http ou https" in message


def test_unknown_timezone_is_refused(write_schedule) -> None:
    text = session_with().replace('"Europe/Paris"', '"Europe/Pariss"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "[calendar], champ timezone : « Europe/Pariss » n'est pas un nom de fuseau horaire IANA, "
        "comme « Europe/Paris »"
    )


def test_time_skipped_by_spring_change_is_refused(write_schedule) -> None:
    text = session_with(start="2021-03-28T02:30:00", end="2021-03-28T04:00:00")
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "séance « lyon », champ start : 2021-03-28 02:30 n'existe pas dans le fuseau "
        "Europe/Paris (les horloges sautent cette heure) ; choisissez une heure avant ou après "
        "le changement d'heure"
    )


def test_time_repeated_by_autumn_change_is_refused(write_schedule) -> None:
    text = session_with(start="2021-10-31T01:00:00", end="2021-10-31T02:30:00")
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "séance « lyon », champ end : 2021-10-31 02:30 existe deux fois dans le fuseau "
        "Europe/Paris (les horloges reculent) ; choisissez une heure avant ou après le "
        "changement d'heure"
    )


@pytest.mark.parametrize(("zone", "start", "end"), [
    ("Africa/Casablanca", "2021-05-16T02:30:00", "2021-05-16T04:00:00"),  # Ramadan is over
    ("Africa/Casablanca", "2021-04-11T02:30:00", "2021-04-11T04:00:00"),  # Ramadan begins
    ("Pacific/Apia", "2011-12-30T09:00:00", "2011-12-31T10:00:00"),  # across the date line
])
def test_time_skipped_or_repeated_by_a_change_of_no_season_is_refused_without_one(
    write_schedule, zone: str, start: str, end: str
) -> None:
    # « choisissez une heure hors du passage à l'heure d'été » for Casablanca's return to UTC+1
    # after Ramadan, or Samoa's skipping a day: neither is a change of summer or winter time.
    moment = datetime.fromisoformat(start)
    before = (moment - timedelta(days=1)).replace(tzinfo=ZoneInfo(zone))
    after = (moment + timedelta(days=2)).replace(tzinfo=ZoneInfo(zone))
    assert before.utcoffset() != after.utcoffset()
    assert not timedelta(0) == before.dst() < after.dst()  # not into summer time
    assert not timedelta(0) == after.dst() < before.dst()  # nor out of it
    text = HEAD.replace("Europe/Paris", zone) + GOOD_SESSION.replace(
        "2021-06-16T08:45:00", start).replace("2021-06-16T10:15:00", end)
    (message,) = problems_of(write_schedule, text)
    assert f"séance « lyon », champ start : {start[:10]} {start[11:16]} " in message
    assert "été" not in message and "hiver" not in message, message


def test_offset_datetime_for_start_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(start="2021-06-16T08:45:00+02:00"))
    assert "champ start : doit être une date et une heure sans décalage horaire" in message


def test_unknown_status_lists_valid_ones(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(status='"canceled"'))
    assert message.endswith(
        "champ status : « canceled » n'est pas une valeur possible de status ; utilisez l'une "
        "de : 'confirmed', 'tentative', 'cancelled'"
    )


def test_dated_session_without_announced_or_updated_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(announced=None))
    assert "champ announced : une séance datée demande « announced » ou « updated »" in message


def test_wrong_type_is_named(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(number='"trois"'))
    assert message.endswith("champ number : doit être un nombre entier, pas un texte (« trois »)")


def test_newline_in_one_line_field_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(city='"Lyon\\nDTSTART:20000101"'))
    assert message.endswith("champ city : doit tenir sur une seule ligne")


def test_duplicate_number_in_series_is_refused(write_schedule) -> None:
    text = session_with(number="1") + GOOD_SESSION.replace('"lyon"', '"nice"') + "number = 1\n"
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        "séance « nice », champ number : 1 est déjà le numéro de la séance « lyon » dans la "
        "série « tour »"
    )


def test_every_problem_is_reported_at_once(write_schedule) -> None:
    text = session_with(city=None, strat="1", registration_url='"javascript:x"')
    messages = problems_of(write_schedule, text)
    fields = sorted(m.split("champ ")[1].split(" ")[0] for m in messages)
    assert fields == ["city", "registration_url", "strat"]


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError) as caught:
        load_schedule(tmp_path / "absent.toml")
    # The system's reason in French too, as the catalogue words it.
    expected = f"{tmp_path / 'absent.toml'} : impossible de lire le fichier : " \
        f"{french(os.strerror(errno.ENOENT))}"
    assert str(caught.value) == expected
    assert french(os.strerror(errno.ENOENT)) == "fichier ou dossier introuvable"


@pytest.mark.parametrize("tag", ["french", "xx", "fr_FR", "en", "de-DE"])
def test_unknown_language_is_refused(write_schedule, tag: str) -> None:
    """Only French: the pages' words are French, and another tag's dates among them read
    « Mittwoch 21 Oktober 2026 » in a French sentence (« en », « de » were accepted)."""
    text = session_with().replace('name = "Essai"', f'name = "Essai"\nlanguage = "{tag}"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        f"[calendar], champ language : « {tag} » n'est pas un code du français dans lequel "
        "écrire les dates, comme « fr » ou « fr-CA » (les textes des pages sont en français)"
    )


def test_held_on_a_dated_session_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(held="true"))
    assert message.endswith(
        "séance « lyon », champ held : ne sert qu'aux séances sans date ; une séance datée est "
        "passée dès qu'elle est finie"
    )


@pytest.mark.parametrize("base_url", [
    "https://example.org/agenda", "https://agenda.example.org/?utm=ceps",
    "https://agenda.example.org#haut", "https://agence:secret@agenda.example.org",
])
def test_base_url_beyond_a_host_is_refused(write_schedule, base_url: str) -> None:
    """Every public URL is base_url and a path: a query or a fragment there made them all
    « https://agenda.example.org/?utm=ceps/events.json » (the JSON's url, json_url, ics_url,
    feeds), and a user and password were published in every link."""
    text = session_with().replace('"https://agenda.example.org"', f'"{base_url}"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(
        f"[calendar], champ base_url : « {base_url} » n'est pas seulement un domaine ; "
        "l'agenda est servi à la racine de son domaine, comme « https://agenda.example.org »"
    )


def test_updated_before_announced_is_refused(write_schedule) -> None:
    (message,) = problems_of(write_schedule, session_with(updated="2021-05-20"))
    assert message.endswith("séance « lyon », champ updated : ne doit pas précéder « announced »")


@pytest.mark.parametrize("written", ['" cancelled"', '""', '"Cancelled"'])
def test_status_not_written_exactly_is_refused(write_schedule, written: str) -> None:
    (message,) = problems_of(write_schedule, session_with(status=written))
    assert message.endswith(
        f"champ status : « {written[1:-1]} » n'est pas une valeur possible de status ; utilisez "
        "l'une de : 'confirmed', 'tentative', 'cancelled'"
    )


@pytest.mark.parametrize("email", ["presse@ceps-oing.org;", "helene,eva@ceps-oing.org",
                                   "hélène@ceps-oing.org", "helene..pichon@ceps-oing.org",
                                   "presse@ceps_oing.org", "presse@-ceps.org"])
def test_an_address_mail_clients_would_not_take_is_refused(write_schedule, email: str) -> None:
    """The organizer's and contacts' addresses are published (mailto: links, ORGANIZER,
    /events.json's `format: email`): one pasted with a « ; » or an accent was taken, and the
    CEPS site's check of /events.json with Ajv and ajv-formats, as the README says, refused
    the whole document."""
    text = session_with().replace('"club@example.org"', f'"{email}"')
    (message,) = problems_of(write_schedule, text)
    assert message.endswith(f"[calendar], champ organizer.email : « {email} » n'est pas une "
                            "adresse e-mail, comme « nom@example.org »"), message


@pytest.mark.parametrize("email", ["o'brien+agenda@presse.example.org", "A.B@Example.ORG",
                                   "presse@xn--vry-bma.fr", "presse@mairie-évry.fr"])
def test_a_published_address_may_be_any_that_mail_takes(write_schedule, email: str) -> None:
    text = session_with().replace('"club@example.org"', f'"{email}"')
    assert load_schedule(write_schedule(text)).calendar.organizer.email == email
