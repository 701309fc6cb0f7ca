"""Importers: public QA datasets and spreadsheets turned into our dataset format.

Each importer reads one source file and returns ``(header, rows)``: the header dict of
the dataset file (name, description, corpus, provenance with the source's sha256) and
the :class:`~eval.dataset.EvalRow` list. :func:`write_import` writes them as JSONL.

- :func:`import_squad`: SQuAD v1.1 JSON (XQuAD, CMRC2018); every paragraph becomes an
  inline document, every question a row.
- :func:`import_halueval`: HaluEval QA JSONL; every knowledge text becomes a document.
- :func:`import_csv`: a CSV with a header row (question, answer, context, source, ...).

The importers live in one module each (:mod:`eval.importer_squad`, :mod:`eval.importer_halueval`,
:mod:`eval.importer_csv`, sharing :mod:`eval.importer_common`); they are all importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.dataset import EvalRow, write_dataset
from eval.importer_csv import ANSWER_SEPARATOR, CSV_COLUMNS, import_csv
from eval.importer_halueval import import_halueval
from eval.importer_squad import import_squad

__all__ = [
    "ANSWER_SEPARATOR",
    "CSV_COLUMNS",
    "import_csv",
    "import_halueval",
    "import_squad",
    "write_import",
]


def write_import(path_out: Path | str, header: dict[str, Any], rows: Sequence[EvalRow]) -> None:
    """Write an importer's result as a dataset file (atomically, see :func:`~eval.dataset.write_dataset`)."""
    write_dataset(path_out, rows, header)
