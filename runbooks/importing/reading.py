"""Finding and reading the markdown files of a folder, and nothing outside it.

Encodings: UTF-8 with or without a byte-order mark, and UTF-16 (either byte
order) when it starts with its byte-order mark. Anything else is refused per
file. Line endings (LF, CRLF, CR) are all read as LF.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from pathlib import Path

from django.conf import settings

from .links import MARKDOWN_SUFFIXES
from .report import FileProblem

INDEX_NAMES = ("readme.md", "readme.markdown")


def discover(root: Path) -> list[Path]:
    """Markdown files under `root`, in a stable order; hidden folders and symlinked folders are not entered."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.lower().endswith(MARKDOWN_SUFFIXES):
                found.append(Path(dirpath) / name)
    return found


def decode(raw: bytes) -> str:
    """The text of a file's bytes, with LF line endings; FileProblem if it is not text we read."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"not UTF-16 text despite its byte-order mark (invalid byte at offset {exc.start})"
            ) from exc
    else:
        nul = raw.find(b"\x00")
        if nul != -1:
            # Valid UTF-8 can carry NULs (UTF-16 text without a BOM, binaries);
            # PostgreSQL would refuse them at save time and SQLite keep garbage.
            raise FileProblem(
                f"not UTF-8 text (NUL byte at offset {nul}: UTF-16 without a byte-order mark, or binary?)"
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileProblem(f"not UTF-8 text (invalid byte at offset {exc.start})") from exc
    if "\x00" in text:
        raise FileProblem("the text contains a NUL character")
    if not text.strip():
        raise FileProblem("empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read(path: Path, root: Path) -> str:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise FileProblem("symlink pointing outside the imported folder; not read")
    if not resolved.is_file():
        raise FileProblem("not a regular file")
    limit = settings.IMPORT_MAX_FILE_BYTES
    size = resolved.stat().st_size
    if size > limit:
        raise FileProblem(f"file is {size:,} bytes, over the {limit:,}-byte limit")
    with resolved.open("rb") as handle:
        # Read one byte past the limit: the file may have grown since stat().
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise FileProblem(f"file is over the {limit:,}-byte limit")
    if not raw.strip():
        raise FileProblem("empty file")
    return decode(raw)


def text_hash(text: str) -> str:
    """What provenance remembers of a file: the same text gives the same hash whatever its encoding."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
