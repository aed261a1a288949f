"""The Content-Security-Policy that backs up the markdown sanitiser."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

pytestmark = pytest.mark.django_db


def test_pages_forbid_scripts_from_anywhere_but_our_static_files(viewer_client, runbook):
    policy = viewer_client.get(runbook.get_absolute_url()).headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-eval" not in policy
    assert "object-src 'none'" in policy


def test_app_templates_have_no_inline_scripts_or_event_handlers():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "offline" in path.parts:  # the offline bundle is opened from disk, not served
            continue
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)", text) or re.search(r"\s(hx-on|on[a-z]+)=", text):
            offenders.append(path.name)
    assert offenders == []
