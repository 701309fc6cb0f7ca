"""The LLM path on real model answers: how well the sentence check catches what the passages do
not support, and how fast the local model answers.

**Checker quality** (no model needed, about a second): ``benchmarks/data/llm_answers_labelled.jsonl``
holds replies of the local model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M) to questions on the
sample corpus and on XQuAD zh passages, with the five passages each was written from, every
sentence labelled by hand (1: the passages support it; 0: they do not; see
``benchmarks/data/README.md``). Each stored reply is checked exactly as the pipeline checks it:
``rag.answering.generation.check_reply`` with the default ``FaithfulnessChecker`` (what
``ChatModelGenerator`` uses), on ``Passage`` objects rebuilt from the stored passages; its
sentences line up one to one with the labelled ones (both come from
``rag.checking.split_statements``; the script stops if they do not). Printed:

- the checker's precision and recall at catching UNSUPPORTED sentences (positive class: label
  0, caught: ``supported: false``), and the same for SUPPORTED ones (positive class: label 1),
  for all sentences, per corpus, and for the first 10 sentences of each reply (so that one
  reply caught in a repetition loop does not outweigh the rest);
- unsupported sentences reaching the user: shown as the model wrote them (no check), with
  ``--unsupported drop`` (only supported sentences shown) and with ``flag`` (the default: all
  shown, the unsupported ones marked), and the supported sentences each mode withholds or marks.
  An answer that abstains (the reply holds no sentence, the model said the passages do not
  answer, or no sentence is supported) shows the abstention message instead of any sentence.
  Sentences of a reply the pipeline takes for the model's own abstention are never judged one
  by one; they are counted apart and left out of precision and recall.

**Live speed** (``--questions N``, default 10): the model is loaded once (``LocalGGUFServer``,
2 threads, context 4096, the default settings otherwise: temperature 0, max_tokens 512), then
N questions of the labelled set, alternating between the corpora, are answered from their
stored passages (no index needed; the prompts are the labelled ones) by
``ChatModelGenerator.stream``, as ``rag ask --stream`` answers. Timed per question: the first
raw token (mostly prompt processing), the first CHECKED sentence (the first ``sentence``
event: a sentence is released once the next has begun and it has been checked; when nothing is
released, the final event) and the whole answer; the prompt processing speed (the prompt
tokens the server did not take from its prompt cache, over the time to the first token) and
the decode speed: completion tokens from the server's usage report (``stream_usage``) over the
time from the first to the last token, per answer of at least 10 tokens and pooled over all
answers (when the server reports no usage: streamed chunks per second, and the output says
so). p50 and p95 (nearest rank) over the questions; an untimed one-token call warms the model
up first. A live reply need not be the labelled one
word for word (llama.cpp at temperature 0 is not bit-reproducible across runs and loads).

Run from the repository root::

    .venv/bin/python benchmarks/llm.py                     # both parts: ~1.5 min on 2 idle cores
    .venv/bin/python benchmarks/llm.py --skip-live --errors
    .venv/bin/python benchmarks/llm.py --questions 12 --json out.json

Options: ``--data FILE`` (the labelled set), ``--gguf FILE`` (default: the test model in
``~/.cache/rag-cite/test-models``; ``python tests/tools/gguf_model.py`` fetches it),
``--questions N``, ``--threads N``, ``--skip-live``, ``--errors`` (list the sentences the
checker got wrong, with its reasons), ``--json FILE``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402
from langchain_core.outputs import LLMResult  # noqa: E402

from eval.stats import percentile  # noqa: E402  (linear between ranks, as numpy.quantile)
from rag.answering.generation import check_reply  # noqa: E402
from rag.checking import FaithfulnessChecker, split_statements  # noqa: E402
from rag.domain import Answer, Passage, StoredChunk, chunk_id_for, source_id_for  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "llm_answers_labelled.jsonl"
MIN_DECODE_TOKENS = 10  # answers shorter than this get no decode rate of their own (they count in the pooled one)
CAP = 10  # a reply's first CAP sentences: the row that keeps one looping reply from outweighing the rest
MODEL = Path.home() / ".cache" / "rag-cite" / "test-models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


# -- the labelled set --------------------------------------------------------------------


def load_rows(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        stored = [s["text"] for s in row["sentences"]]
        split = [s.text for s in split_statements(row["reply"])]
        if stored != split:
            sys.exit(f"benchmarks/llm.py: {row['id']}: the labelled sentences are not split_statements(reply)")
    return rows


def passages_of(row: dict[str, Any]) -> list[Passage]:
    """The stored passages as the pipeline's ``Passage`` objects (what the prompt and the check read)."""
    out = []
    for n, p in enumerate(row["passages"], start=1):
        source_id = source_id_for(p["source"])
        chunk = StoredChunk(
            vector_id=n, chunk_id=chunk_id_for(source_id, p["start"], p["end"], p["text"]), source_id=source_id,
            path=p["source"], ordinal=n - 1, start=p["start"], end=p["end"], text=p["text"], heading=p.get("heading", ""), page=None,
        )
        out.append(Passage(chunk=chunk, score=0.0, rank=p.get("rank", n)))
    return out


@dataclass
class Judged:
    """One labelled sentence and what the pipeline did with it."""

    row: str
    corpus: str
    position: int  # the sentence's index in its reply
    label: int
    verdict: bool | None  # the checker's ``supported``; None when the reply was taken for the model's abstention
    shown_flag: bool  # reaches the user with unsupported=flag (marked when verdict is False)
    shown_drop: bool  # reaches the user with unsupported=drop
    text: str = ""
    reason: str = ""  # the checker's reason


def judge_rows(rows: Sequence[dict[str, Any]], checker: FaithfulnessChecker) -> tuple[list[Judged], dict[str, int]]:
    judged: list[Judged] = []
    answers = {"replies": len(rows), "no sentence (markers only)": 0, "abstained (flag)": 0, "abstained (drop)": 0, "model abstained": 0}
    for row in rows:
        passages = passages_of(row)
        flag = check_reply(row["reply"], row["question"], passages, checker, unsupported="flag")
        drop = check_reply(row["reply"], row["question"], passages, checker, unsupported="drop")
        answers["no sentence (markers only)"] += not row["sentences"]
        answers["abstained (flag)"] += flag.abstained
        answers["abstained (drop)"] += drop.abstained
        model_abstained = flag.abstained and flag.reason == "the model said the passages do not answer"
        answers["model abstained"] += model_abstained
        kept_drop = _kept(row, drop)
        for n, labelled in enumerate(row["sentences"]):
            verdict = None if model_abstained else flag.sentences[n].supported
            reason = "" if model_abstained else flag.sentences[n].reason
            judged.append(Judged(row["id"], row["corpus"], n, int(labelled["label"]), verdict, not flag.abstained,
                                 not drop.abstained and n in kept_drop, labelled["text"], reason))
    return judged, answers


def _kept(row: dict[str, Any], answer: Answer) -> set[int]:
    """Indices of the row's sentences that survive in ``answer`` (drop keeps them in order)."""
    kept, at = set(), 0
    for sentence in answer.sentences:
        while row["sentences"][at]["text"] != sentence.text:
            at += 1
        kept.add(at)
        at += 1
    return kept


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.1f} %)" if b else f"{a}/0 (n/a)"


def quality(judged: Sequence[Judged]) -> dict[str, Any]:
    scored = [j for j in judged if j.verdict is not None]
    out: dict[str, Any] = {"sentences": len(judged), "judged": len(scored), "not judged (model abstained)": len(judged) - len(scored)}
    for name, positive_label, caught in (("unsupported", 0, False), ("supported", 1, True)):
        tp = sum(j.label == positive_label and j.verdict is caught for j in scored)
        predicted = sum(j.verdict is caught for j in scored)
        actual = sum(j.label == positive_label for j in scored)
        out[name] = {"labelled": actual, "predicted": predicted, "correct": tp,
                     "precision": _ratio(tp, predicted), "recall": _ratio(tp, actual)}
    out["accuracy"] = _ratio(sum((j.verdict is True) == (j.label == 1) for j in scored), len(scored))
    return out


def reaching_user(judged: Sequence[Judged]) -> dict[str, Any]:
    """Per mode: what reaches the user. Sentences of the model's own abstention are left out (the
    pipeline shows its abstention message in their place, with or without the check)."""
    judged = [j for j in judged if j.verdict is not None]
    modes = {
        "no check (raw reply)": [(j, True, False) for j in judged],
        "unsupported=drop": [(j, j.shown_drop, False) for j in judged],
        "unsupported=flag": [(j, j.shown_flag, j.shown_flag and j.verdict is False) for j in judged],
    }
    out = {}
    for mode, seen in modes.items():
        shown = [(j, marked) for j, show, marked in seen if show]
        bad = [(j, marked) for j, marked in shown if j.label == 0]
        good_total = sum(j.label == 1 for j in judged)
        good_lost = sum(j.label == 1 and (not show or marked) for j, show, marked in seen)
        out[mode] = {
            "shown": len(shown),
            "unsupported shown": len(bad),
            "unsupported shown unmarked": sum(not marked for _, marked in bad),
            "unsupported total": sum(j.label == 0 for j in judged),
            "supported withheld or marked": good_lost,
            "supported total": good_total,
        }
    return out


def print_quality(rows: Sequence[dict[str, Any]], judged: Sequence[Judged], answers: dict[str, int]) -> dict[str, Any]:
    labels = [j.label for j in judged]
    print(f"Labelled set: {len(rows)} replies ({sum(r['corpus'] == 'sample' for r in rows)} sample corpus, "
          f"{sum(r['corpus'] == 'xquad-zh' for r in rows)} XQuAD zh), {len(judged)} sentences: "
          f"{labels.count(1)} supported (label 1), {labels.count(0)} unsupported (label 0)")
    print(f"Answers: {answers['abstained (flag)']} of {answers['replies']} abstain: {answers['no sentence (markers only)']} replies hold no "
          f"sentence (only markers such as '[1]'), {answers['model abstained']} said the passages do not answer, the others have no supported sentence")
    result: dict[str, Any] = {"answers": answers, "overall": quality(judged), "by set": {}}
    groups = {"all": list(judged)} | {c: [j for j in judged if j.corpus == c] for c in ("sample", "xquad-zh")}
    groups[f"<={CAP}/reply"] = [j for j in judged if j.position < CAP]
    print("\nChecker quality (the check `rag ask --generator gguf` runs), per sentence:")
    print(f"{'set':9} {'judged':>6} {'accuracy':>8}   {'catching UNSUPPORTED: precision':>31} {'recall':>14}   "
          f"{'keeping SUPPORTED: precision':>28} {'recall':>14}")
    for name, group in groups.items():
        q = quality(group)
        if name != "all":
            result["by set"][name] = q
        u, s = q["unsupported"], q["supported"]
        acc = f"{q['accuracy']:.3f}" if q["accuracy"] is not None else "n/a"
        print(f"{name:9} {q['judged']:>6} {acc:>8}   {_pct(u['correct'], u['predicted']):>31} {_pct(u['correct'], u['labelled']):>14}   "
              f"{_pct(s['correct'], s['predicted']):>28} {_pct(s['correct'], s['labelled']):>14}")
    skipped = result["overall"]["not judged (model abstained)"]
    if skipped:
        print(f"({skipped} sentence(s) of replies taken for the model's own abstention are not judged one by one)")
    reach = reaching_user(judged)
    result["reaching the user"] = reach
    print("\nUnsupported sentences reaching the user (A: unsupported among the sentences shown; B: unsupported shown, of all\n"
          "unsupported; C: unsupported shown WITHOUT a mark, of all unsupported; D: supported sentences withheld or marked):")
    print(f"{'mode':22} {'shown':>6} {'A':>16} {'B':>16} {'C':>16} {'D':>16}")
    for mode, r in reach.items():
        print(f"{mode:22} {r['shown']:>6} {_pct(r['unsupported shown'], r['shown']):>16} "
              f"{_pct(r['unsupported shown'], r['unsupported total']):>16} {_pct(r['unsupported shown unmarked'], r['unsupported total']):>16} "
              f"{_pct(r['supported withheld or marked'], r['supported total']):>16}")
    return result


def print_errors(judged: Sequence[Judged]) -> None:
    wrong = [j for j in judged if j.verdict is not None and j.verdict != (j.label == 1)]
    print(f"\nSentences the checker got wrong ({len(wrong)}):")
    for j in wrong:
        kind = "flagged, but supported" if j.label == 1 else "passed, but unsupported"
        print(f"  {j.row:12} #{j.position:<2} {kind:24} {j.text[:40]!r}  ({j.reason[:110]})")


# -- live speed --------------------------------------------------------------------------


class TokenTimer(BaseCallbackHandler):
    """A LangChain callback on the chat model: when tokens arrive, and the usage the server reports."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.perf_counter()
        self.first_token: float | None = None
        self.last_token: float | None = None
        self.chunks = 0
        self.completion_tokens: int | None = None
        self.prompt_tokens: int | None = None
        self.cached_tokens = 0  # prompt tokens the server reused from its cache (the shared system prompt)

    def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
        if token:
            now = time.perf_counter()
            self.first_token = self.first_token or now
            self.last_token = now
            self.chunks += 1

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        for generations in response.generations:
            for g in generations:
                usage = getattr(getattr(g, "message", None), "usage_metadata", None)
                if usage:
                    self.completion_tokens = usage.get("output_tokens")
                    self.prompt_tokens = usage.get("input_tokens")
                    self.cached_tokens = (usage.get("input_token_details") or {}).get("cache_read") or 0


def spread(rows: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """N rows alternating between the corpora, in file order."""
    by_corpus = [[r for r in rows if r["corpus"] == c] for c in ("sample", "xquad-zh")]
    out: list[dict[str, Any]] = []
    for pair in zip(*by_corpus):
        out.extend(pair)
    return out[:n]


def live(rows: Sequence[dict[str, Any]], model_path: Path, n: int, threads: int) -> dict[str, Any]:
    from rag.cli.factory import Factory
    from rag.settings import load_settings

    settings = load_settings(environ={}, llm_timeout=600, generator="gguf", gguf_path=model_path, embed_threads=threads)
    loading = time.perf_counter()
    factory = Factory(settings)  # what `rag ask --generator gguf` builds
    generator = factory.llm()
    assert generator is not None
    chat_model = generator.chat_model
    chat_model.stream_usage = True  # type: ignore[attr-defined]  # ChatOpenAI: ask the server for token counts
    timer = TokenTimer()
    chat_model.callbacks = [timer]
    chat_model.bind(max_tokens=1).invoke("你好")  # warm-up: the first call pays for loading the weights into memory
    load_seconds = time.perf_counter() - loading
    print(f"\nLive speed: {model_path.name}, {threads} threads, context {settings.gguf_context}, max_tokens {settings.llm_max_tokens}, "
          f"temperature 0; loaded and warmed up in {load_seconds:.1f} s")
    print(f"{'#':>2} {'corpus':8} {'first token':>11} {'first checked':>13} {'total':>7} {'prompt':>6} {'cached':>6} {'tokens':>6} {'tok/s':>6} {'released':>8}  question")
    per: list[dict[str, Any]] = []
    for i, row in enumerate(spread(rows, n), start=1):
        passages = passages_of(row)
        timer.reset()
        start = timer.started
        first_checked: float | None = None
        released = 0
        answer: Answer | None = None
        for event in generator.stream(row["question"], passages):
            if event.kind == "sentence":
                released += 1
                first_checked = first_checked or time.perf_counter()
            elif event.kind == "final":
                first_checked = first_checked or time.perf_counter()
                answer = event.answer
        total = time.perf_counter() - start
        assert answer is not None and first_checked is not None
        first_token = (timer.first_token or start) - start
        decode_span = (timer.last_token or 0) - (timer.first_token or 0)
        counted = timer.completion_tokens if timer.completion_tokens is not None else timer.chunks
        # the first token comes with the prompt; a rate over a handful of tokens is noise
        rate = (counted - 1) / decode_span if decode_span > 0 and counted >= MIN_DECODE_TOKENS else None
        processed = (timer.prompt_tokens or 0) - timer.cached_tokens
        prefill = processed / first_token if processed > 0 and first_token > 0 else None
        entry = {
            "id": row["id"], "corpus": row["corpus"], "question": row["question"], "first_token_s": round(first_token, 3),
            "first_checked_sentence_s": round(first_checked - start, 3), "total_s": round(total, 3),
            "prompt_tokens": timer.prompt_tokens, "cached_prompt_tokens": timer.cached_tokens, "completion_tokens": timer.completion_tokens, "streamed_chunks": timer.chunks,
            "prompt_tokens_per_s": round(prefill, 1) if prefill else None, "decode_tokens_per_s": round(rate, 2) if rate else None,
            "decode_span_s": round(decode_span, 3), "tokens_from_usage": timer.completion_tokens is not None,
            "sentences_released": released, "abstained": answer.abstained,
        }
        per.append(entry)
        shown = "abstain" if answer.abstained else str(released)
        print(f"{i:>2} {row['corpus']:8} {entry['first_token_s']:>10.2f}s {entry['first_checked_sentence_s']:>12.2f}s {total:>6.2f}s "
              f"{timer.prompt_tokens or 0:>6} {timer.cached_tokens:>6} {counted:>6} {f'{rate:.1f}' if rate else '-':>6} {shown:>8}  {row['question'][:30]}")
    factory.close()
    from_usage = all(e["tokens_from_usage"] for e in per)
    summary: dict[str, Any] = {"model": model_path.name, "threads": threads, "questions": len(per), "load_and_warmup_s": round(load_seconds, 2),
                               "tokens_counted_by": "server usage (completion_tokens)" if from_usage else "streamed chunks", "per_question": per}
    print(f"\n{'over ' + str(len(per)) + ' questions':34} {'p50':>8} {'p95':>8} {'mean':>8}")
    metrics = (
        ("time to first token (s)", "first_token_s"),
        ("time to first checked sentence (s)", "first_checked_sentence_s"),
        ("total answer time (s)", "total_s"),
        ("prompt processing tokens/s", "prompt_tokens_per_s"),  # uncached prompt tokens over the time to the first token
        (f"decode tokens/s (>= {MIN_DECODE_TOKENS} tokens)", "decode_tokens_per_s"),
        ("prompt tokens", "prompt_tokens"),
        ("completion tokens", "completion_tokens"),
    )
    for label, key in metrics:
        values = [e[key] for e in per if e[key] is not None]
        if not values:
            continue
        summary[key] = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "mean": round(sum(values) / len(values), 3)}
        print(f"{label:34} {summary[key]['p50']:>8.2f} {summary[key]['p95']:>8.2f} {summary[key]['mean']:>8.2f}")
    spans = [(e["completion_tokens"] if from_usage else e["streamed_chunks"]) - 1 for e in per]
    pooled = sum(max(0, x) for x in spans) / sum(e["decode_span_s"] for e in per) if sum(e["decode_span_s"] for e in per) > 0 else None
    summary["decode_tokens_per_s_pooled"] = round(pooled, 2) if pooled else None
    if pooled:
        print(f"{'decode tokens/s, all answers pooled':34} {pooled:>8.2f}")
    if not from_usage:
        print("(the server reported no usage for some answers: tokens/s there counts streamed chunks per second)")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description="Checker quality on labelled model answers, and live speed of the local model.")
    parser.add_argument("--data", type=Path, default=DATA, help="the labelled set (JSONL)")
    parser.add_argument("--gguf", type=Path, default=MODEL, help="the local model for the live run")
    parser.add_argument("--questions", type=int, default=10, help="questions in the live run (default 10)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-live", action="store_true", help="checker quality only (no model)")
    parser.add_argument("--errors", action="store_true", help="also list the sentences the checker got wrong, with its reasons")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.questions <= 0:
        parser.error(f"--questions must be positive, got {args.questions}")

    rows = load_rows(args.data)
    judged, answers = judge_rows(rows, FaithfulnessChecker())
    results: dict[str, Any] = {"data": str(args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data)}
    results["checker"] = print_quality(rows, judged, answers)
    if args.errors:
        print_errors(judged)
    if not args.skip_live:
        if not args.gguf.is_file():
            sys.exit(f"benchmarks/llm.py: no model at {args.gguf} (python tests/tools/gguf_model.py fetches it; or --skip-live)")
        results["live"] = live(rows, args.gguf, args.questions, args.threads)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
