"""How well the answer reader reads pairs it never trained on (training/answer_pairs.py's tune split).

    .venv/bin/python -m training.evaluate_reader training/out/reader-L4      # ~2 min on 2 cores

Prints, per family, the share of pairs scored above 0.5, and for every question (its pairs from
one paragraph) whether a sentence holding the answer is scored above all the others: the top-1
accuracy that matters to the answerer. The hand rule's top-1 on the same sentences (e5
similarity plus term coverage, rag/answering/extractive.py) is beside it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answering.reader import AnswerReader  # noqa: E402
from training.pairs import read_pairs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--pairs", type=Path, default=ROOT / "training" / "out" / "answer-pairs" / "tune.jsonl")
    parser.add_argument("--limit", type=int, default=3000)
    args = parser.parse_args()
    pairs = read_pairs(args.pairs)[: args.limit]
    reader = AnswerReader(args.model, cached=len(pairs) + 1)
    by_question: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, p in enumerate(pairs):
        by_question[(p.hypothesis, p.key)].append(n)
    scores = np.zeros(len(pairs))
    started = time.perf_counter()
    for (question, _), members in by_question.items():
        scores[members] = reader.scores(question, [pairs[n].premise for n in members])
    elapsed = time.perf_counter() - started
    families: dict[str, list[bool]] = defaultdict(list)
    for p, s in zip(pairs, scores, strict=True):
        families[f"{p.family} (label {p.label})"].append(bool(s >= 0.5))
    print(f"{len(pairs)} pairs, {len(by_question)} questions, {elapsed / len(pairs) * 1000:.1f} ms per pair")
    for name, calls in sorted(families.items()):
        print(f"  {name:34} {len(calls):5}  called 'holds the answer' {np.mean(calls):6.1%}")
    top, asked = 0, 0
    for members in by_question.values():
        labels = [pairs[n].label for n in members]
        if 0 < sum(labels) < len(labels):
            asked += 1
            top += labels[int(np.argmax(scores[members]))]
    print(f"top-1 among a question's sentences: {top}/{asked} ({top / max(1, asked):.1%})")


if __name__ == "__main__":
    main()
