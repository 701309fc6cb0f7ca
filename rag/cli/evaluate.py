"""Evaluation commands: ``rag eval`` (run, import, compare); ``rag check`` is in :mod:`rag.cli.check`.

They import ``eval`` and ``ingest`` inside the commands, so ``rag --help`` stays instant.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rag.cli.check import judge_for
from rag.cli.common import Context, print_report, run_ingest

if TYPE_CHECKING:
    from eval.dataset import EvalDataset

__all__ = ["eval_group"]

EXIT_BELOW_THRESHOLD = 3


class _DefaultRun(click.Group):
    """``rag eval DATASET ...`` means ``rag eval run DATASET ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("eval", cls=_DefaultRun)
def eval_group() -> None:
    """Evaluate the pipeline on a JSONL dataset: retrieval, answers, faithfulness, citations, abstention.

    \b
      rag eval DATASET [--index DIR] [--out DIR] [--fail-under faithfulness=0.9,...]
      rag eval import squad|halueval|csv FILE -o DATASET.jsonl
      rag eval compare A/report.json B/report.json

    The dataset format is documented in docs/evaluation-format.md.
    """


def _metric_names() -> list[str]:
    from eval.runner import METRICS

    return list(METRICS)


def _default_index(dataset: EvalDataset, settings_index: Path) -> Path:
    return settings_index if dataset.corpus is None else Path("rag-eval-index") / dataset.name


def _prepare_index(obj: Context, dataset: EvalDataset, index_dir: Path, corpus_dir: Path | None, quiet: bool) -> None:
    """Ingest the dataset's corpus into ``index_dir`` (incremental: unchanged files are no-ops)."""
    from eval.dataset import materialize_corpus

    if dataset.corpus is None:
        if not (index_dir / "CURRENT").exists():
            raise click.ClickException(
                f"the dataset names no corpus and there is no index at {index_dir}: give --corpus PATH or --index DIR"
            )
        return
    if dataset.corpus.documents:
        folder = corpus_dir or index_dir.with_name(index_dir.name + ".corpus")
        paths = materialize_corpus(dataset.corpus, folder)
        paths = [folder.resolve()] if paths else []
    else:
        paths = list(dataset.corpus.paths)
    with obj.factory(index_dir=index_dir) as factory:
        report = run_ingest(factory, paths, sync=bool(dataset.corpus.documents), as_json=quiet)
    if not quiet:
        print_report(report, index_dir, verb="Corpus ingested")
    if report.skipped and not quiet:
        click.echo(f"  note: {len(report.skipped)} corpus file(s) skipped; their questions cannot be answered", err=True)


def _summary_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"{report['dataset']['name']}: {report['dataset']['rows']} rows in {report['duration_s']:.1f} s"]
    for name, s in report["summary"].items():
        value = "  n/a" if s["value"] is None else f"{s['value']:.3f}"
        ci = "" if not s["ci"] else f"  [{s['ci'][0]:.3f}, {s['ci'][1]:.3f}]"
        lines.append(f"  {name:24} {value}{ci}  (n={s['n']})")
    if report["latency_ms"]:
        lat = report["latency_ms"]
        lines.append(f"  {'latency ms':24} p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  max {lat['max']:.1f}")
    for t in report["thresholds"]:
        shown = "n/a" if t["value"] is None else f"{t['value']:.3f}"
        lines.append(f"  {'PASS' if t['passed'] else 'FAIL'} {t['metric']} {shown} >= {t['minimum']}")
    return lines


@eval_group.command("run")
@click.argument("dataset_path", metavar="DATASET", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--index", "index_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Index to answer from; the dataset's corpus is ingested into it first (default: rag-eval-index/<dataset name> when the dataset names a corpus, else setting index_dir).")
@click.option("--corpus", "corpus", multiple=True, type=click.Path(path_type=Path), help="Corpus files or folders (instead of the one the dataset names); repeatable.")
@click.option("--corpus-dir", type=click.Path(path_type=Path, file_okay=False), default=None, help="Where inline corpus documents are written (default: <index>.corpus beside the index).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("eval-report"), show_default=True, help="Folder for report.json and report.html.")
@click.option("--generator", type=click.Choice(["extractive", "openai", "gguf"]), default=None, help="Who writes the answers (default: setting generator, extractive); openai/gguf use the llm_*/gguf_* settings.")
@click.option("-k", "--top-k", type=click.IntRange(1, 100), default=None, help="Passages the answer is drawn from (default: setting top_k, 5).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N rows.")
@click.option("--fail-under", default=None, help="Comma-separated metric=fraction minimums, e.g. faithfulness=0.9,ndcg@10=0.95; exit status 3 when one falls short.")
@click.option("--judge", "judge_kind", type=click.Choice(["offline", "learned", "llm", "nli"]), default=None,
              help="Who judges faithfulness and citations (default: setting judge, offline): the offline checker, a learned judge "
              "trained by training/ (--judge-model DIR), the configured language model (llm_* / gguf_* settings), or an NLI cross-encoder (--judge-model).")
@click.option("--judge-model", default=None, help="With --judge nli: a local folder holding a Hugging Face NLI cross-encoder, or a cached model name; "
              "with --judge learned: the folder training/train_judge.py wrote (setting judge_model).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (report.json's summary, thresholds, passed) instead of text.")
@click.pass_obj
def run(
    obj: Context,
    dataset_path: Path,
    index_dir: Path | None,
    corpus: tuple[Path, ...],
    corpus_dir: Path | None,
    out_dir: Path,
    generator: str | None,
    top_k: int | None,
    limit: int | None,
    fail_under: str | None,
    judge_kind: str | None,
    judge_model: str | None,
    as_json: bool,
) -> None:
    """Answer every question of DATASET and score it; write report.json and report.html.

    Metrics are fractions 0-1: hit@1, hit@5, mrr, ndcg@10, exact_match, f1, answer_contains,
    faithfulness, citation_recall, citation_precision, abstention_accuracy,
    abstain_on_unanswerable, answer_on_answerable; plus latency per question. Exit status: 0,
    or 3 when a --fail-under minimum is not met (1 for errors).
    """
    from dataclasses import replace

    from tqdm import tqdm

    from eval.dataset import load_dataset
    from eval.report_html import write_report_html
    from eval.runner import build_report, run_rows
    from eval.thresholds import parse_fail_under
    from rag.checking import FaithfulnessChecker

    thresholds = parse_fail_under(fail_under, _metric_names()) if fail_under else {}
    dataset = load_dataset(dataset_path, list(corpus) or None)
    if limit is not None:
        dataset = replace(dataset, rows=dataset.rows[:limit])
    base = obj.settings(top_k=top_k, generator=generator)
    index = index_dir or _default_index(dataset, base.index_dir)
    _prepare_index(obj, dataset, index, corpus_dir, quiet=as_json)
    factory = obj.factory(index_dir=index, top_k=top_k, generator=generator, judge_model=judge_model)
    settings = factory.settings
    with factory:
        service = factory.service()
        checker = FaithfulnessChecker(judge_for(factory, judge_kind or settings.judge))
        started = time.perf_counter()
        bar = tqdm(total=len(dataset.rows), unit="question", desc="evaluating", disable=True if as_json else None, file=sys.stderr, dynamic_ncols=True)
        def answered(n: int) -> None:
            bar.update(n)

        try:
            rows = run_rows(dataset, service, checker, top_k=settings.top_k, progress=answered)
        finally:
            bar.close()
    config = {
        "generator": service.generator.name,
        "judge": checker.judge.name,
        "embedder": service.snapshot.embedder.describe(),
        "top_k": settings.top_k,
        "index": str(index),
        "index_version": service.snapshot.version,
        "retriever": type(service.retriever).__name__,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
    }
    report = build_report(dataset, rows, config=config, thresholds=thresholds, duration_s=time.perf_counter() - started)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(report, out_dir / "report.json")
    write_report_html(report, out_dir / "report.html")
    if as_json:
        click.echo(json.dumps({k: report[k] for k in ("dataset", "summary", "latency_ms", "thresholds", "passed")}, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(_summary_lines(report)))
        click.echo(f"Report: {out_dir / 'report.json'}, {out_dir / 'report.html'}")
    if not report["passed"]:
        sys.exit(EXIT_BELOW_THRESHOLD)


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(v) for v in value]
    return value


def _write_json(data: Any, path: Path) -> None:
    from rag.files import atomic_write

    atomic_write(path, json.dumps(_nan_to_none(data), ensure_ascii=False, indent=2, allow_nan=False) + "\n")


@eval_group.group("import")
def import_group() -> None:
    """Convert public datasets to the evaluation format (docs/evaluation-format.md)."""


_out_option = click.option("-o", "--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Dataset file to write (JSONL).")


def _write_imported(header: dict[str, Any], rows: list[Any], out_path: Path) -> None:
    from eval.importers import write_import

    write_import(out_path, header, rows)
    unanswerable = sum(1 for r in rows if not r.answerable)
    documents = len(header.get("corpus", {}).get("documents", []))
    click.echo(f"Wrote {out_path}: {len(rows)} rows ({unanswerable} unanswerable), {documents} corpus documents")


@import_group.command("squad")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_out_option
@click.option("--name", default=None, help="Dataset name (default: the file's stem).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N questions (all passages are kept as distractors).")
@click.option("--unanswerable-from", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="Another SQuAD file whose questions are added as unanswerable rows.")
@click.option("--unanswerable", type=click.IntRange(0), default=0, show_default=True, help="How many such questions (sampled with --seed).")
@click.option("--seed", type=int, default=0, show_default=True)
def import_squad_command(path: Path, out_path: Path, name: str | None, limit: int | None, unanswerable_from: Path | None, unanswerable: int, seed: int) -> None:
    """SQuAD v1.1 JSON (XQuAD, CMRC2018): each paragraph a corpus document, each question a row."""
    from eval.importers import import_squad

    if unanswerable and unanswerable_from is None:
        raise click.UsageError("--unanswerable N needs --unanswerable-from FILE")
    header, rows = import_squad(path, name=name, limit=limit, unanswerable_from=unanswerable_from, unanswerable=unanswerable, seed=seed)
    _write_imported(header, rows, out_path)


@import_group.command("halueval")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_out_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N rows.")
def import_halueval_command(path: Path, out_path: Path, limit: int | None) -> None:
    """HaluEval QA JSONL: each row's knowledge a document, its right answer the reference."""
    from eval.importers import import_halueval

    header, rows = import_halueval(path, limit=limit)
    _write_imported(header, rows, out_path)


@import_group.command("csv")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_out_option
@click.option("--delimiter", default=",", show_default=True)
def import_csv_command(path: Path, out_path: Path, delimiter: str) -> None:
    """CSV with columns question, answer (alternatives separated by ' || '), context, source, answerable, id."""
    from eval.importers import import_csv

    header, rows = import_csv(path, delimiter=delimiter)
    _write_imported(header, rows, out_path)


@eval_group.command("compare")
@click.argument("before", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("after", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(before: Path, after: Path, as_json: bool) -> None:
    """What got better and worse from report BEFORE to report AFTER: per metric and per question."""
    from eval.compare import compare_reports, format_comparison, read_report

    result = compare_reports(read_report(before), read_report(after))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(format_comparison(result))
