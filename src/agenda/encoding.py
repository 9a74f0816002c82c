"""Content codings: deterministic gzip and brotli forms of a body, and their choice.

Pure: the same body always gives the same compressed bytes (fixed levels, no timestamp),
so every build agrees on the bytes and on their ETags.
"""

from __future__ import annotations

import contextlib
import zlib

import brotli

# Measured (bench/compression.py): on a page, level 9 costs about what 6 does for a few bytes less;
# on a body of megabytes (a whole schedule's, made again at every edit) 2.4 times as much for 8 to
# 15% fewer bytes, which brotli's clients (every browser) do not get: 6 from BIG bytes on.
GZIP_LEVEL, BIG_GZIP_LEVEL, BIG = 9, 6, 1 << 20
# Measured on our pages: quality 11 saves 2 to 10% more than 5 but takes 20 to 40
# times as long (16 ms against 0.4 ms for an 11 kB page), which a build of every
# page of 10,000 sessions cannot afford. Quality 5 is still ~8% smaller than gzip -9.
BROTLI_QUALITY = 5
# A 1 MiB window (brotli's default is 4 MiB): the whole of any page or small feed.
BROTLI_WINDOW_BITS = 20
# Below this, compression saves less than a TCP segment's headers cost to negotiate.
MIN_SIZE = 256
# A brotli form is kept where it is this much smaller than gzip's, else not worth a file to write
# and link at every version: a session's .ics, 779 bytes against 787 (the feed: 40 kB against 71).
BROTLI_GAIN = 0.95
IDENTITY = "identity"
ETAG_LENGTH = 32
ETAG_SUFFIX = {"br": "-br", "gzip": "-gz", IDENTITY: ""}


def compressible(content_type: str, size: int) -> bool:
    """True for text-like bodies worth compressing: not images, fonts or tiny bodies."""
    mime = content_type.split(";", 1)[0].strip().lower()
    textual = mime.startswith("text/") or mime.endswith(("+xml", "+json"))  # SVG included
    return size >= MIN_SIZE and (textual or mime in ("application/json", "application/javascript"))


def gzip_bytes(body: bytes) -> bytes:
    """gzip of `body`, byte for byte reproducible (no name, no timestamp, fixed level)."""
    level = GZIP_LEVEL if len(body) < BIG else BIG_GZIP_LEVEL
    return zlib.compress(body, level, wbits=31)  # wbits 31: a gzip wrapper, timestamp zero


def brotli_bytes(body: bytes) -> bytes:
    """brotli of `body`, byte for byte reproducible (fixed quality and window)."""
    return brotli.compress(body, quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW_BITS)


def compressed(body: bytes) -> dict[str, bytes]:
    """The compressed forms of `body` worth a file, in the server's order of preference (the
    smaller first, as nginx's brotli_static before gzip_static)."""
    gzip, br = gzip_bytes(body), brotli_bytes(body)
    return {"br": br, "gzip": gzip} if len(br) <= len(gzip) * BROTLI_GAIN else {"gzip": gzip}


def choose(accept_encoding: str | None, codings: tuple[str, ...]) -> str:
    """The coding to send: the first of `codings` (the server's order) that Accept-Encoding names
    with a q-value above 0 (a malformed one is no consent), else identity. nginx's gzip_static
    and brotli_static choose so (no ranking by q-value, no `*`, no x-gzip): nginx on the folder
    and the app send one request the same bytes."""
    accepted = set()
    for item in (accept_encoding or "").lower().split(","):
        name, *params = (part.strip() for part in item.split(";"))
        weights = [v for k, _, v in (p.partition("=") for p in params) if k.strip() == "q"]
        with contextlib.suppress(ValueError):
            if float(weights[-1] if weights else 1) > 0:
                accepted.add(name)
    return next((c for c in codings if c in accepted), IDENTITY)
