"""Test-run environment, loaded as a plugin (`-p tests.environment`) before pytest-django
reads the settings, so a plain `pytest` works without exporting anything."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_HTTPS", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("SEARCH_INDEX_DIR", tempfile.mkdtemp(prefix="stemsite-test-index-"))
