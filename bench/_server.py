"""A throwaway full stack for benchmarks: its own database, seeded, behind gunicorn on loopback.

Everything lives in a temporary directory (SQLite file, collected static files,
broker folder) or in a PostgreSQL database named for the bench; both are
removed when the `with` block ends, whatever happens inside it.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
LOGIN_AS = "vera.viewer"


@dataclass
class Stack:
    host: str
    port: int
    env: dict[str, str]
    session_cookie: str

    def get(self, path: str, *, cookie: bool = True) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {"Cookie": f"sessionid={self.session_cookie}"} if cookie else {}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def python(env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return result.stdout.strip()


def _psql(sql: str) -> None:
    code = (
        "import psycopg, sys\n"
        f"with psycopg.connect({PG_SERVER + '/postgres'!r}, autocommit=True) as c: c.execute(sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", code, sql], check=True, capture_output=True)


@contextmanager
def running_stack(
    *,
    runbooks: int,
    database: str,
    db_name: str,
    workers: int = 2,
    gunicorn_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="fixit-bench-"))
    port = free_port()
    env = {
        **{
            k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
        },
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "FIXIT_VAR_DIR": str(tmp),
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    if database == "postgres":
        _psql(f'DROP DATABASE IF EXISTS "{db_name}"')
        _psql(f'CREATE DATABASE "{db_name}"')
        env["DATABASE_URL"] = f"{PG_SERVER}/{db_name}"
    server: subprocess.Popen[bytes] | None = None
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        manage(env, "seed_demo", "--runbooks", str(runbooks))
        # A real session row in the bench database, as a logged-in browser would have.
        cookie = python(
            env,
            "import django; django.setup(); from django.test import Client; "
            "from django.contrib.auth import get_user_model; "
            f"c = Client(); c.force_login(get_user_model().objects.get(username={LOGIN_AS!r})); "
            "print(c.cookies['sessionid'].value)",
        )
        log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the directory below
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "fixit_runbooks.wsgi",
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning",
                *gunicorn_args,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack = Stack("127.0.0.1", port, env, cookie)
        _wait_until_up(stack, server, tmp / "gunicorn.log")
        yield stack
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        if database == "postgres":
            _psql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _wait_until_up(
    stack: Stack, server: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text(errors='replace')}")
        try:
            if stack.get("/healthz", cookie=False)[0] in (200, 503):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within a minute")
