"""WSGI entry point for any server: `gunicorn wsgi:app`.

An invalid schedule stops the start with the list of problems, not a traceback.
"""

from __future__ import annotations

import sys

from agenda import create_app
from agenda.errors import AgendaError

try:
    app = create_app()
except AgendaError as error:  # an invalid schedule, or a history that cannot be built on
    print(f"agenda: not starting:\n{error}", file=sys.stderr)
    sys.exit(1)
