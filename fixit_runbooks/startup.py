"""Checks that stop the web server from starting in a state where every page fails."""

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured


def require_static_manifest() -> None:
    """With DEBUG off, pages link the hashed file names in collectstatic's manifest.

    Without the manifest every page would be a 500 while /healthz said ok, so
    the web server refuses to start and says what to run.
    """
    if not settings.STATIC_MANIFEST_REQUIRED:
        return
    manifest_name = getattr(staticfiles_storage, "manifest_name", None)
    if manifest_name is None:
        return  # a storage without a manifest serves files by their own names
    if not staticfiles_storage.exists(manifest_name):
        raise ImproperlyConfigured(
            f"The static files manifest is missing from {settings.STATIC_ROOT}: "
            "run `python manage.py collectstatic --noinput` before starting the web server"
        )
