"""Settings for the test suite: the real settings, with a fixed secret, fast password hashing and a
cache key prefix of its own. The database and Redis are still the real ones from the environment."""

import os
import tempfile

os.environ["DJANGO_DEBUG"] = "false"  # the suite always runs as production does
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("PII_ENCRYPTION_KEYS", "vV5pW3y0v3nq7o4x8QmJ0d2Qk9cFh1sT6uYbZ3aE4gI=")
os.environ.setdefault("PII_HASH_KEY", "test-only-pii-hash-key")
os.environ.setdefault("LOG_FORMAT", "text")
# Work a test's committed transaction enqueues runs inline instead of reaching a shared broker; the
# process tests send their tasks to a real worker explicitly (send_task), which eager mode leaves alone.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from config.settings import *  # noqa: F403
from config.settings import CACHES, REST_FRAMEWORK, STORAGES

# export files of this test process: a directory of its own, removed when the process ends
_exports_dir = tempfile.TemporaryDirectory(prefix="exports-test-")
STORAGES["exports"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": _exports_dir.name},
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "merchant": "100000/min",
    "distributor": "100000/min",
    "anon": "100000/min",
    "login": "100000/min",
    "webhook": "100000/min",
}
