"""Finding the files to ingest under the paths given, in a way that cannot hang or escape.

Folders are walked recursively (hidden entries and excluded folders skipped), files of supported
types kept, sorted and unique by their real path. What is not taken is reported with a reason:
a FIFO, socket or device is never opened (reading a FIFO blocks for ever); a symbolic link loop
is one skipped path, not an aborted run; a symbolic link that leads out of the folders given is
not followed unless ``follow_links`` (a link inside a shared folder must not pull in
``/etc/passwd``). A file named explicitly is taken whatever its extension (so an unsupported one
is reported), and wherever it links to (the user named it).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import is_supported, kind_of

__all__ = ["SkippedFile", "discover", "is_under"]


@dataclass(frozen=True, slots=True)
class SkippedFile:
    path: str
    reason: str


_LOOP = "a symbolic link loop"


def is_under(path: str, roots: Sequence[Path]) -> bool:
    return any(path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep) for root in roots)


def _real(path: Path) -> tuple[Path | None, str | None]:
    """The path with every link resolved, or None and why not (a loop, a broken link)."""
    try:
        return path.resolve(strict=True), None
    except RuntimeError:  # Python < 3.13 on a loop
        return None, _LOOP
    except FileNotFoundError:
        return None, "a broken symbolic link" if path.is_symlink() else "no such file or directory"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, _LOOP
        return None, f"cannot resolve the path: {exc.strerror or exc}"


def _regular(real: Path) -> str | None:
    """Why ``real`` is not a regular file (None when it is)."""
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    return None if stat.S_ISREG(mode) else f"{kind_of(mode)}, not a regular file: skipped"


def discover(paths: Iterable[Path], exclude: Sequence[Path] = (), *, follow_links: bool = False) -> tuple[list[Path], list[SkippedFile]]:
    """Files to ingest under ``paths``, sorted and unique, and what was skipped with why."""
    excluded = {str(Path(p).resolve()) for p in exclude}
    given_paths = [Path(p).expanduser() for p in paths]
    roots = [r for p in given_paths if (r := _real(p)[0]) is not None and r.is_dir()]
    found: dict[str, Path] = {}
    skipped: list[SkippedFile] = []

    def take(candidate: Path, *, explicit: bool) -> None:
        real, why = _real(candidate)
        if real is None:
            skipped.append(SkippedFile(str(candidate), str(why)))
            return
        if not explicit and not follow_links and candidate.is_symlink() and not is_under(str(real), roots):
            skipped.append(SkippedFile(str(candidate), f"a symbolic link out of the folders given (to {real}): not followed (use --follow-links)"))
            return
        if not (explicit and real.is_dir()) and (why := _regular(real)) is not None:
            skipped.append(SkippedFile(str(candidate), why))
            return
        found.setdefault(str(real), real)

    for given, path in zip(paths, given_paths):
        real, why = _real(path)
        if real is None:
            skipped.append(SkippedFile(str(given), str(why)))
        elif real.is_dir():
            if not os.access(real, os.R_OK | os.X_OK):
                skipped.append(SkippedFile(str(given), "permission denied: cannot list the folder"))
                continue
            _walk(real, excluded, follow_links, roots, take, skipped)
        else:
            take(path, explicit=True)
    return [found[k] for k in sorted(found)], skipped


def _walk(root: Path, excluded: set[str], follow_links: bool, roots: Sequence[Path], take: Callable[..., None], skipped: list[SkippedFile]) -> None:
    visited = {str(root)}
    def unlistable(error: OSError) -> None:
        skipped.append(SkippedFile(str(error.filename), f"cannot list the folder: {error.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlistable, followlinks=follow_links):
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            folder = Path(dirpath) / name
            real, why = _real(folder)
            if real is None:
                skipped.append(SkippedFile(str(folder), str(why)))
            elif str(real) in excluded:
                continue
            elif folder.is_symlink() and not follow_links:
                if not is_under(str(real), roots):
                    skipped.append(SkippedFile(str(folder), f"a symbolic link out of the folders given (to {real}): not followed (use --follow-links)"))
                # a link inside the folders given: its files are found under their real path
            elif str(real) in visited:
                skipped.append(SkippedFile(str(folder), f"{_LOOP} (back to {real})"))
            else:
                visited.add(str(real))
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            candidate = Path(dirpath) / name
            if name.startswith(".") or not is_supported(candidate):
                continue
            take(candidate, explicit=False)
