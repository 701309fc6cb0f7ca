"""The evaluation report as frozen dataclasses: what the runner builds, ``compare`` reads and the
HTML page renders.

:meth:`Report.to_dict` gives exactly the structure of ``report.json`` (same keys, same order, lists
for tuples), and :meth:`Report.from_dict` reads such a structure back, raising
:class:`ReportFormatError` with the path of the first key that is missing or of the wrong type.
``config``, ``versions`` and a row's ``steps`` are free-form (what produced the figures, and how
each metric was computed) and stay plain mappings.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eval.stats import percentile

__all__ = [
    "REPORT_VERSION",
    "Citation",
    "DatasetInfo",
    "Latency",
    "Report",
    "ReportFormatError",
    "Retrieved",
    "Row",
    "Statement",
    "Summary",
    "ThresholdOutcome",
]

REPORT_VERSION = 1

_T = TypeVar("_T")


class ReportFormatError(ValueError):
    """A mapping that is not a ``report.json`` structure; the message names the offending key."""


def _get(data: Mapping[str, Any], key: str, kind: type[_T] | tuple[type, ...], where: str, *, optional: bool = False) -> Any:
    """``data[key]`` checked against ``kind`` (None allowed when ``optional``); ints count as floats."""
    if key not in data:
        raise ReportFormatError(f"{where}.{key} is missing")
    value = data[key]
    if value is None and optional:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ReportFormatError(f"{where}.{key} should be {' or '.join(k.__name__ for k in kinds)}, got {type(value).__name__}")
    return value


def _mapping(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ReportFormatError(f"{where} should be an object, got {type(data).__name__}")
    return data


def _items(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    return [_mapping(item, f"{where}.{key}[{i}]") for i, item in enumerate(_get(data, key, list, where))]


@dataclass(frozen=True)
class Citation:
    """A cited span of an answer: its marker, source, character offsets, text and retrieval score."""

    marker: int
    source: str
    start: int
    end: int
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The ``rows[*].citations[*]`` object."""
        return {"marker": self.marker, "source": self.source, "start": self.start, "end": self.end, "text": self.text, "score": self.score}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "citation") -> Citation:
        """Read a ``rows[*].citations[*]`` object."""
        return cls(_get(data, "marker", int, where), _get(data, "source", str, where), _get(data, "start", int, where),
                   _get(data, "end", int, where), _get(data, "text", str, where), _get(data, "score", float, where))


@dataclass(frozen=True)
class Retrieved:
    """One of the (at most 10) distinct sources ranked for a question, and whether it is gold."""

    source: str
    rank: int
    relevant: bool

    def to_dict(self) -> dict[str, Any]:
        """The ``rows[*].retrieved[*]`` object."""
        return {"source": self.source, "rank": self.rank, "relevant": self.relevant}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "retrieved") -> Retrieved:
        """Read a ``rows[*].retrieved[*]`` object."""
        return cls(_get(data, "source", str, where), _get(data, "rank", int, where), _get(data, "relevant", bool, where))


@dataclass(frozen=True)
class Statement:
    """One statement of an answer: whether the passages support it, how strongly, why, and what it cites.

    ``supported`` is None when the judge gave no verdict; ``score`` may be NaN in memory (None in the file).
    """

    text: str
    supported: bool | None
    score: float | None
    reason: str
    citations: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``rows[*].statements[*]`` object (the shape of ``eval.metrics.faithfulness.verdict_dict``)."""
        return {"text": self.text, "supported": self.supported, "score": self.score, "reason": self.reason, "citations": list(self.citations)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "statement") -> Statement:
        """Read a ``rows[*].statements[*]`` object."""
        markers = _get(data, "citations", list, where)
        return cls(_get(data, "text", str, where), _get(data, "supported", bool, where, optional=True),
                   _get(data, "score", float, where, optional=True), _get(data, "reason", str, where), tuple(markers))


@dataclass(frozen=True)
class Row:
    """One question's record: the answer, what backs it, every metric and why the row failed.

    A question the service refused carries ``error`` and no answer: its file record then has only
    ``id``, ``user_input``, ``answerable``, ``reference``, ``error``, ``metrics``, ``nan_reasons``,
    ``failures`` and ``latency_ms`` (None), and ``abstained``, ``answer`` and ``generator`` are None here.
    """

    id: str
    user_input: str
    answerable: bool
    reference: tuple[str, ...]
    metrics: dict[str, float | None]
    nan_reasons: dict[str, str]
    failures: tuple[str, ...]
    latency_ms: float | None
    error: str | None = None
    reference_sources: tuple[str, ...] = ()
    answer: str | None = None
    abstained: bool | None = None
    abstain_reason: str | None = None
    generator: str | None = None
    support: float | None = None
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[Retrieved, ...] = ()
    statements: tuple[Statement, ...] = ()
    steps: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``rows[*]`` object, keys in the order the runner has always written them."""
        head = {"id": self.id, "user_input": self.user_input, "answerable": self.answerable, "reference": list(self.reference)}
        if self.error is not None:
            return {**head, "error": self.error, "metrics": dict(self.metrics), "nan_reasons": dict(self.nan_reasons),
                    "failures": list(self.failures), "latency_ms": self.latency_ms}
        return {
            **head,
            "reference_sources": list(self.reference_sources),
            "answer": self.answer,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "generator": self.generator,
            "support": self.support,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [r.to_dict() for r in self.retrieved],
            "statements": [s.to_dict() for s in self.statements],
            "metrics": dict(self.metrics),
            "nan_reasons": dict(self.nan_reasons),
            "steps": dict(self.steps),
            "failures": list(self.failures),
            "latency_ms": self.latency_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "row") -> Row:
        """Read a ``rows[*]`` object (an answered row, or a refused one with ``error``)."""
        metrics = _mapping(_get(data, "metrics", dict, where), f"{where}.metrics")
        common: dict[str, Any] = {
            "id": _get(data, "id", str, where),
            "user_input": _get(data, "user_input", str, where),
            "answerable": _get(data, "answerable", bool, where),
            "reference": tuple(str(r) for r in _get(data, "reference", list, where)),
            "metrics": {str(k): _get(metrics, k, float, f"{where}.metrics", optional=True) for k in metrics},
            "nan_reasons": {str(k): str(v) for k, v in _get(data, "nan_reasons", dict, where).items()},
            "failures": tuple(str(f) for f in _get(data, "failures", list, where)),
            "latency_ms": _get(data, "latency_ms", float, where, optional=True),
        }
        if "error" in data:
            return cls(**common, error=_get(data, "error", str, where))
        return cls(
            **common,
            reference_sources=tuple(str(s) for s in _get(data, "reference_sources", list, where)),
            answer=_get(data, "answer", str, where),
            abstained=_get(data, "abstained", bool, where),
            abstain_reason=_get(data, "abstain_reason", str, where, optional=True),
            generator=_get(data, "generator", str, where),
            support=_get(data, "support", float, where, optional=True),
            citations=tuple(Citation.from_dict(c, f"{where}.citations[{i}]") for i, c in enumerate(_items(data, "citations", where))),
            retrieved=tuple(Retrieved.from_dict(r, f"{where}.retrieved[{i}]") for i, r in enumerate(_items(data, "retrieved", where))),
            statements=tuple(Statement.from_dict(s, f"{where}.statements[{i}]") for i, s in enumerate(_items(data, "statements", where))),
            steps=dict(_get(data, "steps", dict, where)),
        )


@dataclass(frozen=True)
class Summary:
    """One metric over the run: the mean of the scorable rows (None when none), its bootstrap 95 %
    interval (None with fewer than 2 rows), rows scored (``n``), rows not scorable (``nan``)."""

    value: float | None
    ci: tuple[float, float] | None
    n: int
    nan: int
    description: str

    def to_dict(self) -> dict[str, Any]:
        """The ``summary[metric]`` object."""
        return {"value": self.value, "ci": None if self.ci is None else list(self.ci), "n": self.n, "nan": self.nan, "description": self.description}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "summary") -> Summary:
        """Read a ``summary[metric]`` object."""
        ci = _get(data, "ci", list, where, optional=True)
        if ci is not None and (len(ci) != 2 or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in ci)):
            raise ReportFormatError(f"{where}.ci should be two numbers, got {ci!r}")
        return cls(_get(data, "value", float, where, optional=True), None if ci is None else (float(ci[0]), float(ci[1])),
                   _get(data, "n", int, where), _get(data, "nan", int, where), _get(data, "description", str, where))


@dataclass(frozen=True)
class Latency:
    """Percentiles of the timed rows' latencies, in milliseconds, rounded to 0.01 ms."""

    p50: float
    p95: float
    mean: float
    max: float

    @classmethod
    def of(cls, latencies: Sequence[float]) -> Latency | None:
        """The figures for these latencies; None when there are none."""
        if not latencies:
            return None
        return cls(round(percentile(latencies, 0.5), 2), round(percentile(latencies, 0.95), 2),
                   round(statistics.fmean(latencies), 2), round(max(latencies), 2))

    def to_dict(self) -> dict[str, float]:
        """The ``latency_ms`` object."""
        return {"p50": self.p50, "p95": self.p95, "mean": self.mean, "max": self.max}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "latency_ms") -> Latency:
        """Read a (non-empty) ``latency_ms`` object."""
        return cls(*(_get(data, k, float, where) for k in ("p50", "p95", "mean", "max")))


@dataclass(frozen=True)
class ThresholdOutcome:
    """One ``--fail-under`` gate as the report records it: ``value`` None when the metric was NaN."""

    metric: str
    minimum: float
    value: float | None
    passed: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``thresholds[*]`` object (``reason`` only when there is one)."""
        return {"metric": self.metric, "minimum": self.minimum, "value": self.value, "passed": self.passed, **({"reason": self.reason} if self.reason else {})}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "threshold") -> ThresholdOutcome:
        """Read a ``thresholds[*]`` object."""
        reason = _get(data, "reason", str, where) if "reason" in data else None
        return cls(_get(data, "metric", str, where), _get(data, "minimum", float, where),
                   _get(data, "value", float, where, optional=True), _get(data, "passed", bool, where), reason)


@dataclass(frozen=True)
class DatasetInfo:
    """Which dataset file was run: its path, name, row count and SHA-256 (None when unreadable)."""

    path: str
    name: str
    rows: int
    sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        """The ``dataset`` object."""
        return {"path": self.path, "name": self.name, "rows": self.rows, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "dataset") -> DatasetInfo:
        """Read the ``dataset`` object."""
        return cls(_get(data, "path", str, where), _get(data, "name", str, where), _get(data, "rows", int, where),
                   _get(data, "sha256", str, where, optional=True))


@dataclass(frozen=True)
class Report:
    """A whole evaluation run: what ``report.json`` holds (``latency_ms`` None is written as ``{}``)."""

    dataset: DatasetInfo
    created: str
    duration_s: float
    config: dict[str, Any]
    versions: dict[str, str]
    summary: dict[str, Summary]
    latency_ms: Latency | None
    thresholds: tuple[ThresholdOutcome, ...]
    passed: bool
    rows: tuple[Row, ...]
    rag_eval_report: int = REPORT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The ``report.json`` structure, exactly as the runner has always written it."""
        return {
            "rag_eval_report": self.rag_eval_report,
            "dataset": self.dataset.to_dict(),
            "created": self.created,
            "duration_s": self.duration_s,
            "config": dict(self.config),
            "versions": dict(self.versions),
            "summary": {name: s.to_dict() for name, s in self.summary.items()},
            "latency_ms": {} if self.latency_ms is None else self.latency_ms.to_dict(),
            "thresholds": [t.to_dict() for t in self.thresholds],
            "passed": self.passed,
            "rows": [r.to_dict() for r in self.rows],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Read a ``report.json`` structure; :class:`ReportFormatError` names the first bad key."""
        where = "report"
        data = _mapping(data, where)
        summary = _get(data, "summary", dict, where)
        latency = _get(data, "latency_ms", dict, where)
        return cls(
            rag_eval_report=_get(data, "rag_eval_report", int, where),
            dataset=DatasetInfo.from_dict(_mapping(_get(data, "dataset", dict, where), "dataset")),
            created=_get(data, "created", str, where),
            duration_s=_get(data, "duration_s", float, where),
            config=dict(_get(data, "config", dict, where)),
            versions={str(k): str(v) for k, v in _get(data, "versions", dict, where).items()},
            summary={str(k): Summary.from_dict(_mapping(v, f"summary[{k!r}]"), f"summary[{k!r}]") for k, v in summary.items()},
            latency_ms=Latency.from_dict(latency) if latency else None,
            thresholds=tuple(ThresholdOutcome.from_dict(t, f"thresholds[{i}]") for i, t in enumerate(_items(data, "thresholds", where))),
            passed=_get(data, "passed", bool, where),
            rows=tuple(Row.from_dict(r, f"rows[{i}]") for i, r in enumerate(_items(data, "rows", where))),
        )
