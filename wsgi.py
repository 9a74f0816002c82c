"""WSGI entry point for any server: `gunicorn wsgi:app`.

An invalid schedule stops the start with the list of problems, not a traceback.
"""

from __future__ import annotations

import logging
import sys

from agenda import create_app
from agenda.errors import AgendaError
from agenda.i18n import _

# The service's own lines (publications, builds, problems) beside the server's.
logging.basicConfig(level=logging.INFO,
                    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
try:
    app = create_app()
except AgendaError as error:  # an invalid schedule, or a history that cannot be built on
    print(_("{error}\nagenda: not starting.", error=error), file=sys.stderr)
    sys.exit(1)
