"""/healthz: which version and folder are served and, when something is not, why and since when."""

from __future__ import annotations

from flask import Blueprint, Response, request

from agenda.store import pending_sentence
from agenda.web.serve import store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Always 200 while the service serves, so that a typo in the schedule never makes a
    load balancer drop every instance; `?strict=1` answers 503 while anything is amiss."""
    versions = store()
    site = versions.site()  # catches up with the files first
    current = versions.served()
    pending = versions.pending
    published = current.published.isoformat() if current.published else "from the file"
    lines = [f"ok: serving {current.label}, published {published}, "
             f"{len(current.schedule.sessions)} sessions", f"site folder: {site.folder}"]
    if pending is not None:
        since = pending.since.isoformat()
        lines.append(f"pending since {since}: {pending_sentence(pending.state)}")
        lines += [f"  {problem}" for problem in pending.problems]
    lines += [f"problem: {problem}" for problem in versions.alarms.values()]
    strict = request.args.get("strict", "") not in ("", "0", "false")
    amiss = pending is not None or bool(versions.alarms)
    return Response("\n".join(lines) + "\n", status=503 if strict and amiss else 200,
                    mimetype="text/plain", headers={"Cache-Control": "no-store"})
