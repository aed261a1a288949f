"""Two app servers over one PostgreSQL and one Redis serve one library."""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection
from django.test import Client

from fixit_runbooks.ratelimit import seconds_left
from tests.reviews.conftest import SmtpServer, _worker_database_url, committed, free_port
from tests.runbooks.test_editing import form_data

REPO = Path(__file__).resolve().parents[2]
PREVIEW_LIMIT = 4
BROKER = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    committed,
    pytest.mark.skipif(
        not BROKER.startswith("redis://"), reason="needs Redis (CELERY_BROKER_URL=redis://…)"
    ),
    # Over SQLite the nodes would share a file, not a database server: not the deployment tested here.
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fixit_runbooks.settings",
        "DEBUG": "1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": _worker_database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": BROKER,
        "FIXIT_VAR_DIR": str(tmp_path / "var"),
        "WEB_ACCESS_LOG": "",
        **extra,
    }


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def mail_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[list[str]]:
    prefix = f"two-nodes-{uuid.uuid4().hex[:8]}"  # this test's own keys in the shared Redis
    servers, urls = [], []
    for n in (1, 2):
        port = free_port()
        env = _environment(
            tmp_path,
            PORT=str(port),
            WEB_WORKERS="1",
            WEB_THREADS="2",
            CACHE_KEY_PREFIX=prefix,
            PREVIEWS_PER_MINUTE=str(PREVIEW_LIMIT),
        )
        log = (tmp_path / f"node{n}.log").open("wb")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "fixit_runbooks.wsgi",
            "--config",
            "python:fixit_runbooks.gunicorn_conf",
        ]
        servers.append(
            subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for server, url in zip(servers, urls, strict=True):
            port = int(url.rsplit(":", 1)[1])
            for _ in range(300):  # bounded: at most 60 s to start
                if _listening(port):
                    break
                assert server.poll() is None, (tmp_path / "node1.log").read_text() + (
                    tmp_path / "node2.log"
                ).read_text()
                time.sleep(0.2)
        yield urls
    finally:
        for server in servers:
            server.terminate()
            server.wait(30)


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30).text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def _logged_in(user: Any) -> requests.Session:
    """A browser session both nodes accept: sessions live in the shared database."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


def _edit(
    session: requests.Session, base: str, runbook: Any, **overrides: Any
) -> requests.Response:
    url = f"{base}/runbooks/{runbook.slug}/edit/"
    data = {**form_data(runbook, **overrides), "csrfmiddlewaretoken": _csrf(session, url)}
    return session.post(url, data, timeout=30, allow_redirects=False)


def test_an_edit_through_one_node_is_visible_through_the_other(two_nodes, runbook, editor):
    first, second = two_nodes
    session = _logged_in(editor)
    second_page = session.get(
        f"{second}/runbooks/{runbook.slug}/", timeout=30
    )  # warms node 2's page cache
    assert second_page.ok
    body = runbook.current_revision.body + "\n\nCheck the new dashboard.\n"
    assert _edit(session, first, runbook, body=body, change_summary="Dashboard").status_code == 302
    assert (
        "Check the new dashboard."
        in session.get(f"{second}/runbooks/{runbook.slug}/", timeout=30).text
    )


def test_a_stale_edit_through_the_other_node_gets_the_conflict(two_nodes, runbook, editor):
    first, second = two_nodes
    session = _logged_in(editor)
    stale = runbook.current_revision.number
    assert (
        _edit(session, first, runbook, body=runbook.current_revision.body + "\nmine\n").status_code
        == 302
    )
    response = _edit(
        session,
        second,
        runbook,
        body=runbook.current_revision.body + "\ntheirs\n",
        base_revision=stale,
    )
    assert response.status_code == 409
    assert "Someone else saved while you were editing" in response.text


def test_the_preview_rate_limit_counts_across_both_nodes(two_nodes, runbook, editor):
    session = _logged_in(editor)
    token = _csrf(session, f"{two_nodes[0]}/runbooks/{runbook.slug}/edit/")
    # The limit counts per clock minute: start the burst well inside one, or it may straddle two.
    if seconds_left(60) < 15:
        time.sleep(seconds_left(60) + 0.5)
    statuses = [
        session.post(
            f"{two_nodes[n % 2]}/runbooks/preview/",
            {"body": "# Hi", "csrfmiddlewaretoken": token},
            timeout=30,
        ).status_code
        for n in range(PREVIEW_LIMIT + 1)
    ]
    assert statuses == [200] * PREVIEW_LIMIT + [429]


def test_the_reminder_scan_run_on_both_nodes_sends_each_digest_once(
    tmp_path, mail_server, make_runbook, editor
):
    import datetime as dt

    from django.utils import timezone

    for n in range(3):
        make_runbook(title=f"Overdue {n}", next_review_due=timezone.now() - dt.timedelta(days=2))
    env = _environment(
        tmp_path, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(mail_server.port), EMAIL_TIMEOUT="5"
    )
    env.pop("EMAIL_BACKEND", None)
    scans = [
        subprocess.Popen(
            [sys.executable, "manage.py", "send_review_reminders"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [scan.communicate(timeout=120)[0].decode(errors="replace") for scan in scans]
    assert all(scan.returncode == 0 for scan in scans), outputs
    assert len(mail_server.inbox.to(editor.email)) == 1, outputs
