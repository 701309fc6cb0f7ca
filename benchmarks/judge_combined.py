"""Does the learned judge add to the lexical one? One logistic policy over the lexical features
and the learned score, fitted on benchmarks/checker.py's tuning split, reported on its
reporting split beside the lexical policy alone (refitted the same way).

    .venv/bin/python benchmarks/judge_combined.py --model training/out/judge-L6   # ~10 min on 2 cores
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import benchmarks.checker as bc  # noqa: E402
from benchmarks.logistic import fit  # noqa: E402
from eval.stats import auroc, balanced_accuracy  # noqa: E402
from rag.checking import FEATURES, LexicalJudge  # noqa: E402
from rag.checking.learned import LearnedJudge  # noqa: E402


def sets(data: Path, per_set: int) -> dict[str, dict[str, list[bc.Item]]]:
    """benchmarks/checker.py's sets, without the raw and length-matched HaluEval ones."""
    return {split: {n: items for n, items in named.items() if n not in ("halueval", "halueval-length-matched")}
            for split, named in bc.checker_sets(data, per_set).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--per-set", type=int, default=200)
    args = parser.parse_args()
    lexical, learned = LexicalJudge(), LearnedJudge(args.model)
    built = sets(args.data, args.per_set)
    x: dict[str, dict[str, np.ndarray]] = {"tune": {}, "report": {}}
    for split, named in built.items():
        for name, items in named.items():
            rows = []
            for item in items:
                evidence = lexical.judge([item.statement], [item.context], item.question)[0].evidence
                score = learned.judge([item.statement], [item.context], item.question)[0].score
                assert evidence is not None
                rows.append([*evidence.vector(), score])
            x[split][name] = np.asarray(rows)
            print(f"  {split}/{name}: {len(items)} items", file=sys.stderr)
    names = list(built["tune"])
    xs = np.vstack([x["tune"][n] for n in names])
    ys = np.concatenate([[i.label for i in built["tune"][n]] for n in names]).astype(np.float64)
    groups = np.concatenate([[n] * len(built["tune"][n]) for n in names])
    lexical_columns = [i for i, f in enumerate(FEATURES) if f != "similarity"]
    variants = {"lexical (refitted)": lexical_columns, "lexical + learned": [*lexical_columns, len(FEATURES)], "learned alone": [len(FEATURES)]}
    signs = np.asarray([{"missing_numbers": -1, "missing_entities": -1}.get(f, 1) for f in FEATURES] + [1], dtype=np.float64)
    print(f"{'set':24} " + "  ".join(f"{v:>24}" for v in variants))
    fitted = {}
    for variant, columns in variants.items():
        weights, bias = fit(xs[:, columns], ys, groups, steps=5000, signs=signs[columns])
        threshold = bc.mean_best_threshold(1 / (1 + np.exp(-(xs[:, columns] @ weights + bias))), ys, groups)
        fitted[variant] = (columns, weights, bias, threshold)
    for name, items in built["report"].items():
        labels = [bool(i.label) for i in items]
        cells = []
        for columns, weights, bias, threshold in fitted.values():
            scores = 1 / (1 + np.exp(-(x["report"][name][:, columns] @ weights + bias)))
            cells.append(f"{auroc(scores.tolist(), labels):.3f} / {balanced_accuracy([bool(s >= threshold) for s in scores], labels):.3f}")
        print(f"{name:24} " + "  ".join(f"{c:>24}" for c in cells))
    for variant, (_, weights, bias, threshold) in fitted.items():
        print(f"{variant}: weights {np.round(weights, 3).tolist()} bias {bias:.3f} threshold {threshold:.3f}")


if __name__ == "__main__":
    main()
