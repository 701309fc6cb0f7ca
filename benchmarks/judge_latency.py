"""Latency of checking one answer: 5 statements against 5 passages, per judge, on this machine.

Answers are built from the reporting splits (CMRC2018 dev, XQuAD en odd articles): five
passages of one language, one sentence taken from each as a statement (every other one with a
number changed, so both verdicts occur). Each answer is checked by the offline (lexical) judge
and by the learned judge in the same process, alternating, after one warm-up answer.

    .venv/bin/python benchmarks/judge_latency.py [--answers 40] [--model rag/models/judge]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.checking import FaithfulnessChecker, LexicalJudge  # noqa: E402
from rag.checking.learned import BUNDLED_JUDGE, LearnedJudge  # noqa: E402
from rag.text.sentences import split_sentences  # noqa: E402


def answers(data: Path, n: int, seed: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    contexts = {
        "zh": [p["context"] for a in json.loads((data / "cmrc2018" / "cmrc2018_dev.json").read_text(encoding="utf-8"))["data"] for p in a["paragraphs"]],
        "en": [p["context"] for i, a in enumerate(json.loads((data / "xquad" / "xquad.en.json").read_text(encoding="utf-8"))["data"]) if i % 2
               for p in a["paragraphs"]],
    }
    out = []
    for k in range(n):
        language = "zh" if k % 2 == 0 else "en"
        passages = rng.sample(contexts[language], 5)
        statements = []
        for j, passage in enumerate(passages):
            sentences = [passage[s.start : s.end] for s in split_sentences(passage) if 15 < s.end - s.start < 250]
            if not sentences:
                continue
            sentence = rng.choice(sentences)
            if j % 2:
                sentence = re.sub(r"\d+", lambda m: str(int(m.group()) + 3), sentence, count=1)
            statements.append(sentence)
        out.append((("" if language == "zh" else " ").join(statements), passages))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--model", type=Path, default=BUNDLED_JUDGE)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cases = answers(args.data, args.answers + 1, args.seed)
    checkers = {"offline (lexical)": FaithfulnessChecker(LexicalJudge()), "learned": FaithfulnessChecker(LearnedJudge(args.model))}
    times: dict[str, list[float]] = {name: [] for name in checkers}
    statements = []
    for n, (answer, passages) in enumerate(cases):
        for name, checker in checkers.items():
            started = time.perf_counter()
            result = checker.check(answer, passages)
            if n:  # the first answer warms up (model load)
                times[name].append(time.perf_counter() - started)
                if name == "learned":
                    statements.append(len(result.verdicts))
    print(f"{args.answers} answers of {statistics.fmean(statements):.1f} statements against 5 passages each, 2 cores:")
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"  {name:18} p50 {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms")
    ratio = statistics.median(times["learned"]) / statistics.median(times["offline (lexical)"])
    print(f"  learned / offline, p50: {ratio:.1f}x")


if __name__ == "__main__":
    main()
