"""A loopback HTTP receiver that records what the app posts, and Celery run in-process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fixit_runbooks.celery import app as celery_app
from notifications.models import Channel, ChannelKind, Event


@dataclass
class Received:
    path: str
    headers: Any  # http.client.HTTPMessage: header names are case-insensitive
    body: bytes


class Receiver:
    """Answers each POST with the next queued status code (200 once the queue is empty)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, self.headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def fail_next(self, *statuses: int) -> None:
        with self.lock:
            self.statuses.extend(statuses)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(autouse=True)
def eager_tasks(settings: Any) -> Iterator[None]:
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 1
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def make_channel(db: Any, editor: Any, receiver: Receiver) -> Callable[..., Channel]:
    def make(**fields: Any) -> Channel:
        fields.setdefault("name", "incidents room")
        fields.setdefault("kind", ChannelKind.WEBHOOK)
        fields.setdefault("url", receiver.url)
        fields.setdefault("events", [value for value, _ in Event.choices if value != Event.TEST])
        fields.setdefault("owner", editor)
        if fields["kind"] == ChannelKind.WEBHOOK:
            fields.setdefault("signing_secret", Channel.new_secret())
        return Channel.objects.create(**fields)

    return make
