"""How sources are named over HTTP: never by their absolute path on the server.

An uploaded file is shown by its upload name; any other source by its path relative to the
folder all the other sources share (for one ``rag ingest DOCS``: relative to DOCS or below it).
A client may pass a shown name back (``sources`` filters), which :meth:`SourceNames.resolve` maps
to the stored path. Absolute paths stay on the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["SourceNames"]


class SourceNames:
    """Shown names of one index version's sources (``uploads``: the server's upload folder)."""

    def __init__(self, paths: Iterable[str], uploads: Path) -> None:
        self.uploads = str(uploads.resolve())
        paths = list(paths)
        others = [p for p in paths if not self._uploaded(p)]
        try:
            self.common = os.path.commonpath([os.path.dirname(p) for p in others]) if others else ""
        except ValueError:  # relative and absolute paths mixed
            self.common = ""
        self._shown = {p: self.show(p) for p in paths}
        self._stored = {shown: p for p, shown in self._shown.items()}

    def _uploaded(self, path: str) -> bool:
        folder = os.path.dirname(path)  # the upload folder, or a collection's under .collections/
        return folder == self.uploads or os.path.dirname(folder) == os.path.join(self.uploads, ".collections")

    def show(self, path: str) -> str:
        if self._uploaded(path):
            folder = os.path.dirname(path)  # a collection's upload is shown as COLLECTION/NAME: two may hold one name
            return os.path.basename(path) if folder == self.uploads else f"{os.path.basename(folder)}/{os.path.basename(path)}"
        if self.common and (path == self.common or path.startswith(self.common.rstrip(os.sep) + os.sep)):
            return os.path.relpath(path, self.common)
        return os.path.basename(path)

    def resolve(self, given: Sequence[str] | None) -> list[str] | None:
        """Filters as the service reads them: a shown name becomes its stored path; ids and stored paths pass."""
        if not given:
            return None
        return [self._stored.get(g, g) for g in given]

    def public(self, answer: dict[str, Any]) -> dict[str, Any]:
        """An answer's JSON (``Answer.to_dict``) with its citations' and passages' sources shown by name."""
        for key in ("citations", "passages"):
            for item in answer.get(key) or ():
                item["source"] = self.show(item["source"])
        return answer
