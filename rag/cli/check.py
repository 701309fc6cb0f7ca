"""``rag check``: is an answer supported by its passages? One answer (``--context``/``--answer``), or
a JSONL file of them in one process (``--batch``).

It imports ``ingest`` and the checker inside the command, so ``rag --help`` stays instant.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from rag.cli.common import Context
from rag.errors import RAGError

if TYPE_CHECKING:
    from rag.checking import FaithfulnessChecker, Judge
    from rag.cli.factory import Factory

__all__ = ["EXIT_BAD_ROWS", "EXIT_UNSUPPORTED", "check", "check_row", "judge_for"]

EXIT_UNSUPPORTED = 3  # as rag eval's --fail-under
EXIT_BAD_ROWS = 2  # a malformed --batch row (wins over 3)


def judge_for(factory: Factory, kind: str, *, similarity: bool = False) -> Judge:
    """The judge the command asked for; --judge llm without a language model is a usage error."""
    if kind == "llm" and factory.settings.generator == "extractive":
        raise click.UsageError("--judge llm needs a language model: --generator openai (with --llm-base-url, --llm-model) or gguf (with --gguf)")
    if kind == "nli" and not factory.settings.judge_model:
        raise click.UsageError("--judge nli needs a model: --judge-model NAME_OR_PATH (a local Hugging Face NLI cross-encoder)")
    return factory.judge(kind, similarity=similarity)


def _judge_options(command: Any) -> Any:
    """--judge and the language model to judge with (rag check)."""
    options = [
        click.option("--judge", "judge_kind", type=click.Choice(["offline", "learned", "llm", "nli"]), default=None,
                     help="offline: the lexical checker (no model). learned: the lexical checker, then a cross-encoder trained by "
                     "training/ for the statements it rejects only for want of the same words (--judge-model DIR; none is shipped). llm: the configured language model judges each statement. nli: an NLI cross-encoder "
                     "(--judge-model). Default: setting judge, offline."),
        click.option("--judge-model", default=None,
                     help="With --judge nli: a local folder holding a Hugging Face NLI or hallucination-detection cross-encoder, or a name in the local cache. "
                     "With --judge learned: the folder training/train_judge.py wrote."),
        click.option("--generator", type=click.Choice(["openai", "gguf"]), default=None, help="With --judge llm: which model backend (default: setting generator)."),
        click.option("--llm-base-url", default=None, help="With --judge llm: OpenAI-compatible server."),
        click.option("--llm-model", default=None, help="With --judge llm: model name on that server."),
        click.option("--gguf", "gguf_path", type=click.Path(path_type=Path, dir_okay=False), default=None, help="With --judge llm: local GGUF file."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("check")
@click.option("--context", "contexts", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A passage the answer rests on (a text file); repeatable: markers [1], [2]... point at them in order.")
@click.option("--answer", default=None, help="The answer to check (markers [n] optional).")
@click.option("--batch", "batch", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default=None,
              help="Check every row of a JSONL file ('-': standard input) in one process: rows {id, answer, passages: [str], question?}; "
              "one JSON line per row on stdout, in input order.")
@click.option("--question", default=None, help="The question it answers (its words are not counted as the answer's evidence).")
@click.option("--similarity", is_flag=True, help="Also weigh the embedder's statement-passage similarity (loads the model; measured no better on the validation sets, see BENCHMARKS.md).")
@_judge_options
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@click.pass_obj
def check(
    obj: Context,
    contexts: tuple[Path, ...],
    answer: str | None,
    batch: Path | None,
    question: str | None,
    similarity: bool,
    judge_kind: str | None,
    judge_model: str | None,
    generator: str | None,
    llm_base_url: str | None,
    llm_model: str | None,
    gguf_path: Path | None,
    as_json: bool,
) -> None:
    """Check an answer against its sources: each statement supported or not, with the reason.

    \b
    One answer:  rag check --context a.txt --context b.txt --answer "..." [--question "..."]
    Many:        rag check --batch rows.jsonl > verdicts.jsonl
                 each row {"id", "answer", "passages": ["...", ...], "question"?}; each output line
                 {"id", "supported", "score" (lowest statement support, null without statements),
                 "faithfulness" (share of statements supported), "statements": [...], "skipped": [...]},
                 or {"id", "error"} for a malformed row (the others are still checked).

    Exit status 0 when every statement is supported, 3 when one is not, 2 when a --batch row
    was malformed (2 wins over 3).
    """
    from ingest.loaders import extract_document, read_source
    from rag.checking import FaithfulnessChecker

    if batch is not None and (contexts or answer is not None):
        raise click.UsageError("--batch checks the answers in its file: give it without --context and --answer")
    if batch is None and (not contexts or answer is None):
        raise click.UsageError("give --context FILE (repeatable) and --answer TEXT, or --batch FILE.jsonl")
    factory = obj.factory(generator=generator, llm_base_url=llm_base_url, llm_model=llm_model, gguf_path=gguf_path, judge_model=judge_model)
    judge_kind = judge_kind or factory.settings.judge
    if batch is not None:
        with factory:
            checker = FaithfulnessChecker(judge_for(factory, judge_kind, similarity=similarity))
            sys.exit(_check_batch(checker, batch))
    assert answer is not None
    passages = []
    for path in contexts:
        data = read_source(path, max_bytes=factory.settings.max_file_bytes)
        passages.append(extract_document(path, data).text)
    with factory:
        checker = FaithfulnessChecker(judge_for(factory, judge_kind, similarity=similarity))
        result = checker.check(answer, passages, question)
        cited = {n: text for n, text in enumerate(passages, start=1)}
        citation_verdicts = checker.check_cited(answer, cited, question)
    rows = []
    for verdict, (_statement, cited_verdict) in zip(result.verdicts, citation_verdicts):
        rows.append({
            "text": verdict.statement.text,
            "citations": list(verdict.statement.markers),
            "supported": verdict.supported,
            "score": round(verdict.score, 4),
            "reason": verdict.reason,
            "supported_by_citations": None if cited_verdict is None else cited_verdict.supported,
        })
    score = None if math.isnan(result.score) else round(result.score, 4)
    skipped = [s.to_dict() for s in result.skipped]
    if as_json:
        click.echo(json.dumps({"faithfulness": score, "reason": result.reason, "judge": result.judge, "statements": rows, "skipped": skipped},
                              ensure_ascii=False, indent=2))
    else:
        if score is None:
            click.echo(f"faithfulness: n/a ({result.reason})")
        else:
            click.echo(f"faithfulness: {score:.2f} ({result.supported} of {len(result.verdicts)} statements supported; judge: {result.judge})")
        for n, row in enumerate(rows, start=1):
            mark = "✓" if row["supported"] else "✗"
            click.echo(f"  {mark} {n}. {row['text']}")
            click.echo(f"       {row['reason']}")
            if row["supported_by_citations"] is False:
                click.echo(f"       its citations {row['citations']} alone do not support it")
        for item in skipped:
            click.echo(f"  - not judged ({item['reason']}): {item['text']}")
    if score is not None and score < 1.0:
        sys.exit(EXIT_UNSUPPORTED)


def check_row(checker: FaithfulnessChecker, row: object, line: int) -> dict[str, Any]:
    """One --batch row checked (or its error): the output object of the command's help."""
    if not isinstance(row, dict):
        return {"id": line, "error": f"line {line}: a row must be a JSON object"}
    row_id = row.get("id", line)
    answer, passages, question = row.get("answer"), row.get("passages"), row.get("question")
    problem = None
    if not isinstance(answer, str):
        problem = "'answer' must be a string"
    elif not isinstance(passages, list) or not all(isinstance(p, str) for p in passages):
        problem = "'passages' must be a list of strings"
    elif question is not None and not isinstance(question, str):
        problem = "'question' must be a string when given"
    elif not isinstance(row_id, str | int) or isinstance(row_id, bool):
        problem = "'id' must be a string or an integer"
    if problem is not None:
        return {"id": row_id if isinstance(row_id, str | int) and not isinstance(row_id, bool) else line, "error": f"line {line}: {problem}"}
    assert isinstance(answer, str) and isinstance(passages, list)  # checked above (for mypy)
    try:
        result = checker.check(answer, passages, question if isinstance(question, str) else None)
    except RAGError:
        raise  # a model that cannot be loaded or reached: the whole run stops with one clear error
    except Exception as exc:  # noqa: BLE001  # one row that breaks the checker must not stop the other rows
        return {"id": row_id, "error": f"line {line}: could not be checked ({type(exc).__name__}: {exc})"}
    statements = [{"text": v.statement.text, "supported": v.supported, "score": round(v.score, 4), "reason": v.reason} for v in result.verdicts]
    return {
        "id": row_id,
        "supported": all(v.supported for v in result.verdicts),
        "score": min(round(v.score, 4) for v in result.verdicts) if result.verdicts else None,
        "faithfulness": None if math.isnan(result.score) else round(result.score, 4),
        "statements": statements,
        "skipped": [s.to_dict() for s in result.skipped],
    }


def _numbered(stream: TextIO) -> Iterator[tuple[int, str]]:
    return ((n, text) for n, text in enumerate(stream, start=1) if text.strip())


def _lines(batch: Path) -> Iterator[tuple[int, str]]:
    if str(batch) == "-":
        yield from _numbered(sys.stdin)
        return
    try:
        with batch.open(encoding="utf-8") as stream:
            yield from _numbered(stream)
    except FileNotFoundError:
        raise click.BadParameter(f"no such file: {batch}", param_hint="--batch") from None
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{batch} is not UTF-8 text ({exc.reason} at byte {exc.start})", param_hint="--batch") from None


def _check_batch(checker: FaithfulnessChecker, batch: Path) -> int:
    """Check every row, one output line each as it is done; the exit status."""
    from tqdm import tqdm

    bad = unsupported = 0
    with tqdm(unit="row", desc="checking", file=sys.stderr, dynamic_ncols=True) as bar:
        for line, text in _lines(batch):
            try:
                row: object = json.loads(text)
            except ValueError as exc:
                out: dict[str, Any] = {"id": line, "error": f"line {line}: not valid JSON ({exc})"}
            else:
                out = check_row(checker, row, line)
            bad += "error" in out
            unsupported += out.get("supported") is False
            click.echo(json.dumps(out, ensure_ascii=False))
            bar.update(1)
    return EXIT_BAD_ROWS if bad else EXIT_UNSUPPORTED if unsupported else 0
