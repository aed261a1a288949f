"""Fixtures for review and reminder tests: an owner with overdue runbooks, a real SMTP server."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.apps import apps
from django.utils import timezone

REPO = Path(__file__).resolve().parents[2]

# Rows must be committed for other threads and the worker process to see them. Naming
# the apps makes the flush between tests TRUNCATE ... CASCADE, which the search app's
# unmanaged table (it references runbooks_runbook) needs on PostgreSQL.
committed = pytest.mark.django_db(
    transaction=True, available_apps=[config.name for config in apps.get_app_configs()]
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free port, already listening."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """A free port with nothing listening yet; the test calls .start() to bring it up."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def use_smtp(settings: Any) -> Callable[[SmtpServer], None]:
    def configure(server: SmtpServer) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_TIMEOUT = 5

    return configure


@pytest.fixture
def overdue_runbook(make_runbook: Callable[..., Any]) -> Callable[..., Any]:
    """A runbook whose review fell due `days` ago."""

    def make(days: int = 3, **fields: Any) -> Any:
        fields.setdefault("next_review_due", timezone.now() - dt.timedelta(days=days))
        runbook = make_runbook(**fields)
        # Signed off one cadence before it fell due, so its state is "overdue", not "never reviewed".
        runbook.last_reviewed_at = runbook.next_review_due - runbook.cadence_delta()
        runbook.save(update_fields=["last_reviewed_at"])
        return runbook

    return make


class Worker:
    """A `celery -A fixit_runbooks worker` subprocess consuming one private queue."""

    def __init__(
        self,
        queue: str,
        env: dict[str, str],
        log_path: Path,
        transport_options: dict[str, Any] | None,
    ):
        self.queue = queue
        self.env = env
        self.log_path = log_path
        self.transport_options = transport_options
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str = "w1") -> None:
        log = open(self.log_path.with_name(f"{self.log_path.stem}-{name}.log"), "wb")  # noqa: SIM115 (closed in stop)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "fixit_runbooks",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "-Q",
                self.queue,
                "-n",
                f"{name}-{self.queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log = log  # type: ignore[attr-defined]
        process.log_file = log.name  # type: ignore[attr-defined]
        self.processes.append(process)
        self.wait_for_log(process, "ready.", timeout=30)

    def log_text(self, process: subprocess.Popen[bytes] | None = None) -> str:
        procs = [process] if process else self.processes
        return "".join(Path(p.log_file).read_text(errors="replace") for p in procs)  # type: ignore[attr-defined]

    def wait_for_log(
        self, process: subprocess.Popen[bytes] | None, text: str, timeout: float = 30
    ) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_text(process):
            if process is not None and process.poll() is not None:
                raise AssertionError(f"worker exited:\n{self.log_text(process)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker log never showed {text!r}:\n{self.log_text(process)}")
            time.sleep(0.1)

    def enqueue(self) -> None:
        from fixit_runbooks.celery import app
        from reviews.tasks import send_review_reminders

        with app.connection_for_write(transport_options=self.transport_options) as conn:
            send_review_reminders.apply_async(connection=conn, queue=self.queue)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log.close()  # type: ignore[attr-defined]
        self.processes.clear()


def wait_until(condition: Callable[[], Any], timeout: float = 30, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or "condition never became true")
        time.sleep(0.1)


def _worker_database_url() -> str:
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        name = str(conf["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            pytest.fail(
                "The SQLite test database must be a file for a worker to share it (see test_settings.py)"
            )
        return f"sqlite:///{name}"
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf.get("PASSWORD") else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


@pytest.fixture
def celery_worker_factory(tmp_path: Path) -> Iterator[Callable[[SmtpServer], Worker]]:
    """Build (not start) a worker whose database, broker and SMTP are the test's own."""
    workers: list[Worker] = []

    def build(smtp: SmtpServer) -> Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fixit_runbooks.settings",
            "SECRET_KEY": "worker-test-secret-key-long-enough-for-the-start-up-check-x7Qm2Lp9",
            "DEBUG": "0",
            "DATABASE_URL": _worker_database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_TIMEOUT": "5",
            "SITE_URL": "https://runbooks.example.org",
            "FIXIT_VAR_DIR": str(tmp_path / "var"),
            "LOG_LEVEL": "INFO",
        }
        env.pop("EMAIL_BACKEND", None)
        transport_options = None
        if not os.environ.get("CELERY_BROKER_URL"):
            # Embedded run: the filesystem broker lives in this test's own folder, for both sides.
            env["CELERY_BROKER_URL"] = "filesystem://"
            broker = tmp_path / "var" / "broker"
            for sub in ("in", "processed", "control"):
                (broker / sub).mkdir(parents=True, exist_ok=True)
            transport_options = {
                "data_folder_in": str(broker / "in"),
                "data_folder_out": str(broker / "in"),
                "processed_folder": str(broker / "processed"),
                "control_folder": str(broker / "control"),
                "store_processed": False,
            }
        worker = Worker(
            f"reviews-{uuid.uuid4().hex[:10]}", env, tmp_path / "worker.log", transport_options
        )
        workers.append(worker)
        return worker

    yield build
    for worker in workers:
        worker.stop()
