"""A hard time limit for markdown rendering.

Python-Markdown and html5lib have inputs that take minutes (see the caps in
``runbooks.markdown``), and a thread cannot be stopped, so every render runs in
a small long-lived child process that the web process can kill. A child is
started on first use (about 0.3 s) and then reused: an ordinary body costs a
pipe round trip and a JSON encoding (1-3 ms measured on the corpus), not a
process start. A child that overruns
the limit is killed and replaced by a fresh one on the next render.

The child speaks length-prefixed JSON over its stdin and stdout and exits when
its stdin closes, so it never outlives the process that started it.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Wall-clock seconds one render may take; with the pipe overhead the answer
# (rendered or refused) comes in under 2 s. RENDER_TIME_LIMIT overrides it.
DEFAULT_TIME_LIMIT = 1.5
# Children per web process: gthread workers render for several requests at once.
MAX_CHILDREN = 4
# How long a render waits for a free child before the server is called busy.
WAIT_FOR_CHILD_SECONDS = 30.0
# A new child imports the renderer before it answers; that start is not part of any render's budget.
CHILD_START_SECONDS = 60.0
# A child may use this much memory; a hostile body that needs more is refused.
CHILD_MEMORY_BYTES = 1024 * 1024 * 1024

_REPO_ROOT = Path(__file__).resolve().parent.parent
_HEADER_BYTES = 4


class RenderTimeout(Exception):
    """The render overran its time limit (the child was killed)."""


class RenderFailed(Exception):
    """The child raised while rendering (deep recursion, out of memory, …)."""


def time_limit() -> float:
    try:
        from django.conf import settings

        return float(getattr(settings, "RENDER_TIME_LIMIT", DEFAULT_TIME_LIMIT))
    except Exception:  # Django absent or not configured: the module works on its own
        return DEFAULT_TIME_LIMIT


def _encode(payload: Any) -> bytes:
    data = json.dumps(payload).encode()
    return len(data).to_bytes(_HEADER_BYTES, "big") + data


class _Child:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH", "")])
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runbooks.render_budget"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_REPO_ROOT,
            env=env,
        )
        try:
            self._read(_HEADER_BYTES, time.monotonic() + CHILD_START_SECONDS)  # the child's "ready"
        except (RenderTimeout, RenderFailed):
            self.kill()
            raise OSError("the render process did not start") from None

    def call(self, operation: str, text: str, deadline: float) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(_encode([operation, text]))
        self.process.stdin.flush()
        header = self._read(_HEADER_BYTES, deadline)
        ok, value = json.loads(self._read(int.from_bytes(header, "big"), deadline))
        if not ok:
            raise RenderFailed(value)
        return value

    def _read(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise RenderTimeout
            chunk = os.read(fd, size)
            if not chunk:
                raise RenderFailed("the render process exited")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(MAX_CHILDREN)
        self.idle: list[_Child] = []
        self.pid = os.getpid()

    def run(self, operation: str, text: str, limit: float) -> Any:
        if not self.slots.acquire(timeout=WAIT_FOR_CHILD_SECONDS):
            raise RenderTimeout
        try:
            child = self._take()
            try:
                result = child.call(operation, text, time.monotonic() + limit)
            except (RenderTimeout, RenderFailed):
                child.kill()
                raise
            except (OSError, ValueError) as exc:  # a broken pipe or a garbled answer
                child.kill()
                raise RenderFailed(str(exc)) from exc
            self._give_back(child)
            return result
        finally:
            self.slots.release()

    def _take(self) -> _Child:
        with self.lock:
            if self.pid != os.getpid():
                # A forked copy (gunicorn preload, Celery prefork) must not share its parent's pipes.
                self.idle, self.pid = [], os.getpid()
            while self.idle:
                child = self.idle.pop()
                if child.process.poll() is None:
                    return child
        return _Child()

    def _give_back(self, child: _Child) -> None:
        with self.lock:
            self.idle.append(child)


_pool = _Pool()


def run(operation: str, text: str) -> Any:
    """Run ``operation`` ("render" or "titles") on ``text`` in a child process.

    Raises RenderTimeout when it overruns the limit and RenderFailed when the
    child raised; both mean "too complex to render" to the caller. OSError
    means no child could be started at all.
    """
    started = time.monotonic()
    try:
        return _pool.run(operation, text, time_limit())
    except RenderTimeout:
        logger.warning(
            "Markdown %s refused: over the %.1f s limit (%d characters, %.1f s)",
            operation,
            time_limit(),
            len(text),
            time.monotonic() - started,
        )
        raise


def _serve() -> None:
    """The child's loop: read a request, answer it, until stdin closes."""
    import resource

    from runbooks import markdown

    try:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    except (ValueError, OSError):
        logger.info("Could not cap the render process's memory")
    operations = {"render": markdown.render_unbounded, "titles": markdown.heading_titles_unbounded}
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write((0).to_bytes(_HEADER_BYTES, "big"))  # ready: imports done
    stdout.flush()
    while header := stdin.read(_HEADER_BYTES):
        operation, text = json.loads(stdin.read(int.from_bytes(header, "big")))
        try:
            value = operations[operation](text)
            answer = [True, value.as_json() if hasattr(value, "as_json") else value]
        except (
            Exception
        ) as exc:  # RecursionError, MemoryError, …: the body is refused, the child lives on
            answer = [False, type(exc).__name__]
        stdout.write(_encode(answer))
        stdout.flush()


if __name__ == "__main__":
    _serve()
