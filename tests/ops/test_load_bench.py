"""The load bench exercises every kind of request it reports, and the app answers each as a person's browser expects.

A short run of `bench/load.py` (its own gunicorn and SQLite library): a stale
bench (one that posts what the forms no longer send) shows as errors here, not
only in a figure nobody reads.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]

# The bench builds its own SQLite stack whatever the suite runs on; once is enough.
pytestmark = pytest.mark.skipif(
    connection.vendor == "postgresql", reason="runs once, in the embedded-default suite"
)


def test_a_short_load_run_has_no_errors_and_covers_every_kind_of_request():
    run = subprocess.run(
        [sys.executable, "bench/load.py", "--clients", "4", "--seconds", "3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"requests in .*, 0 errors", run.stdout), run.stdout
    for kind in ("checklist step", "edit form", "index", "runbook page", "save", "search"):
        assert re.search(rf"^\s+{kind}\s+n=[1-9]", run.stdout, re.MULTILINE), (kind, run.stdout)
