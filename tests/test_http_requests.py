"""Odd requests: redirects never point where the request says, a failed If-Match is short."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_merged_slashes_redirect_comes_from_base_url(client: FlaskClient) -> None:
    response = client.get("/events//clermont-ferrand?a=1", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == (
        "https://agenda.ceps-oing.org/events/clermont-ferrand?a=1"
    )
    assert b"evil.example" not in response.data


def test_failed_if_match_is_412_without_the_body(client: FlaskClient) -> None:
    whole = client.get("/events/clermont-ferrand.ics")
    response = client.get("/events/clermont-ferrand.ics", headers={"If-Match": '"other"'})
    assert response.status_code == 412
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True) == (
        "412 – Cette version n’est plus la version en ligne.\n"
    )
    assert "Content-Disposition" not in response.headers
    assert whole.status_code == 200 and len(whole.data) > len(response.data)


def test_matching_if_match_gets_the_body(client: FlaskClient) -> None:
    etag = client.get("/events.json").headers["ETag"]
    response = client.get("/events.json", headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.json is not None and response.json["version"] == 1
