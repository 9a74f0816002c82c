"""/healthz: which version and folder are served and, when something is not, why and since when."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, request

from agenda.i18n import _
from agenda.store import pending_sentence
from agenda.web.serve import store

bp = Blueprint("health", __name__)
LATE = timedelta(minutes=2)  # past a moment, the next folder's build (a minute at 10,000 sessions)


@bp.get("/healthz")
def healthz() -> Response:
    """200 while serving (a typo must not drop every instance); `?strict=1`: 503 if amiss."""
    versions = store()
    site = versions.site()  # catches up with the files first
    current = versions.served()
    pending = versions.pending
    published = current.published.isoformat() if current.published else _("none, from the file")
    lines = [_("ok: serving {label}, published: {published}, {count} sessions", label=current.label,
               published=published, count=len(current.schedule.sessions)),
             f"site folder: {site.folder}"]
    if pending is not None:
        lines += [f"pending since {pending.since.isoformat()}: {pending_sentence(pending.state)}",
                  *(f"  {problem}" for problem in pending.problems)]
    problems = list(versions.alarms.values())
    if site.valid_until is not None and versions.moment() >= site.valid_until + LATE:  # stuck?
        problems.append(_("the folder served holds until {until}: the folder of now is not built "
                          "yet", until=site.valid_until.isoformat()))
    lines += [f"problem: {problem}" for problem in problems]
    strict = request.args.get("strict", "") not in ("", "0", "false")
    text = "".join(line.replace("\n", "\n  ") + "\n" for line in lines)  # a message's own lines
    return Response(text, status=503 if strict and (pending is not None or problems) else 200,
                    mimetype="text/plain", headers={"Cache-Control": "no-store"})
