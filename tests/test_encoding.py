"""Content codings as pure functions: reproducible bytes, and the choice by Accept-Encoding."""

from __future__ import annotations

import zlib

import brotli
import pytest

from agenda.encoding import brotli_bytes, choose, compressible, gzip_bytes

BODY = ("BEGIN:VCALENDAR\r\nSUMMARY:Tour des Villes n° 3 : Clermont-Ferrand\r\n" * 40).encode()
BOTH = ("br", "gzip")


def test_gzip_reproducible_and_read_back_by_zlib() -> None:
    first = gzip_bytes(BODY)
    assert first == gzip_bytes(BODY)
    assert first[4:8] == b"\0\0\0\0"  # MTIME field: no timestamp
    assert zlib.decompress(first, wbits=31) == BODY


def test_brotli_reproducible_and_read_back() -> None:
    assert brotli_bytes(BODY) == brotli_bytes(BODY)
    assert brotli.decompress(brotli_bytes(BODY)) == BODY


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "identity"),
        ("", "identity"),
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0.5, gzip", "br"),  # accepted: the server's order, as nginx
        ("br;q=0, gzip;q=0", "identity"),
        ("*", "identity"),  # nginx names no coding for it
        ("*;q=0.2, br;q=0", "identity"),
        ("identity;q=1, gzip;q=0.5", "gzip"),
        ("gzip, identity", "gzip"),
        ("GZIP;Q=0.8", "gzip"),
        ("GZip;q=2, br ; q=0", "gzip"),
        ("x-gzip", "identity"),
        ("gzip;q=bad", "identity"),
        ("deflate", "identity"),
    ],
)
def test_choose_takes_the_first_coding_accepted(header: str | None, expected: str) -> None:
    assert choose(header, BOTH) == expected


def test_choose_without_codings_is_identity() -> None:
    assert choose("gzip, br", ()) == "identity"


@pytest.mark.parametrize(
    ("content_type", "size", "expected"),
    [
        ("text/calendar; charset=utf-8", 2000, True),
        ("application/rss+xml; charset=utf-8", 2000, True),
        ("application/json", 2000, True),
        ("image/svg+xml", 2000, True),
        ("image/png", 2000, False),
        ("text/html; charset=utf-8", 100, False),
    ],
)
def test_compressible_text_not_images_nor_tiny(
    content_type: str, size: int, expected: bool
) -> None:
    assert compressible(content_type, size) == expected
