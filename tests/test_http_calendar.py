"""The iCalendar routes over HTTP: content type, validators, 304, HEAD, filters, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest
from flask.testing import FlaskClient

from agenda import create_app
from tests.conftest import SEVERAL, SHIPPED


def uids(data: bytes) -> list[str]:
    return [str(e["UID"]).split("@")[0] for e in icalendar.Calendar.from_ical(data).walk("VEVENT")]


def test_feed_is_text_calendar_utf8(client: FlaskClient) -> None:
    response = client.get("/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert uids(response.data) == ["clermont-ferrand"]


def test_feed_has_strong_etag_and_last_modified(client: FlaskClient) -> None:
    response = client.get("/calendar.ics")
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert response.headers["Last-Modified"] == "Thu, 13 May 2021 22:00:00 GMT"


def test_matching_etag_gets_304(client: FlaskClient) -> None:
    etag = client.get("/calendar.ics").headers["ETag"]
    again = client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_other_etag_gets_200(client: FlaskClient) -> None:
    response = client.get("/calendar.ics", headers={"If-None-Match": '"something-else"'})
    assert response.status_code == 200


def test_if_modified_since_gets_304(client: FlaskClient) -> None:
    modified = client.get("/calendar.ics").headers["Last-Modified"]
    again = client.get("/calendar.ics", headers={"If-Modified-Since": modified})
    assert again.status_code == 304


def test_head_gives_headers_without_body(client: FlaskClient) -> None:
    full = client.get("/calendar.ics")
    head = client.head("/calendar.ics")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(full.data))


def test_session_download_is_an_attachment(client: FlaskClient) -> None:
    response = client.get("/events/clermont-ferrand.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    # Saved, not shown; named after the URL (a browser's download: test_browser_pages).
    assert response.headers["Content-Disposition"] == "attachment"
    assert uids(response.data) == ["clermont-ferrand"]
    etag = response.headers["ETag"]
    again = client.get("/events/clermont-ferrand.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_unknown_session_download_is_404(client: FlaskClient) -> None:
    response = client.get("/events/lyon.ics")
    assert response.status_code == 404
    assert "lyon" in response.get_data(as_text=True)


def test_undated_session_download_is_404_with_reason(client: FlaskClient) -> None:
    response = client.get("/events/bourges.ics")
    assert response.status_code == 404
    assert "pas encore de date" in response.get_data(as_text=True)


def test_series_filter_keeps_its_sessions(several_client: FlaskClient) -> None:
    response = several_client.get("/calendar.ics?series=autres")
    assert uids(response.data) == ["reportee", "provisoire"]
    name = str(icalendar.Calendar.from_ical(response.data)["X-WR-CALNAME"])
    assert name == "Agenda d’essai – Autres rencontres"


def test_city_filter_ignores_case(several_client: FlaskClient) -> None:
    response = several_client.get("/calendar.ics?city=orléans")
    assert uids(response.data) == ["automne"]
    upper = several_client.get("/calendar.ics?city=ORLÉANS")
    assert upper.data == response.data


@pytest.mark.parametrize("query", ["series=inconnue", "city=Paris"])
def test_unknown_filter_is_404_with_message(several_client: FlaskClient, query: str) -> None:
    response = several_client.get(f"/calendar.ics?{query}")
    assert response.status_code == 404
    assert query.split("=")[1] in response.get_data(as_text=True)


def test_healthz_names_the_version_served(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    first = response.get_data(as_text=True).splitlines()[0]
    assert re.fullmatch(
        r"ok: serving version 1 \([0-9a-f]{12}\), publication : 2021-05-14T00:00:00\+02:00, "
        r"séances : 3", first
    )
    assert client.get("/healthz?strict=1").status_code == 200


def test_two_app_instances_give_identical_bytes() -> None:
    first = create_app({"AGENDA_DATA": str(SEVERAL)}).test_client()
    second = create_app({"AGENDA_DATA": str(SEVERAL)}).test_client()
    for path in ("/calendar.ics", "/events/printemps.ics", "/calendar.ics?series=essais"):
        assert first.get(path).data == second.get(path).data


FEED_IN_ANOTHER_PROCESS = (
    "import sys; from agenda import create_app; "
    "sys.stdout.buffer.write(create_app({'AGENDA_DATA': sys.argv[1]}).test_client()"
    ".get('/calendar.ics').data)"
)


def test_other_process_other_clock_zone_gives_identical_bytes(client: FlaskClient) -> None:
    env = dict(os.environ, TZ="America/Los_Angeles", PYTHONHASHSEED="12345", LANG="C")
    other = subprocess.run(
        [sys.executable, "-c", FEED_IN_ANOTHER_PROCESS, str(SHIPPED)],
        env=env, capture_output=True, check=True,
    )
    assert other.stdout == client.get("/calendar.ics").data


ANSWERS_IN_ANOTHER_PROCESS = """
import hashlib, json, sys
from agenda import create_app
client = create_app({"AGENDA_DATA": sys.argv[1], "AGENDA_SITE": sys.argv[2]}).test_client()
answers = []
for path in ("/", "/calendar.ics", "/events/automne", "/events.json", "/healthz", "/nope",
             "/calendar.ics?city=Tours", "/embed"):
    for method in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"):
        answer = client.open(path, method=method, headers={"Accept": "text/html"})
        answers.append([method, path, answer.status_code, hashlib.sha256(answer.data).hexdigest(),
                        [h for h in answer.headers.items() if h[0] != "Date"]])
print(json.dumps(answers))
"""


def test_no_answer_depends_on_the_process_hash_seed(tmp_path: Path) -> None:
    # Same data, same answers, to the order of a header's values: a 405's or an OPTIONS' Allow
    # listed the methods of a route in the order of a set, which the hash seed changes.
    answers = []
    for seed in ("0", "1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", ANSWERS_IN_ANOTHER_PROCESS, str(SEVERAL), tmp_path / "site"],
            env=dict(os.environ, PYTHONHASHSEED=seed), capture_output=True, text=True, check=True)
        answers.append(json.loads(done.stdout))
    assert {answer[2] for answer in answers[0]} >= {200, 404, 405}
    assert [a for a, b, c in zip(*answers, strict=True) if not a == b == c] == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("city=L'Ha%C3%BF-les-Roses", ["texte-difficile"]),  # typed ' for the file's ’
        ("city=Saint-E%CC%81tienne", ["printemps"]),  # decomposed É
        ("city=%20Tours%20", ["annulee"]),
        ("series=AUTRES", ["reportee", "provisoire"]),
    ],
)
def test_filters_accept_names_as_people_type_them(
    several_client: FlaskClient, query: str, expected: list[str]
) -> None:
    response = several_client.get(f"/calendar.ics?{query}")
    assert response.status_code == 200
    assert uids(response.data) == expected
