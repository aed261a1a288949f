"""Production settings pass Django's deploy checks; the environment readers refuse bad values."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from fixit_runbooks.env import env_bool, env_int, env_list, env_str

REPO = Path(__file__).resolve().parents[2]

CHECK_DEPLOY = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('check', deploy=True, fail_level='WARNING')"
)


def run_with_settings(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Start from a clean slate so the test environment's SECRET_KEY, DEBUG… cannot leak in.
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
    full_env = {**keep, "DJANGO_SETTINGS_MODULE": "fixit_runbooks.settings", "FIXIT_VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "runbooks.example.com"}
    env.update(overrides)
    return env


def test_check_deploy_reports_no_warnings_with_production_settings(tmp_path):
    result = run_with_settings(tmp_path, CHECK_DEPLOY, **production_env())
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_catches_debug_left_on(tmp_path):
    result = run_with_settings(tmp_path, CHECK_DEPLOY, **production_env(DEBUG="1"))
    assert result.returncode != 0
    assert "security.W018" in result.stderr


def test_start_up_refuses_a_weak_secret_key(tmp_path):
    result = run_with_settings(tmp_path, "import django; django.setup()", **production_env(SECRET_KEY="short"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is too weak" in result.stderr


def test_start_up_refuses_djangos_development_key(tmp_path):
    key = "django-insecure-" + secrets.token_urlsafe(48)
    result = run_with_settings(tmp_path, "import django; django.setup()", **production_env(SECRET_KEY=key))
    assert result.returncode != 0
    assert "SECRET_KEY is Django's development key" in result.stderr


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    env = production_env()
    del env["SECRET_KEY"]
    result = run_with_settings(tmp_path, "import django; django.setup()", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_runs_without_a_secret_key(tmp_path):
    result = run_with_settings(tmp_path, "import django; django.setup()", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_typo_in_a_boolean_setting_stops_start_up(tmp_path):
    result = run_with_settings(tmp_path, "import django; django.setup()", **production_env(DEBUG="ture"))
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


@pytest.mark.parametrize("raw, expected", [("1", True), ("yes", True), (" On ", True), ("0", False), ("off", False)])
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FIXIT_TEST_FLAG", raw)
    assert env_bool("FIXIT_TEST_FLAG") is expected


def test_env_bool_uses_default_when_unset(monkeypatch):
    monkeypatch.delenv("FIXIT_TEST_FLAG", raising=False)
    assert env_bool("FIXIT_TEST_FLAG", True) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "truee"])
def test_env_bool_refuses_other_values(monkeypatch, raw):
    monkeypatch.setenv("FIXIT_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="FIXIT_TEST_FLAG must be true or false"):
        env_bool("FIXIT_TEST_FLAG")


def test_env_int_reads_a_number(monkeypatch):
    monkeypatch.setenv("FIXIT_TEST_INT", " 42 ")
    assert env_int("FIXIT_TEST_INT", 1) == 42


@pytest.mark.parametrize("raw", ["ten", "1.5", "0x10"])
def test_env_int_refuses_non_numbers(monkeypatch, raw):
    monkeypatch.setenv("FIXIT_TEST_INT", raw)
    with pytest.raises(ImproperlyConfigured, match="must be a whole number"):
        env_int("FIXIT_TEST_INT", 1)


@pytest.mark.parametrize(("raw", "message"), [("-1", "at least 0"), ("70000", "at most 65535")])
def test_env_int_refuses_out_of_range(monkeypatch, raw, message):
    monkeypatch.setenv("FIXIT_TEST_INT", raw)
    with pytest.raises(ImproperlyConfigured, match=f"must be {message}"):
        env_int("FIXIT_TEST_INT", 1, minimum=0, maximum=65535)


def test_env_int_blank_means_default(monkeypatch):
    monkeypatch.setenv("FIXIT_TEST_INT", "")
    assert env_int("FIXIT_TEST_INT", 7) == 7


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("FIXIT_TEST_LIST", " a.example.com, ,b.example.com ")
    assert env_list("FIXIT_TEST_LIST", []) == ["a.example.com", "b.example.com"]


def test_env_str_default(monkeypatch):
    monkeypatch.delenv("FIXIT_TEST_STR", raising=False)
    assert env_str("FIXIT_TEST_STR", "fallback") == "fallback"


# --- docker-compose.yml: the full stack (no container engine here, so the file itself is checked) ---

COMPOSE_SERVICES = {"postgres", "redis", "web", "worker", "beat", "mailpit"}


@pytest.fixture(scope="module")
def compose() -> dict:
    import yaml

    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_the_six_services(compose):
    assert set(compose["services"]) == COMPOSE_SERVICES


@pytest.mark.parametrize("service", sorted(COMPOSE_SERVICES))
def test_every_compose_service_has_a_healthcheck(compose, service):
    test = compose["services"][service]["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"} and len(test) >= 2


def test_compose_app_services_share_one_image_and_the_production_environment(compose):
    services = compose["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert services[name]["build"] == "."
        assert env["DEBUG"] == "0"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert env["EMAIL_HOST"] == "mailpit"
        assert "${SECRET_KEY:?" in env["SECRET_KEY"]  # compose refuses to start without one


def test_compose_web_collects_static_and_runs_gunicorn(compose):
    command = compose["services"]["web"]["command"]
    assert "collectstatic" in command and "gunicorn fixit_runbooks.wsgi" in command
    assert "/healthz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_compose_web_waits_for_healthy_database_and_broker(compose):
    depends = compose["services"]["web"]["depends_on"]
    assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_dockerfile_installs_the_project_on_python_311_slim():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile
    assert "USER fixit" in dockerfile
