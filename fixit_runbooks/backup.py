"""Backing up and restoring the whole library: the database plus a markdown export.

PostgreSQL is dumped with ``pg_dump --format=custom`` (consistent while the
site runs, restored with ``pg_restore``); SQLite is copied with its online
backup API, which is consistent while the web server and worker write. The
markdown export (``export_runbooks``) rides along as a copy any person can
read without the application.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

MANIFEST = "manifest.json"
POSTGRES_DUMP = "database.pgdump"
SQLITE_COPY = "database.sqlite3"
MARKDOWN_FOLDER = "markdown"


def _pg_environment(settings_dict: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key, name in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        if settings_dict.get(key):
            env[name] = str(settings_dict[key])
    env["PGDATABASE"] = str(settings_dict["NAME"])
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(
            f"{name} is not installed: install the PostgreSQL client tools (e.g. postgresql-client)"
        )
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandError(f"{Path(command[0]).name} failed: {result.stderr.strip()[:2000]}")


def backup(path: Path) -> dict[str, Any]:
    if path.exists() and any(path.iterdir()):
        raise CommandError(f"{path} is not empty: back up into a new folder")
    path.mkdir(parents=True, exist_ok=True)
    settings_dict = connection.settings_dict
    vendor = connection.vendor
    if vendor == "postgresql":
        _run(
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--file",
                str(path / POSTGRES_DUMP),
            ],
            _pg_environment(settings_dict),
        )
        database_file = POSTGRES_DUMP
    elif vendor == "sqlite":
        source = sqlite3.connect(str(settings_dict["NAME"]))
        target = sqlite3.connect(str(path / SQLITE_COPY))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        database_file = SQLITE_COPY
    else:
        raise CommandError(f"Backing up a {vendor} database is not supported")
    call_command("export_runbooks", str(path / MARKDOWN_FOLDER), stdout=io.StringIO())
    manifest = {
        "vendor": vendor,
        "database": database_file,
        "markdown": MARKDOWN_FOLDER,
        "created_at": timezone.now().isoformat(),
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path} is not a backup made by `manage.py backup` ({exc})") from None
    vendor = connection.vendor
    if manifest.get("vendor") != vendor:
        raise CommandError(
            f"The backup is of a {manifest.get('vendor')} database and this site uses {vendor}: "
            "restore the markdown folder with import_runbooks instead"
        )
    settings_dict = connection.settings_dict
    connections.close_all()
    if vendor == "postgresql":
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                str(settings_dict["NAME"]),
                str(path / POSTGRES_DUMP),
            ],
            _pg_environment(settings_dict),
        )
    else:
        source = sqlite3.connect(str(path / SQLITE_COPY))
        target = sqlite3.connect(str(settings_dict["NAME"]))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    return manifest
