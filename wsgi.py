"""WSGI entry point for any server: `gunicorn wsgi:app`.

An invalid schedule stops the start with the list of problems, not a traceback.
"""

from __future__ import annotations

import logging
import sys

import agenda.gunicorn_conf  # noqa: F401  the service's lines on stderr, at their level in journald
from agenda import create_app
from agenda.errors import AgendaError
from agenda.i18n import _

try:
    app = create_app()
except AgendaError as error:  # an invalid schedule, or a history that cannot be built on
    logging.getLogger("agenda").critical(_("{error}\nagenda: not starting.", error=error))
    sys.exit(1)
