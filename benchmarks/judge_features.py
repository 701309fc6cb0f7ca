"""The features every judge policy is fitted on, computed once and cached (no pickle: .npz + .json).

For each labelled item: the lexical judge's evidence vector (rag.checking.FEATURES), the learned
judge's score (its best window), and two contradiction cues on the lexical judge's best window
(rag/checking/cues.py: a negation one side has and the other lacks; a word whose opposite the window says instead).

Items: training/pairs.py's ``tune`` and ``report`` pairs (``--per-family`` of each family), the
checker's sets of benchmarks/checker.py (tuning and reporting splits) and OCNLI dev (reporting
only, never fitted on).

    .venv/bin/python benchmarks/judge_features.py --model training/out/judge-L6   # ~7 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import benchmarks.checker as bc  # noqa: E402
from rag.checking import LexicalJudge  # noqa: E402
from rag.checking.cues import contradiction  # noqa: E402
from rag.checking.learned import LearnedJudge  # noqa: E402
from training.pairs import read_pairs  # noqa: E402

COLUMNS = ["coverage", "novel_coverage", "sentence_coverage", "missing_numbers", "missing_entities", "similarity",
           "pair_coverage", "learned", "negation_cue", "window_negation_cue", "opposite_cue"]


def items(data: Path, pairs: Path, per_family: int, per_set: int, ocnli: int) -> list[dict[str, object]]:
    """Every item as a dict: statement, context, question, label, split, set, family, language."""
    out: list[dict[str, object]] = []
    for split in ("tune", "report"):
        by: dict[str, list] = defaultdict(list)
        for p in read_pairs(pairs / f"{split}.jsonl"):
            by[p.family].append(p)
        rng = random.Random(7)
        for family in sorted(by):
            for p in rng.sample(by[family], min(per_family, len(by[family]))):
                out.append({"statement": p.hypothesis, "context": p.premise, "question": None, "label": p.label, "split": split,
                            "set": "pairs", "family": family, "language": p.language})
    # HaluEval tuning rows 4,000-4,999: rows 0-3,999 trained the learned judge (training/pairs.py)
    built = bc.checker_sets(data, per_set, 0, halueval_tune=range(4000, 5000))
    names = ("cmrc-fact-swap", "xquad-en-fact-swap", "halueval-restated", "halueval-length-matched")
    sets = {(split, name): built[split][name] for name in names for split in ("tune", "report")}
    for (split, name), found in sets.items():
        for i in found:
            out.append({"statement": i.statement, "context": i.context, "question": i.question, "label": i.label, "split": split,
                        "set": name, "family": name, "language": "zh" if name.startswith("cmrc") else "en"})
    paraphrase_file = REPO / "benchmarks" / "data" / "checker_paraphrases.jsonl"
    rows = [json.loads(line) for line in paraphrase_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    contexts = {}
    for name, sub in (("xquad.en.json", "xquad/xquad.en.json"), ("xquad.zh.json", "xquad/xquad.zh.json"), ("cmrc2018_dev.json", "cmrc2018/cmrc2018_dev.json")):
        contexts[name] = json.loads((data / sub).read_text(encoding="utf-8"))["data"]
    for row in rows:
        context = contexts[row["source"]][row["article"]]["paragraphs"][row["paragraph"]]["context"]
        out.append({"statement": row["statement"], "context": context, "question": row["question"], "label": int(row["label"]),
                    "split": "tune" if row["article"] % 2 == 0 else "report", "set": f"paraphrase-{row['language']}",
                    "family": row["error"] or "paraphrase", "language": row["language"]})
    ocnli_rows = [json.loads(line) for line in (data / "ocnli" / "dev.json").read_text(encoding="utf-8").splitlines() if line.strip()]
    ocnli_rows = [r for r in ocnli_rows if r["label"] in ("entailment", "neutral", "contradiction")][:ocnli]
    for r in ocnli_rows:
        out.append({"statement": r["sentence2"], "context": r["sentence1"], "question": None, "label": int(r["label"] == "entailment"),
                    "split": "report", "set": "ocnli", "family": r["label"], "language": "zh"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--pairs", type=Path, default=REPO / "training" / "out" / "pairs")
    parser.add_argument("--per-family", type=int, default=100)
    parser.add_argument("--per-set", type=int, default=200)
    parser.add_argument("--ocnli", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=REPO / "training" / "out" / "features")
    args = parser.parse_args()
    started = time.perf_counter()
    lexical, learned = LexicalJudge(), LearnedJudge(args.model)
    found = items(args.data, args.pairs, args.per_family, args.per_set, args.ocnli)
    print(f"{len(found)} items", file=sys.stderr)
    rows = []
    for n, item in enumerate(found):
        statement, context, question = str(item["statement"]), str(item["context"]), item["question"]
        verdict = lexical.judge([statement], [context], question)[0]  # type: ignore[arg-type]
        evidence = verdict.evidence
        assert evidence is not None
        window = context[evidence.start : evidence.end]
        score = learned.judge([statement], [context], question)[0].score  # type: ignore[arg-type]
        rows.append([*evidence.vector(), score, *contradiction(statement, window, question).features()])  # type: ignore[arg-type]
        if n % 500 == 0:
            print(f"  {n}/{len(found)} {time.perf_counter() - started:.0f} s", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "features.npz", x=np.asarray(rows, dtype=np.float64))
    meta = [{k: v for k, v in item.items() if k not in ("context",)} for item in found]
    (args.out / "items.json").write_text(json.dumps({"columns": COLUMNS, "model": str(args.model), "items": meta}, ensure_ascii=False), encoding="utf-8")
    print(f"{len(rows)} rows in {(time.perf_counter() - started) / 60:.1f} min -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
