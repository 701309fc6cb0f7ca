"""What the reader gets on questions about the sample corpus: is the sentence that answers cited,
is an unanswerable question refused? Beside two baselines a user could pick instead, measured on
the same index in the same process:

- **LangChain recipe (top chunk)**: the top retrieved chunk shown whole (the same hybrid
  retriever and e5 embedder); "cited" when the gold is in it; it never refuses;
- **top sentence by e5**: of the top 5 passages' sentences, the one closest to the question by
  the e5 cosine; it never refuses.

Sets (``--questions``, repeatable): tests/data/questions.jsonl (the fixed test, 15 answerable + 12
unanswerable: it shaped the answerer for several rounds, a tuning set in effect) and
tests/data/questions_fresh.jsonl (43 + 13, written for issue 15 before the system was run on them:
the reporting set). Per kind of question (``kind``), too.

    .venv/bin/python benchmarks/answers.py            # ~1 min on 2 cores
    .venv/bin/python benchmarks/answers.py --misses   # also list what was not cited or wrongly refused
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.stats import percentile  # noqa: E402
from rag.answering import ExtractiveGenerator  # noqa: E402
from rag.answering.extractive import _clauses  # noqa: E402
from rag.answering.policy import ANSWERER_FILE, load_answerer  # noqa: E402
from rag.answering.reader import AnswerReader  # noqa: E402
from rag.cli.factory import build_ingestor  # noqa: E402
from rag.embedders import E5Embedder  # noqa: E402
from rag.service import QAService  # noqa: E402
from rag.settings import load_settings  # noqa: E402
from rag.store import IndexStore  # noqa: E402

SAMPLE = REPO / "rag" / "data" / "bitcoin-exchange-support-faq.zh.txt"
DEFAULT_SETS = [REPO / "tests" / "data" / "questions.jsonl", REPO / "tests" / "data" / "questions_fresh.jsonl"]


def read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, action="append", default=None, help="a questions JSONL (repeatable)")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--max-sentences", type=int, default=3, help="the extractive answer's max_answer_sentences (default 3)")
    parser.add_argument("--answerer", type=Path, default=ANSWERER_FILE,
                        help="the selector and abstention policy to run (default the shipped rag/answering/answerer.json; "
                             "training/answerer.py --write --out FILE writes others)")
    parser.add_argument("--reader", type=Path, default=None, help="the answer reader's folder, for an answerer that reads it")
    parser.add_argument("--no-sentence-vectors", action="store_true",
                        help="ingest without stored (int8) sentence and word vectors: the answerer embeds them in float32 at query time")
    args = parser.parse_args()
    sets = args.questions or DEFAULT_SETS
    embedder = E5Embedder(threads=2)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(SAMPLE, root / "faq.txt")
        settings = load_settings(environ={"RAG_SENTENCE_VECTORS": "false", "RAG_WORD_VECTORS": "false"} if args.no_sentence_vectors else {})
        build_ingestor(settings, embedder=embedder, index_dir=root / "idx").ingest([root / "faq.txt"])
        snapshot = IndexStore(root / "idx").open(embedder.info)
        policy, selector = load_answerer(args.answerer)
        print(f"answerer: {args.answerer.name} ({policy.fitted_on[:90]})")
        generator = ExtractiveGenerator(embedder, snapshot, policy=policy, selector=selector, max_sentences=args.max_sentences,
                                        reader=AnswerReader(args.reader) if args.reader else None)
        service = QAService(snapshot, embedder, generator=generator)
        service.ask("warm up")
        for path in sets:
            rows = read(path)
            tally: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
            timings, misses = [], []
            for row in rows:
                question, kind = str(row["question"]), str(row.get("kind") or ("answerable" if row["answerable"] else "unanswerable"))
                started = time.perf_counter()
                answer, ranking = service.ask_ranked(question)
                timings.append(time.perf_counter() - started)
                passages = [p.chunk.text for p in ranking[:5]]
                sentences = [p[a:b] for p in passages for a, b in _clauses(p)]
                vectors = embedder.embed_passages(sentences) if sentences else np.zeros((0, 1))
                top_sentence = sentences[int(np.argmax(vectors @ embedder.embed_queries([question])[0]))] if sentences else ""
                for group in ("all", kind):
                    if row["answerable"]:
                        gold = str(row["gold"])
                        cited = not answer.abstained and any(gold in c.text for c in answer.citations)
                        tally[group]["cited"].append(cited)
                        tally[group]["wrongly refused"].append(answer.abstained)
                        tally[group]["top chunk holds it"].append(bool(passages) and gold in passages[0])
                        tally[group]["top e5 sentence holds it"].append(gold in top_sentence)
                    else:
                        tally[group]["refused"].append(answer.abstained)
                if row["answerable"] and not (not answer.abstained and any(str(row["gold"]) in c.text for c in answer.citations)):
                    misses.append(f"{row.get('id', '-')} ({kind}) {question} -> {'REFUSED: ' + answer.reason if answer.abstained else answer.text[:120]}")
                if not row["answerable"] and not answer.abstained:
                    misses.append(f"{row.get('id', '-')} ({kind}) {question} -> ANSWERED: {answer.text[:120]}")
            print(f"\n{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {len(rows)} questions; "
                  f"answer p50 {percentile(timings, 0.5) * 1000:.0f} ms, p95 {percentile(timings, 0.95) * 1000:.0f} ms (warm, retrieval included)")
            table = {}
            for group in sorted(tally, key=lambda g: (g != "all", g)):
                cells = {name: f"{sum(v)}/{len(v)}" for name, v in tally[group].items()}
                table[group] = {name: [sum(v), len(v)] for name, v in tally[group].items()}
                print(f"  {group:14} " + "  ".join(f"{name} {cell}" for name, cell in cells.items()))
            if args.misses:
                for line in misses:
                    print("   miss:", line)
            results[str(path.name)] = {"groups": table, "misses": misses}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
