"""Writing a file whole or not at all."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], text: str, *, errors: str = "strict", mode: int | None = None) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically: to a temporary file in the
    same directory, fsynced, then renamed over ``path``, so a reader never sees a half-written
    file and a failure leaves any previous file untouched (and no temporary file behind).

    The file gets the usual permissions from the umask, or ``mode`` when given. ``errors`` is the
    encoding's error handler (``"replace"`` writes ``?`` for lone surrogates). The directory must
    exist; an ``OSError`` is raised as is.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        # opened with "x" (not mkstemp) so the file gets the umask's permissions, not 0600
        with open(tmp, "x", encoding="utf-8", errors=errors, newline="\n") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
