"""eval: offline evaluation suites over JSONL datasets.

- ``eval.dataset``: the dataset format (docs/evaluation-format.md), loading and writing, with
  ``eval.dataset_types`` (the frozen rows and corpus specs), ``eval.dataset_parse`` (strict
  parsing and its messages) and ``eval.corpus`` (corpus manifests, inline documents on disk);
- ``eval.importers``: SQuAD-format files (XQuAD, CMRC2018), HaluEval QA, CSV, one module each
  (``eval.importer_squad``, ``eval.importer_halueval``, ``eval.importer_csv``, shared helpers in
  ``eval.importer_common``);
- ``eval.metrics``: one module per metric family (retrieval, correctness, faithfulness,
  citations, abstention), each returning ``MetricResult`` with its steps, NaN with a reason;
- ``eval.runner``: asks every question through a ``rag.service.QAService`` and scores it;
- ``eval.report``: the report as frozen dataclasses (``Report``, ``Row``, ``Summary``, ...), with
  ``to_dict``/``from_dict`` for ``report.json``: what the runner builds, ``compare`` and the page read;
- ``eval.report_html`` (with ``report_rows``, ``report_charts``, ``report_format``,
  ``report_assets``; its CSS and JS in ``eval/static``), ``eval.compare``, ``eval.thresholds``, ``eval.stats``: reports,
  comparisons, ``--fail-under`` gates, percentiles, bootstrap intervals and AUROC.

The faithfulness judging itself lives in the core (``rag.checking``): the LLM generator
checks every answer with the same code before releasing it. This package imports ``rag`` only
(its errors, ``DatasetError`` and the rest of the eval branch, live in ``rag.errors``).
"""

__all__: list[str] = []
