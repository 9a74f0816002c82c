"""Content codings: deterministic gzip and brotli forms of a body, and their choice.

Pure: no Flask, no clock. The same body always gives the same compressed bytes
(gzip with mtime 0 and a fixed level, brotli with a fixed quality, both fed in
fixed blocks), so every process, and the static export, agree on the bytes and
on their ETags. A body may come in pieces (`Encoder`): large documents are
never held whole in memory.
"""

from __future__ import annotations

import hashlib
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

import brotli

GZIP_LEVEL = 9
# Measured on our pages: quality 11 saves 2 to 10% more than 5 but takes 20 to 40
# times as long (16 ms against 0.4 ms for an 11 kB page), which a build of every
# page of 10,000 sessions cannot afford. Quality 5 is still ~8% smaller than gzip -9.
BROTLI_QUALITY = 5
# Below this, compression saves less than a TCP segment's headers cost to negotiate.
MIN_SIZE = 256
# Server preference on equal q-values: brotli is the smaller of the two.
PREFERENCE = ("br", "gzip")
IDENTITY = "identity"
ETAG_SUFFIX = {"br": "-br", "gzip": "-gz", IDENTITY: ""}


def compressible(content_type: str, size: int) -> bool:
    """True for text-like bodies worth compressing: not images, fonts or tiny bodies."""
    if size < MIN_SIZE:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return (
        mime.startswith("text/")
        or mime in ("application/json", "application/javascript", "image/svg+xml")
        or mime.endswith("+xml")
        or mime.endswith("+json")
    )


# Bodies are fed to the compressors in blocks of this size, however they were
# made (one piece or many): the compressed bytes then depend on the body alone.
BLOCK = 1 << 16
# Above this, a body being built is held in a temporary file rather than in memory.
SPILL = 1 << 20


def _gzip() -> Any:
    # wbits 31: a gzip wrapper with no name and a zero timestamp, so the bytes are reproducible.
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)


# A 1 MiB window (brotli's default is 4 MiB): the whole of any page or small feed,
# and a compressor of 3 MB rather than 10 while a large document is encoded.
BROTLI_WINDOW_BITS = 20


def _brotli() -> Any:
    return brotli.Compressor(quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW_BITS)


def _flushed(compressor: Any) -> bytes:
    # zlib's objects end with flush(); brotli's flush() only empties its buffer, finish() ends.
    return compressor.finish() if hasattr(compressor, "finish") else compressor.flush()


def _fed(compressor: Any, body: bytes) -> bytes:
    out = [compressor.process(body[i:i + BLOCK]) if hasattr(compressor, "process")
           else compressor.compress(body[i:i + BLOCK]) for i in range(0, len(body), BLOCK)]
    return b"".join(out) + _flushed(compressor)


def gzip_bytes(body: bytes) -> bytes:
    """gzip of `body`, byte for byte reproducible (no timestamp, fixed level)."""
    return _fed(_gzip(), body)


def brotli_bytes(body: bytes) -> bytes:
    """brotli of `body`, byte for byte reproducible (fixed quality)."""
    return _fed(_brotli(), body)


COMPRESSORS = {"gzip": _gzip, "br": _brotli}
ETAG_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Form:
    """One representation of a body: its strong ETag, its size, and its bytes.

    `data` holds the bytes, or `file` a temporary file holding them (a large
    body being built, on its way to the body store).
    """

    etag: str
    size: int
    data: bytes | None = None
    file: IO[bytes] | None = None

    def read(self) -> bytes:
        """The bytes, read from the file if need be."""
        if self.data is not None:
            return self.data
        assert self.file is not None
        self.file.seek(0)
        return self.file.read()


class Encoder:
    """Takes a body piece by piece: hashes it, compresses it, keeps it (on disk when large).

    `forms()` then gives the identity form and, for a compressible body, its
    gzip and brotli forms, each with its ETag (a hash of the plain bytes, plus
    -gz or -br). Memory stays near a block whatever the size of the body.
    """

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self._hash = hashlib.sha256()
        self._pieces: list[bytes] = []  # the body while small
        self._file: IO[bytes] | None = None  # the body once large
        self._size = 0
        self._pending = bytearray()
        self._packers = {c: make() for c, make in COMPRESSORS.items()}
        self._packed: dict[str, list[bytes]] = {c: [] for c in COMPRESSORS}
        self._compress = compressible(content_type, MIN_SIZE)  # the type alone, for now

    def write(self, piece: bytes) -> None:
        """Add the next piece of the body."""
        self._hash.update(piece)
        self._size += len(piece)
        if self._file is None and self._size > SPILL:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the Form
            self._file.writelines(self._pieces)
            self._pieces = []
        if self._file is not None:
            self._file.write(piece)
        else:
            self._pieces.append(piece)
        if not self._compress:
            return
        self._pending += piece
        while len(self._pending) >= BLOCK:
            self._feed(bytes(self._pending[:BLOCK]))
            del self._pending[:BLOCK]

    def _feed(self, block: bytes) -> None:
        for coding, packer in self._packers.items():
            method = packer.process if hasattr(packer, "process") else packer.compress
            self._packed[coding].append(method(block))

    def forms(self) -> dict[str, Form]:
        """Every form of the body, identity first; the encoder is spent."""
        etag = self._hash.hexdigest()[:ETAG_LENGTH]
        if self._file is None:
            found = {IDENTITY: Form(etag, self._size, data=b"".join(self._pieces))}
        else:
            found = {IDENTITY: Form(etag, self._size, file=self._file)}
        if not compressible(self.content_type, self._size):
            return found
        if self._pending:
            self._feed(bytes(self._pending))
        for coding in PREFERENCE:
            packed = b"".join(self._packed[coding]) + _flushed(self._packers[coding])
            found[coding] = Form(etag + ETAG_SUFFIX[coding], len(packed), data=packed)
        return found


def encode(body: bytes | Iterable[bytes], content_type: str) -> dict[str, Form]:
    """Every form of `body` (bytes, or its pieces in order): see Encoder."""
    encoder = Encoder(content_type)
    for piece in (body,) if isinstance(body, bytes | bytearray) else body:
        encoder.write(piece)
    return encoder.forms()


def qvalues(accept_encoding: str) -> dict[str, float]:
    """The q-value of each coding named in an Accept-Encoding header (lowercase names)."""
    found: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0  # a malformed weight is no consent
        found[name] = max(0.0, min(q, 1.0))
    return found


def choose(accept_encoding: str | None, codings: tuple[str, ...]) -> str:
    """The coding to send: the highest q-value among `codings`, else identity.

    No header, or an empty one, means identity. `*` stands for any coding not
    named. Identity wins only when named with a higher q-value; it is also the
    fallback when nothing else is acceptable, even if refused (RFC 9110 §12.5.3).
    """
    if not accept_encoding or not codings:
        return IDENTITY
    weights = qvalues(accept_encoding)
    star = weights.get("*", 0.0)
    best, best_q = IDENTITY, weights.get(IDENTITY, 0.0)
    for coding in codings:  # in server preference order: ties keep the earlier
        q = weights.get(coding, weights.get("x-gzip", star) if coding == "gzip" else star)
        if q > best_q or (q == best_q > 0 and best == IDENTITY):
            best, best_q = coding, q
    return best
