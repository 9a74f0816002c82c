"""gunicorn settings, shipped with the package: `agenda serve` reads them from any folder (then
`--config FILE` on top); gunicorn.conf.py at the root imports them for `gunicorn wsgi:app`.
Environment: AGENDA_DATA, AGENDA_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers).
"""

import logging.config
import os
from urllib.parse import quote

from gunicorn.glogging import Logger


class Lines(logging.Formatter):
    """Under systemd (JOURNAL_STREAM names stderr's device and inode), each line led by its syslog
    priority, `<3>` for an error (sd-daemon(3)): journald files it at its level. Else as is."""

    def format(self, record: logging.LogRecord) -> str:
        text, stderr = super().format(record), os.fstat(2)
        if os.environ.get("JOURNAL_STREAM") != f"{stderr.st_dev}:{stderr.st_ino}":
            return text
        level = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4}.get(record.levelno, 6)
        return "\n".join(f"<{level}>{line}" for line in text.split("\n"))  # a traceback's too


# The service's lines (publications, builds, problems) on stderr, from the start of `agenda serve`
# too, and gunicorn's through the same handler (none of their own): one format, one priority each.
(stderr := logging.StreamHandler()).setFormatter(
    Lines("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
logging.basicConfig(level=logging.INFO, handlers=[stderr])  # (none over a host's own: pytest's)
errorlog = None
logconfig_dict = {"version": 1, "incremental": True, "handlers": {},
                  "loggers": {"gunicorn.error": {"propagate": True}}}

bind = os.environ.get("AGENDA_BIND", "127.0.0.1:8000").split(",")
# Requests are short and CPU-bound: gunicorn's rule of thumb, 2 per core + 1.
workers = int(os.environ.get("WEB_CONCURRENCY", 0)) or 2 * (os.cpu_count() or 1) + 1
worker_class = "sync"
# The app loads once in the master: an invalid schedule stops gunicorn at once (its problems,
# exit status 1) instead of re-spawning workers that each fail; workers share it copy-on-write.
preload_app = True
# Behind nginx: it buffers slow clients, so a short keep-alive is enough.
keepalive = 2
# The desk builds its preview and publication in the request: a full build when the calendar or
# its contacts change, about a minute at 10,000 sessions. As long as nginx waits (120 s).
timeout = 120
graceful_timeout = 10
accesslog = "-"
# gunicorn's sendfile() counts no bytes: the access log said « 200 0 » for every file answer.
sendfile = False
logger_class = "agenda.gunicorn_conf.AccessLogger"
forwarded_allow_ips = "127.0.0.1,::1"
# No gunicornc socket: in $HOME (unwritable under the unit) it logged an error at every start.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    """A worker watches the schedule from its start: behind nginx it may get no request."""
    store = worker.wsgi.extensions.get("agenda.store")  # type: ignore[attr-defined]
    if store is not None:
        store.current()  # catches up, then starts its watcher thread


class AccessLogger(Logger):
    """gunicorn's, without a personal link's signature and ?email=… (journald has more readers)."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        if "/private/" in atoms["U"]:  # the path before it as sent (%0A), never a line break
            path = quote(atoms["U"].partition("/private/")[0].encode("latin-1"), "/:@!$&'()*+,;=")
            atoms.update(U=f"{path}/private/…", q="")
            atoms["r"] = f"{atoms['m']} {atoms['U']} {atoms['H']}"
        return atoms
