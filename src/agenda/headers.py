"""Headers every answer carries: the content security policy and its companions, CORS on JSON.

One place, so that built files (agenda.site) and answers made per request carry the same.
"""

from __future__ import annotations

# No inline script or style, nothing from other hosts (the JSON-LD block is data, not script).
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; base-uri 'none'; form-action 'none'")
NO_FRAMING = POLICY + "; frame-ancestors 'none'"
# Only the embed is meant to be shown inside another site's <iframe>.
ANY_FRAMING = POLICY + "; frame-ancestors *"
# Public data (JSON, calendars, feeds: their clients parse them): the CEPS site (or anyone)
# may fetch it from a browser, errors included (else a 404 looks like a network failure).
DATA_SUFFIXES = (".ics", ".json", ".xml")
CORS = (("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "ETag, Last-Modified, Link"))
CORS_PREFLIGHT = (("Access-Control-Allow-Methods", "GET, HEAD"),
                  ("Access-Control-Allow-Headers", "*"),  # a validator, as any header a script adds
                  ("Access-Control-Max-Age", "86400"))


def security(path: str, policy: str = NO_FRAMING) -> list[tuple[str, str]]:
    """The headers an answer at `path` carries besides its own: CSP, framing (X-Frame-Options
    too, for browsers without CSP level 2), sniffing, HTTPS only (ignored over http), CORS."""
    framing = [("X-Frame-Options", "DENY")] if "frame-ancestors 'none'" in policy else []
    # A personal link's signature and address go out in no Referer, not even from its 403.
    referrer = "no-referrer" if "/private/" in path else "strict-origin-when-cross-origin"
    return [*(CORS if path.endswith(DATA_SUFFIXES) else ()), ("Content-Security-Policy",
            policy), *framing, ("X-Content-Type-Options", "nosniff"), ("Strict-Transport-Security",
            "max-age=31536000"), ("Referrer-Policy", referrer)]
