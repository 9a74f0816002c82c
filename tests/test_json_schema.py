"""/schemas/events.json: a valid JSON Schema that every served JSON document satisfies.

Checked with the jsonschema package (draft 2020-12, formats on: uri, date-time,
email), on the shipped data and on the several-sessions fixture, through HTTP.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import idna
import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from agenda import create_app
from agenda.model import Schedule
from tests.conftest import LYON_OCTOBER, MINIMAL
from tests.test_planned_dates import TEXT
from tests.test_store_versions import touch_later

# A session to come in Lyon, announced: the tests below add a field or two to it.
LYON = LYON_OCTOBER.replace("2026-10-21", "2099-10-21")


def validator(client: FlaskClient) -> Draft202012Validator:
    """The served schema, checked against its meta-schema, with format checking on."""
    response = client.get("/schemas/events.json")
    assert response.status_code == 200
    assert response.content_type == "application/schema+json"
    schema = json.loads(response.data)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def session_validator(client: FlaskClient) -> Draft202012Validator:
    """The schema of one session alone, #/$defs/session."""
    schema = validator(client).schema
    return Draft202012Validator({**schema, "oneOf": [{"$ref": "#/$defs/session"}]},
                                format_checker=FormatChecker())


def errors(check: Draft202012Validator, document: Any) -> list[str]:
    """Every validation error, with where it is."""
    return [f"{e.json_path}: {e.message}" for e in check.iter_errors(document)]


@pytest.mark.parametrize("fixture", ["client", "several_client"])
def test_json_schema_validates_every_served_document(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    client: FlaskClient = request.getfixturevalue(fixture)
    check, one = validator(client), session_validator(client)
    everything = json.loads(client.get("/events.json").data)
    assert errors(check, everything) == []
    assert everything["sessions"]
    for entry in everything["sessions"]:
        document = json.loads(client.get(f"/events/{entry['id']}.json").data)
        assert errors(check, document) == []
        assert errors(one, document) == []


def test_json_schema_id_is_its_absolute_url(client: FlaskClient, shipped: Schedule) -> None:
    schema = validator(client).schema
    assert schema["$id"] == f"{shipped.calendar.base_url}/schemas/events.json"


def test_json_schema_refuses_an_undeclared_key(client: FlaskClient) -> None:
    check = validator(client)
    document = json.loads(client.get("/events/clermont-ferrand.json").data)
    document["replay"] = "https://example.org/replay"
    with pytest.raises(ValidationError):
        check.validate(document)


def test_json_schema_refuses_wrong_values(client: FlaskClient) -> None:
    check = validator(client)
    good = json.loads(client.get("/events.json").data)
    for path, value in ((("sessions", 0, "status"), "maybe"),
                        (("sessions", 0, "start"), "19 mai 2021"),
                        (("sessions", 0, "url"), "not a url"),
                        (("version",), 2)):
        bad = copy.deepcopy(good)
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert errors(check, bad) != [], path


def test_json_schema_is_named_by_the_documents(client: FlaskClient) -> None:
    for path in ("/events.json", "/events/clermont-ferrand.json"):
        response = client.get(path)
        assert response.headers["Link"] == '</schemas/events.json>; rel="describedby"'
        assert "Link" in response.headers["Access-Control-Expose-Headers"]


def test_json_schema_is_cors_open_and_conditional(client: FlaskClient) -> None:
    response = client.get("/schemas/events.json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/schemas/events.json",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_json_schema_validates_planned_dates_and_a_change_log(write_schedule) -> None:
    # A rhythm (planned dates, still to come) and a published move (a change log with the date
    # before).
    text = TEXT.replace("first = 2021-", "first = 2099-")
    path = write_schedule(text)
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    path.write_text(text.replace("2021-05-19T", "2021-05-26T"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    check = validator(client)
    everything = json.loads(client.get("/events.json").data)
    assert errors(check, everything) == []
    assert everything["planned"]
    (moved,) = [s for s in everything["sessions"] if s["id"] == "clermont"]
    assert [c["news"] for c in moved["changes"]] == [[], ["rescheduled"]]
    assert errors(check, json.loads(client.get("/events/clermont.json").data)) == []


@pytest.mark.parametrize(("day", "label"), [("2199-05-12", "Avancé"), ("2199-05-26", "Reporté")])
def test_json_schema_validates_a_session_moved_earlier_or_later(
    write_schedule, day: str, label: str
) -> None:
    text = MINIMAL + """
[[sessions]]
id = "lyon"
series = "s"
city = "Lyon"
start = 2199-05-19T08:45:00
end = 2199-05-19T10:15:00
announced = 2026-01-05
"""
    path = write_schedule(text)
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    assert client.get("/events.json").status_code == 200
    path.write_text(text.replace("2199-05-19", day), encoding="utf-8")
    touch_later(path)
    for url in ("/events.json", "/events/lyon.json"):
        document = json.loads(client.get(url).data)
        entry = document["sessions"][0] if url == "/events.json" else document
        assert entry["status_label"] == label
        assert errors(validator(client), document) == []


def test_links_written_with_accents_or_brackets_are_served_as_uris(tmp_path: Any) -> None:
    # An editor pastes « https://www.ville-évry.fr/inscription?x=<1> »: the loader took it as
    # it was, and /events.json (format: uri), calendars' URL and feeds carried a non-URI.
    path = tmp_path / "sessions.toml"
    path.write_text(MINIMAL + """
[[sessions]]
id = "evry"
series = "s"
city = "Évry"
start = 2099-10-21T08:45:00
end = 2099-10-21T10:15:00
announced = 2026-10-01
registration_url = "https://www.ville-évry.fr/inscription?x=<1>&y=%20"
video_url = "https://vidéo.example.org/évry"
video_public = true
""", encoding="utf-8")
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    document = json.loads(client.get("/events.json").data)
    assert errors(validator(client), document) == []
    (session,) = document["sessions"]
    host = idna.encode("www.ville-évry.fr").decode()  # as DNS reads it: not « %C3%A9 »
    assert session["registration_url"] == \
        f"https://{host}/inscription?x=%3C1%3E&y=%20"  # %20 not encoded twice


@pytest.mark.parametrize(("written", "served"), [
    ("https://mairie.example.org/form?filtre[ville]=lyon",
     "https://mairie.example.org/form?filtre%5Bville%5D=lyon"),
    ("https://example.org/100%-en-ligne", "https://example.org/100%25-en-ligne"),
    ("https://example.org/a#haut#bas", "https://example.org/a#haut%23bas"),
    ("https://[::1]:8443/a%C3%A9", "https://[::1]:8443/a%C3%A9"),
])
def test_every_link_the_loader_takes_is_served_as_a_uri(
    write_schedule, written: str, served: str
) -> None:
    """Brackets outside the host, a « % » that encodes nothing and a second « # » are not
    RFC 3986: the loader took them as written, and the CEPS site's check of /events.json
    (`format: uri`, with jsonschema's FormatChecker) refused the whole document."""
    path = write_schedule(MINIMAL + LYON + f'registration_url = "{written}"\n')
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    document = json.loads(client.get("/events.json").data)
    assert errors(validator(client), document) == []
    assert document["sessions"][0]["registration_url"] == served


def test_an_older_files_hand_raised_sequence_is_a_change_of_content(write_schedule) -> None:
    """An older file's `sequence = 2` (raised by hand for a new speaker, say) is recorded at
    first publication as a revision that no field explains: /events.json said `"fields": []`,
    which its schema refuses (minItems 1), and the CEPS site's check refused the document."""
    path = write_schedule(MINIMAL + LYON + "updated = 2026-10-05\nsequence = 2\n")
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    for url in ("/events.json", "/events/lyon.json"):
        document = json.loads(client.get(url).data)
        assert errors(validator(client), document) == [], url
    changes = json.loads(client.get("/events/lyon.json").data)["changes"]
    assert [(c["sequence"], c["fields"]) for c in changes] == [(0, ["published"]),
                                                               (2, ["content"])]


def test_an_organizer_address_with_an_accented_domain_meets_the_schemas_format(
    write_schedule,
) -> None:
    # JSON Schema's "email" is RFC 5321's mailbox, ASCII alone; an address at « mairie-évry.fr »
    # (which the loader keeps) is an "idn-email" (RFC 6531): a strict checker on the CEPS site
    # refused the whole /events.json. Strict here: "email" ASCII, "idn-email" any letters.
    text = MINIMAL.replace('organizer = { name = "Club" }',
                           'organizer = { name = "Club", email = "presse@mairie-évry.fr" }')
    client = create_app({"AGENDA_DATA": str(write_schedule(text + LYON)),
                         "TESTING": True}).test_client()
    strict = FormatChecker()
    strict.checks("email")(lambda value: not isinstance(value, str) or (
        value.isascii() and re.fullmatch(r"[^@\s]+@[A-Za-z0-9.-]+", value) is not None))
    strict.checks("idn-email")(lambda value: not isinstance(value, str) or (
        re.fullmatch(r"[^@\s]+@[\w.-]+", value) is not None))
    schema = validator(client).schema
    document = json.loads(client.get("/events.json").data)
    assert document["calendar"]["organizer"]["email"] == "presse@mairie-évry.fr"
    assert errors(Draft202012Validator(schema, format_checker=strict), document) == []
