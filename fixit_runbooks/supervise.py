"""Run the web server, a Celery worker and beat together; stop all three on Ctrl-C or SIGTERM.

``make run`` uses this. Each child runs in its own session, so a Ctrl-C in the
terminal reaches only this process, which then stops the children in order
(web first, so no new work arrives, then worker and beat) with SIGTERM, waits
for each, and kills any that outlive the grace period. If one child dies on
its own, the others are stopped too and the exit status says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

GRACE_SECONDS = 20


def commands() -> dict[str, list[str]]:
    bin_dir = os.path.dirname(sys.executable)
    celery = os.path.join(bin_dir, "celery")
    return {
        "web": [
            sys.executable,
            "-m",
            "gunicorn",
            "fixit_runbooks.wsgi",
            "--config",
            "python:fixit_runbooks.gunicorn_conf",
        ],
        "worker": [
            celery,
            "-A",
            "fixit_runbooks",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
        ],
        "beat": [celery, "-A", "fixit_runbooks", "beat", "--loglevel=INFO"],
    }


class Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def start(self) -> None:
        for name, command in commands().items():
            self.children[name] = subprocess.Popen(command, start_new_session=True)
            print(f"supervise: started {name} (pid {self.children[name].pid})", flush=True)

    def watch(self) -> int:
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None:
                    print(
                        f"supervise: {name} exited with status {child.returncode}; stopping the others",
                        flush=True,
                    )
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        for name, child in self.children.items():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    print(
                        f"supervise: {name} did not stop within {GRACE_SECONDS} s; killing it",
                        flush=True,
                    )
                    child.kill()
                    child.wait()
        print("supervise: stopped", flush=True)


def main() -> int:
    supervisor = Supervisor()
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    try:
        supervisor.start()
        status = supervisor.watch()
    finally:
        # Further Ctrl-Cs while stopping are ignored rather than interrupting the stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
