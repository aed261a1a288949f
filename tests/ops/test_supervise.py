"""`make run`'s supervisor stops web, worker and beat cleanly on SIGTERM or Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_all_three_processes_stop_without_a_traceback(tmp_path, stop_signal):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
        "DEBUG": "1",
        "SECURE_SSL_REDIRECT": "0",
        "FIXIT_VAR_DIR": str(tmp_path),
        "PORT": str(port),
        "WEB_ACCESS_LOG": "",
    }
    # As `make run` does: beat may fire a scheduled task (the midnight digests) while the test runs.
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "fixit_runbooks.supervise"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(300):  # bounded: at most 60 s for the three to start
                text = log.read_text(errors="replace")
                if _listening(port) and "beat: Starting" in text and "ready." in text:
                    break
                assert supervisor.poll() is None, text
                time.sleep(0.2)
            supervisor.send_signal(stop_signal)
            status = supervisor.wait(timeout=60)
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
    text = log.read_text(errors="replace")
    pids = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", text)]
    assert status == 0, text
    assert len(pids) == 3
    assert not [pid for pid in pids if _alive(pid)]
    assert "Traceback" not in text
    assert "supervise: stopped" in text
