"""Start-up refuses configurations where every page would fail; settings follow the environment."""

import io
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

REPO = Path(__file__).resolve().parents[2]


def run_python(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    keep = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    }
    base = {"DJANGO_SETTINGS_MODULE": "fixit_runbooks.settings", "FIXIT_VAR_DIR": str(tmp_path)}
    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "runbooks.example.com",
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**keep, **base, **production, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_web_server_refuses_to_start_without_the_static_manifest(tmp_path):
    result = run_python(tmp_path, "import fixit_runbooks.wsgi")
    assert result.returncode != 0
    assert "static files manifest is missing" in result.stderr
    assert "collectstatic" in result.stderr


def test_web_server_starts_once_collectstatic_has_run(tmp_path):
    code = (
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('collectstatic', interactive=False, verbosity=0); import fixit_runbooks.wsgi; print('up')"
    )
    result = run_python(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert "up" in result.stdout


def _setting(tmp_path: Path, expression: str, **env: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = run_python(tmp_path, code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_site_url_follows_port(tmp_path):
    assert _setting(tmp_path, "settings.SITE_URL", PORT="8123") == "http://127.0.0.1:8123"


def test_redis_url_puts_cache_and_lockouts_in_redis(tmp_path):
    expression = "settings.CACHES['default']['BACKEND'], settings.AXES_HANDLER"
    out = _setting(tmp_path, expression, REDIS_URL="redis://127.0.0.1:6379/7")
    assert "RedisCache" in out  # Django's, or its subclass that shares one client per pool
    assert "axes.handlers.cache.AxesCacheHandler" in out


def test_without_redis_the_cache_is_local_memory(tmp_path):
    assert "LocMemCache" in _setting(tmp_path, "settings.CACHES['default']['BACKEND']")


def test_database_connections_are_health_checked(tmp_path):
    assert _setting(tmp_path, "settings.DATABASES['default']['CONN_HEALTH_CHECKS']") == "True"


def test_single_sign_on_is_off_by_default(tmp_path):
    assert _setting(tmp_path, "'mozilla_django_oidc' in settings.INSTALLED_APPS") == "False"


def test_single_sign_on_needs_its_endpoints(tmp_path):
    result = run_python(tmp_path, "import django; django.setup()", OIDC_RP_CLIENT_ID="runbooks")
    assert result.returncode != 0
    assert "Single sign-on needs OIDC_RP_CLIENT_SECRET" in result.stderr


def test_single_sign_on_configured_adds_its_login_route(tmp_path):
    oidc = {
        "OIDC_RP_CLIENT_ID": "runbooks",
        "OIDC_RP_CLIENT_SECRET": "s3cret",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://sso.example.com/authorize",
        "OIDC_OP_TOKEN_ENDPOINT": "https://sso.example.com/token",
        "OIDC_OP_USER_ENDPOINT": "https://sso.example.com/userinfo",
        "OIDC_OP_JWKS_ENDPOINT": "https://sso.example.com/jwks",
    }
    out = _setting(
        tmp_path, "__import__('django.urls').urls.reverse('oidc_authentication_init')", **oidc
    )
    assert out == "/oidc/authenticate/"


@pytest.fixture
def console_output():
    """What the console log handler writes, as text."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(type(f).__name__ == "ClientErrorsOneLine" for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_403_logs_one_line(viewer_client, console_output):
    response = viewer_client.get(reverse("runbooks:audit"))
    assert response.status_code == 403
    lines = console_output.getvalue().splitlines()
    assert len(lines) == 1
    assert "Forbidden" in lines[0]
