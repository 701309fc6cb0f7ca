"""What parsing one file may cost: :class:`ParseLimits`, and the check of zip packages (DOCX)
against them before any part is inflated.

A zip member's declared size bounds what Python's ``zipfile`` will inflate from it (it stops at
the declared size), so checking the central directory — member count, each member's size, the
total — refuses a zip bomb from a few kilobytes of reading, before python-docx opens it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorruptFileError, FileTooLargeError

__all__ = ["ZIP_HARD_CAP", "ParseLimits", "check_zip"]

ZIP_HARD_CAP = 200 * 1024 * 1024  # inflated bytes of one package, whatever max_file_mb says
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Per-file parsing budget. Zip packages: at most ``zip_members`` members and ``zip_total_bytes``
    inflated in all (20 x the file size limit, at most :data:`ZIP_HARD_CAP`). PDF and DOCX files are
    parsed in a subprocess (``isolate``) that may use ``memory_mb`` of address space and
    ``timeout_s`` seconds."""

    zip_members: int = 2000
    zip_total_bytes: int = ZIP_HARD_CAP
    isolate: bool = True
    timeout_s: float = 60.0
    memory_mb: int = 1024

    @classmethod
    def for_file_limit(cls, max_file_bytes: int, *, isolate: bool = True, timeout_s: float = 60.0, memory_mb: int = 1024) -> ParseLimits:
        return cls(zip_total_bytes=min(20 * max_file_bytes, ZIP_HARD_CAP), isolate=isolate, timeout_s=timeout_s, memory_mb=memory_mb)


def check_zip(path: Path, data: bytes, limits: ParseLimits) -> None:
    """Refuse a zip package whose central directory promises more than ``limits`` allow."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorruptFileError(path, f"corrupt zip package ({type(exc).__name__}: {exc})") from exc
    if len(members) > limits.zip_members:
        raise CorruptFileError(path, f"a zip package of {len(members):,} members, over the limit of {limits.zip_members:,}")
    total = 0
    for member in members:
        total += member.file_size
        if total > limits.zip_total_bytes:
            raise FileTooLargeError(
                path,
                f"inflates to over {limits.zip_total_bytes / MB:g} MB (member {member.filename[:80]!r} alone {member.file_size / MB:.0f} MB): "
                "refused as a possible zip bomb (limit: 20 x max_file_mb, at most 200 MB)",
            )
