"""gunicorn settings for `gunicorn wsgi:app` from this folder: the package's own."""

from agenda.gunicorn_conf import *  # noqa: F403

wsgi_app = "wsgi:app"
