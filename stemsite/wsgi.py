"""WSGI entry point: `gunicorn stemsite.wsgi` serves the whole site, static files included.

Once the site is set up, everything loaded so far (Django, the libraries, the URL
patterns: most of a worker's objects) is moved out of the garbage collector's
generations with `gc.freeze()`: it lives as long as the process, and without this
every full collection walks all of it again, a pause of tens of milliseconds inside
some reader's request.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stemsite.settings")
application = get_wsgi_application()
gc.freeze()
