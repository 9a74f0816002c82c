"""Generated requests (issue 9): never a 5xx, never an absolute URL taken from the request."""

from __future__ import annotations

from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from agenda import create_app
from tests.conftest import SEVERAL

BASE = "https://agenda.example.org"
SECRET = "property-secret-0123456789"
EVIL = "evil-host.example"
PREFIXES = ["/", "/events/", "/events/automne", "/events/automne/private/", "/events//",
            "//", "/static/", "/calendar.ics", "/rss.xml", "/atom.xml", "/events.json",
            "/embed", "/healthz", "/events/automne.ics", "/events/sans-date.ics", "/../"]
PATH_CHARS = st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="?#")
HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
HEADERS = st.dictionaries(
    st.sampled_from(["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
                     "If-Range", "Range", "Accept", "Accept-Language", "Origin", "Referer",
                     "X-Forwarded-Host", "X-Forwarded-Proto", "Access-Control-Request-Method",
                     "Content-Type", "Cookie"]),
    st.one_of(HEADER_VALUE, st.sampled_from(['"x"', "*", "bytes=0-1", "text/html",
                                             "Thu, 01 Jan 1970 00:00:00 GMT", EVIL])),
    max_size=4,
)
QUERY = st.dictionaries(st.sampled_from(["series", "city", "email", "x", "page", "format"]),
                        st.text(max_size=12), max_size=3)


def _app() -> Flask:
    return create_app({"AGENDA_DATA": str(SEVERAL), "AGENDA_SECRET": SECRET})


APP = _app()


@given(
    prefix=st.sampled_from(PREFIXES),
    tail=st.text(PATH_CHARS, max_size=20),
    query=QUERY,
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
                            "TRACE", "PROPFIND"]),
    headers=HEADERS,
    host=st.sampled_from([EVIL, f"{EVIL}:8080", "[::1]", "", "agenda.example.org"]),
)
def test_generated_request_never_fails_nor_points_elsewhere(
    prefix: str, tail: str, query: dict[str, str], method: str, headers: dict[str, str],
    host: str,
) -> None:
    builder = EnvironBuilder(path="/", method=method, query_string=query,
                             headers={**headers, "Host": host})
    environ = builder.get_environ()
    # The raw path, as a server hands it over (WSGI: UTF-8 bytes read as latin-1):
    # given to the test client as a URL, "//[" would be parsed as a host.
    environ["PATH_INFO"] = (prefix + tail).encode("utf-8").decode("latin-1")
    response = Response.from_app(APP, environ, buffered=True)  # no re-parsing of the path
    assert response.status_code < 500
    location = response.headers.get("Location")
    if location is not None:
        assert location.startswith(BASE + "/") or (
            location.startswith("/") and not location.startswith("//")
        ), location
    assert EVIL.encode() not in response.data or EVIL in prefix + tail + str(query)
    for name, value in response.headers.items():
        assert EVIL not in value or name.lower() == "vary", (name, value)
