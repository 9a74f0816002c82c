"""Odd requests: redirects never point where the request says, a failed If-Match is short."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from agenda.render import html


def test_merged_slashes_redirect_comes_from_base_url(client: FlaskClient) -> None:
    response = client.get("/events//clermont-ferrand?a=1", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == (
        "https://agenda.ceps-oing.org/events/clermont-ferrand?a=1"
    )
    assert b"evil.example" not in response.data


def test_a_trailing_slash_redirects_to_the_address(client: FlaskClient) -> None:
    # A link pasted into a CMS often gains a slash: it leads to the page, not to a 404.
    for path in ("/events/clermont-ferrand/", "/calendar.ics//", "/rss.xml/?city=Clermont-Ferrand"):
        response = client.get(path)
        assert response.status_code == 308, path
        target = response.headers["Location"].removeprefix("https://agenda.ceps-oing.org")
        assert target == path.replace("/?", "?").rstrip("/"), path
        assert client.get(target).status_code == 200, path


@pytest.mark.parametrize(("path", "location"), [
    ("/events//%0D", "/events/%0D"),
    ("/events//x%0DSet-Cookie:%20a", "/events/x%0DSet-Cookie%3A%20a"),
    ("/events//%C3%A9t%C3%A9%2520", "/events/%C3%A9t%C3%A9%2520"),
])
def test_merged_slashes_redirect_is_a_url(client: FlaskClient, path: str, location: str) -> None:
    """The path decoded (a CR, an accent, a « % ») is encoded again, not put raw into Location:
    a %0D was a 500 logged as a bug, a %25 led to another address."""
    response = client.get(path)
    assert response.status_code == 308
    assert response.headers["Location"] == "https://agenda.ceps-oing.org" + location


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


def test_preconditions_follow_rfc_9110(client: FlaskClient) -> None:
    url = "/events/clermont-ferrand.ics"
    whole = client.get(url)
    etag, modified = whole.headers["ETag"], whole.headers["Last-Modified"]
    # If-Match: * on a resource that exists: proceed (RFC 9110 §13.1.1).
    assert client.get(url, headers={"If-Match": "*"}).data == whole.data
    assert client.get(url, headers={"If-Match": etag}).status_code == 200
    # If-Unmodified-Since before the last change: the precondition fails.
    old = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert client.get(url, headers={"If-Unmodified-Since": old}).status_code == 412
    assert client.get(url, headers={"If-Unmodified-Since": modified}).status_code == 200
    # If-Match wins over If-Unmodified-Since; If-None-Match over If-Modified-Since.
    both = {"If-Match": etag, "If-Unmodified-Since": old}
    assert client.get(url, headers=both).status_code == 200
    fresh = {"If-None-Match": '"autre"', "If-Modified-Since": modified}
    assert client.get(url, headers=fresh).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.head(url, headers={"If-None-Match": etag}).status_code == 304


def test_files_answer_alike_before_flask_and_through_it(client: FlaskClient) -> None:
    # A plain GET or HEAD of a built URL is answered before Flask (web.serve.site_files); the
    # same URL with a query Flask ignores goes through the Flask route. Both must agree.
    site = client.application.extensions["agenda.store"].site()
    assert len(site.entries) > 20
    for url, entry in site.entries.items():
        if url.startswith("/_"):
            continue
        etag = f'"{entry.etag}"'
        for method in ("GET", "HEAD"):
            for headers in ({}, {"Accept-Encoding": "gzip, br"}, {"If-None-Match": etag},
                            {"If-Modified-Since": "Wed, 01 Jan 2031 00:00:00 GMT"}):
                plain = client.open(url, method=method, headers=headers)
                routed = client.open(url + "?utm_source=lettre", method=method,
                                     headers=headers)
                assert plain.status_code in (200, 304), url
                assert (plain.status_code, plain.data) == (routed.status_code, routed.data), url
                assert sorted(plain.headers.items()) == sorted(routed.headers.items()), url


def test_a_query_string_that_is_not_utf8_is_a_french_400_not_a_500(
    client: FlaskClient, caplog: pytest.LogCaptureFixture,
) -> None:
    # gunicorn refuses such bytes itself; another WSGI server passes them on, and reading
    # the query (?strict=, ?series=, ?city=) failed with an error logged as a bug.
    for path in ("/healthz", "/calendar.ics", "/rss.xml"):
        response = client.get(path, environ_overrides={"QUERY_STRING": "series=\xff"})
        assert response.status_code == 400, path
        assert response.text == f"400 – {html.ERRORS[400][1]}\n"
    assert not [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]
