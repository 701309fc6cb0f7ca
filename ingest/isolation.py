"""Parsing a file in a subprocess with a memory and time budget.

PDF and DOCX parsers (pypdf, python-docx with lxml) read attacker-shaped structures: a damaged or
hostile file can make them allocate gigabytes or loop. :func:`extract_isolated` runs the loader
in a fresh ``python -m ingest.parse_worker`` that first limits its own address space
(``RLIMIT_AS``), reads the file's bytes from stdin and writes the extracted text as JSON to stdout
(nothing is pickled). Past the time budget it is killed. Whatever happens in it, the caller (the
server, ``rag ingest``) gets the text or one :class:`~rag.errors.IngestError` for that file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest.limits import ParseLimits
from rag.errors import CorruptFileError, EmptyDocumentError, FileTooLargeError, IngestError

__all__ = ["Extracted", "extract_isolated"]

Extracted = tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]

_ERRORS: dict[str, type[IngestError]] = {
    "CorruptFileError": CorruptFileError,
    "EmptyDocumentError": EmptyDocumentError,
    "FileTooLargeError": FileTooLargeError,
}


def extract_isolated(path: Path, data: bytes, *, text_field: str, limits: ParseLimits) -> Extracted:
    """What the loader for ``path``'s suffix extracts from ``data``, parsed in a subprocess."""
    command = [sys.executable, "-m", "ingest.parse_worker", path.suffix.lower(), str(limits.memory_mb), text_field]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=limits.timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise IngestError(path, f"parsing took longer than {limits.timeout_s:g} s (setting parse_timeout_s): skipped") from exc
    except OSError as exc:
        raise IngestError(path, f"cannot start the parser subprocess: {exc.strerror or exc}") from exc
    try:
        reply = json.loads(done.stdout)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        if done.returncode < 0 or b"MemoryError" in done.stderr:
            raise IngestError(path, f"parsing needed more than {limits.memory_mb} MB (setting parse_memory_mb) or crashed the parser: skipped")
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise IngestError(path, f"the parser failed ({last[0][:200]})")
    if "error" in reply:
        kind = _ERRORS.get(str(reply["error"]), IngestError)
        raise kind(path, str(reply["reason"]))
    pages = tuple((int(a), int(b)) for a, b in reply["pages"])
    return str(reply["text"]), pages, tuple(int(b) for b in reply["breaks"])
