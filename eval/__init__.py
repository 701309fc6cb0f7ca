"""eval: offline evaluation suites over JSONL datasets.

- ``eval.dataset``: the dataset format (docs/evaluation-format.md), loading and writing;
- ``eval.importers``: SQuAD-format files (XQuAD, CMRC2018), HaluEval QA, CSV;
- ``eval.metrics``: one module per metric family (retrieval, correctness, faithfulness,
  citations, abstention), each returning ``MetricResult`` with its steps, NaN with a reason;
- ``eval.runner``: asks every question through a ``rag.service.QAService`` and scores it;
- ``eval.report_html``, ``eval.compare``, ``eval.thresholds``, ``eval.stats``: reports,
  comparisons, ``--fail-under`` gates, bootstrap intervals and AUROC.

The faithfulness judging itself lives in the core (``rag.faithfulness``): the LLM generator
checks every answer with the same code before releasing it. This package imports ``rag`` only.
"""

__all__: list[str] = []
