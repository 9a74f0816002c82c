"""Compressed answers over HTTP: gzip and brotli siblings, Vary, ETags, 304s and HEAD."""

from __future__ import annotations

import zlib

import brotli
import pytest
from flask.testing import FlaskClient

from agenda.encoding import BROTLI_QUALITY, BROTLI_WINDOW_BITS

DECODE = {"gzip": lambda b: zlib.decompress(b, wbits=31), "br": brotli.decompress}
# Every kind of body the app serves that is big enough to compress.
PATHS = ["/calendar.ics", "/rss.xml", "/atom.xml", "/", "/events/clermont-ferrand",
         "/events.json", "/embed", "/static/agenda.css"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_compressed_answer_decodes_to_identity(path: str, coding: str, client: FlaskClient) -> None:
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": coding})
    assert packed.status_code == 200
    # A body has a brotli form where it is at least 5% smaller than gzip's; else a client that
    # takes brotli alone gets the plain bytes, as from nginx.
    gzip = client.get(path, headers={"Accept-Encoding": "gzip"}).data
    br = brotli.compress(plain.data, quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW_BITS)
    if coding == "br" and len(br) > 0.95 * len(gzip):
        assert "Content-Encoding" not in packed.headers and packed.data == plain.data
        return
    assert packed.headers["Content-Encoding"] == coding
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert plain.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in plain.headers
    assert DECODE[coding](packed.data) == plain.data
    assert len(packed.data) < len(plain.data)
    assert packed.headers["Content-Length"] == str(len(packed.data))
    assert packed.headers["Content-Type"] == plain.headers["Content-Type"]


def test_each_coding_has_its_own_strong_etag(client: FlaskClient) -> None:
    etags = {c: client.get("/", headers={"Accept-Encoding": c}).headers["ETag"]
             for c in ("identity", "gzip", "br")}
    assert len(set(etags.values())) == 3
    assert not any(e.startswith("W/") for e in etags.values())


@pytest.mark.parametrize("coding", ["identity", "gzip", "br"])
def test_304_works_for_each_coding(coding: str, client: FlaskClient) -> None:
    headers = {"Accept-Encoding": coding}
    etag = client.get("/calendar.ics", headers=headers).headers["ETag"]
    again = client.get("/calendar.ics", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Vary"] == "Accept-Encoding"


def test_etag_of_another_coding_gets_200(client: FlaskClient) -> None:
    gz = client.get("/", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    response = client.get("/", headers={"Accept-Encoding": "br", "If-None-Match": gz})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_head_gives_compressed_length_without_body(coding: str, client: FlaskClient) -> None:
    full = client.get("/", headers={"Accept-Encoding": coding})
    head = client.head("/", headers={"Accept-Encoding": coding})
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Encoding"] == coding
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(full.data))


def test_refused_codings_fall_back_to_identity(client: FlaskClient) -> None:
    response = client.get("/calendar.ics", headers={"Accept-Encoding": "gzip;q=0, br;q=0"})
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b"BEGIN:VCALENDAR")


def test_healthz_and_errors_not_compressed(client: FlaskClient) -> None:
    for path in ("/healthz", "/events/inconnue.ics"):
        response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert "Content-Encoding" not in response.headers
