"""Settings for the test suite: production settings with test-safe environment defaults."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-x7Qm2Lp9Rv4Tn8Wk3Zb6")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("FIXIT_VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# A file, not :memory:, so a Celery worker process in tests/reviews can open the same test database.
DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / f"test-{os.getpid()}.sqlite3") if DATABASES["default"]["ENGINE"].endswith("sqlite3") else None  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    # The suite commits thousands of times and keeps nothing after it: a commit need not wait for the disk.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405
# Each test sees the stack as it is now, not a health answer kept from the test before.
HEALTH_CACHE_SECONDS = 0
# Many tests move the clock by days with a logged-in client; tests/ops sets the idle timeout it checks.
SESSION_IDLE_TIMEOUT = 10 * 365 * 24 * 60 * 60
