"""Uploaded .zip archives: checked as a whole before anything is extracted.

Refused: absolute paths, ``..``, backslashes, symbolic links, encrypted
members, too many members, too many bytes once inflated (checked again while
inflating, because a member's declared size can lie), and members that expand
far more than markdown does (a zip bomb). Only markdown files are extracted.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from .links import MARKDOWN_SUFFIXES

MAX_ZIP_MEMBERS = 5000
# Markdown compresses about 3-8x; a ratio far above that is a zip bomb.
MAX_ZIP_RATIO = 100
_RATIO_CHECK_BYTES = 64 * 1024
_CHUNK = 64 * 1024


class UnsafeArchive(ValueError):
    """The uploaded archive is refused as a whole; the message says why."""


def _safe_member_name(name: str) -> PurePosixPath | None:
    """The member's relative path, or None for a directory entry; UnsafeArchive if it escapes."""
    if "\\" in name or "\x00" in name:
        raise UnsafeArchive(f"refused: member name {name!r} contains a backslash or NUL")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(f"refused: member {name!r} has an absolute path")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise UnsafeArchive(f"refused: member {name!r} points outside the archive (../)")
    if name.endswith("/"):
        return None
    return path


def _checked_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The markdown members to extract, once every member passed the checks."""
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise UnsafeArchive(
            f"refused: {len(members):,} entries, more than the {MAX_ZIP_MEMBERS:,} allowed"
        )
    limit = settings.IMPORT_MAX_ZIP_BYTES
    declared = sum(member.file_size for member in members)
    if declared > limit:
        raise UnsafeArchive(
            f"refused: {declared:,} bytes uncompressed, over the {limit:,}-byte limit"
        )
    wanted = []
    for member in members:
        path = _safe_member_name(member.filename)
        if path is None:
            continue
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UnsafeArchive(f"refused: member {member.filename!r} is a symbolic link")
        if member.flag_bits & 0x1:
            raise UnsafeArchive(f"refused: member {member.filename!r} is encrypted")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_CHECK_BYTES and ratio > MAX_ZIP_RATIO:
            raise UnsafeArchive(
                f"refused: member {member.filename!r} expands {ratio:,.0f}x (more than {MAX_ZIP_RATIO}x: a zip bomb?)"
            )
        if path.suffix.lower() in MARKDOWN_SUFFIXES and not any(
            part.startswith(".") for part in path.parts
        ):
            wanted.append((member, path))
    return wanted


def _open(source: Any) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive("not a readable .zip file") from exc


def check_zip(source: Any) -> int:
    """Run every check that needs no extraction (names, count, sizes, ratio); return how many markdown files."""
    with _open(source) as archive:
        return len(_checked_members(archive))


def extract_zip(source: Any, target: Path) -> int:
    """Check and extract the markdown files of a zip into `target`; return how many.

    Nothing is written unless every member passes the name, count, size and
    ratio checks; sizes are enforced again while inflating, because a member's
    declared size can lie.
    """
    limit = settings.IMPORT_MAX_ZIP_BYTES
    with _open(source) as archive:
        wanted = _checked_members(archive)
        root = target.resolve()
        written = 0
        for member, path in wanted:
            destination = (root / path).resolve()
            if not destination.is_relative_to(root):
                raise UnsafeArchive(
                    f"refused: member {member.filename!r} points outside the archive"
                )
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as stream, destination.open("wb") as out:
                while chunk := stream.read(_CHUNK):
                    written += len(chunk)
                    if written > limit:
                        raise UnsafeArchive(f"refused: more than {limit:,} bytes once uncompressed")
                    out.write(chunk)
        return len(wanted)


def single_top_folder(root: Path) -> Path:
    """The innermost folder an archive wraps everything in (``zip -r runbooks.zip docs/runbooks/``).

    Importing that folder makes the zip's paths the same as a command-line
    import of the folder, so both match the same runbooks.
    """
    while True:
        entries = [entry for entry in root.iterdir() if not entry.name.startswith(".")]
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
            return root
        root = entries[0]
