"""Personal links: a signed address that gives a registered person the private video link.

The signature is an HMAC-SHA256, keyed by AGENDA_SECRET, over the session id and, when the
link is made for one person, their address. Nothing is stored: the server recomputes the
signature and compares it in constant time, so a link stays valid for as long as the secret
does, whatever happens to the session (moved, renamed, cancelled), and changing the secret
revokes every link at once. Pure functions: no Flask, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections import Counter
from urllib.parse import urlencode

from agenda.errors import AgendaError
from agenda.i18n import _
from agenda.model import CalendarInfo

SECRET_VARIABLE = "AGENDA_SECRET"
MIN_SECRET_LENGTH = 16
MIN_SECRET_BITS = 64  # a 16-character hexadecimal string, at best
# Domain separation: a signature made here means nothing to any other use of the key.
PURPOSE = b"agenda personal link v1"
SEPARATOR = b"\x00"  # cannot occur in a session id or in an address the loader accepts


class SecretError(AgendaError):
    """AGENDA_SECRET is missing or too short to sign links with."""


def key(secret: str | None) -> bytes:
    """The signing key from AGENDA_SECRET's value; SecretError when there is none worth using."""
    if not secret:
        raise SecretError(_(
            "{name} is not set: personal links need a secret key. Set it, in the environment of "
            "this command and of the server, to a long random string such as the output of: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'", name=SECRET_VARIABLE))
    if len(secret) < MIN_SECRET_LENGTH:
        raise SecretError(_(
            "{name} is {length} characters long; use at least {least} random characters, such "
            "as the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
            name=SECRET_VARIABLE, length=len(secret), least=MIN_SECRET_LENGTH))
    # Shannon entropy in bits (its characters' frequencies times its length): sixteen
    # spaces give 0, a token_urlsafe(32) about 200.
    bits = -sum(n * math.log2(n / len(secret)) for n in Counter(secret).values())
    if bits < MIN_SECRET_BITS:
        raise SecretError(_(
            "{name} is too easy to guess (about {bits} bits of entropy, at least {least} are "
            "needed): make a random one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
            name=SECRET_VARIABLE, bits=round(bits), least=MIN_SECRET_BITS))
    return secret.encode("utf-8")


def normal_email(email: str | None) -> str:
    """The address as signed: trimmed and lower-cased, empty when there is none."""
    return (email or "").strip().lower()


def signature(secret_key: bytes, session_id: str, email: str | None = None) -> str:
    """The URL-safe signature of a personal link to `session_id` (for `email`, when given)."""
    message = SEPARATOR.join((PURPOSE, session_id.encode(), normal_email(email).encode()))
    digest = hmac.new(secret_key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_valid(secret_key: bytes, session_id: str, email: str | None, given: str) -> bool:
    """True when `given` signs this session (and address); compared in constant time."""
    expected = signature(secret_key, session_id, email).encode("ascii")
    # surrogateescape: any string a request carries becomes bytes, never an exception.
    return hmac.compare_digest(expected, given.encode("utf-8", "surrogateescape"))


def page_path(session_id: str, signed: str) -> str:
    """'/events/<id>/private/<signature>': the personal page of a session."""
    return f"/events/{session_id}/private/{signed}"


def query(email: str | None) -> str:
    """'?email=…' for a link made for one person, else nothing."""
    address = normal_email(email)
    return "?" + urlencode({"email": address}) if address else ""


def url(calendar: CalendarInfo, secret_key: bytes, session_id: str, email: str | None = None,
        suffix: str = "") -> str:
    """The absolute personal URL of a session's page (of its .ics: `suffix` ".ics")."""
    signed = signature(secret_key, session_id, email)
    return calendar.url(page_path(session_id, signed) + suffix) + query(email)
