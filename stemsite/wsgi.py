"""WSGI entry point: `gunicorn stemsite.wsgi` serves the whole site, static files included."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stemsite.settings")
application = get_wsgi_application()
