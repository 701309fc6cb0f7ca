"""Evaluate a trained judge; fix its threshold on the tuning split; report on splits it never saw.

    .venv/bin/python -m training.evaluate training/out/judge-L6            # ~5 min on 2 cores
    .venv/bin/python -m training.evaluate training/out/judge-L6 --write    # also store the threshold in its config.json

1. **Threshold** (tuning split only): the one with the best balanced accuracy on the ``tune``
   pairs of training/pairs.py, every family weighted by its share.
2. **Pairs by family** (``report`` split, up to ``--per-family`` pairs each): the share called
   supported, per family and language: a supported family should be high, a swap family low.
3. **The checker's sets** (benchmarks/checker.py, reporting split): CMRC2018 and XQuAD fact-swap,
   HaluEval restated and length-matched, the hand-written paraphrases: AUROC and balanced
   accuracy, through the judge's own window selection over whole passages, beside the lexical
   judge on the same items.
4. **OCNLI dev** (Chinese NLI, never trained on: non-commercial): supported = entailment;
   balanced accuracy at the threshold, and AUROC.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.stats import auroc, balanced_accuracy  # noqa: E402
from rag.checking import LexicalJudge  # noqa: E402
from rag.checking.learned import LearnedJudge  # noqa: E402
from training.pairs import Pair, read_pairs  # noqa: E402


def pair_scores(judge: LearnedJudge, pairs: list[Pair]) -> list[float]:
    """P(supported) of each (premise window, statement) pair as given (no window selection)."""
    import torch

    from rag.models.encoder import encode_pairs

    model = judge._load()
    out: list[float] = []
    with torch.no_grad():
        for at in range(0, len(pairs), 32):
            chunk = pairs[at : at + 32]
            ids, lengths = encode_pairs(model.encoder.file, [("query: " + p.hypothesis, "passage: " + p.premise) for p in chunk],
                                        int(judge._config["max_tokens"]))
            out.extend(model(ids, lengths).softmax(-1)[:, 1].tolist())
    return out


def best_threshold(scores: list[float], labels: list[int]) -> float:
    best, value = 0.5, -1.0
    for t in np.unique(np.round(scores, 3)):
        v = balanced_accuracy([s >= t for s in scores], [bool(y) for y in labels])
        if v > value:
            best, value = float(t), v
    return best


def sample(pairs: list[Pair], per_family: int, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    by: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        by[p.family].append(p)
    return [p for family in sorted(by) for p in rng.sample(by[family], min(per_family, len(by[family])))]


def main() -> None:
    parser = argparse.ArgumentParser(description="Evaluate a trained judge (see the module docstring).")
    parser.add_argument("model", type=Path)
    parser.add_argument("--pairs", type=Path, default=REPO / "training" / "out" / "pairs")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--per-family", type=int, default=200)
    parser.add_argument("--per-set", type=int, default=300)
    parser.add_argument("--ocnli-limit", type=int, default=None, help="only the first N OCNLI dev pairs (a smoke run)")
    parser.add_argument("--write", action="store_true", help="store the tuned threshold in the model's config.json")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    config_path = args.model / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if "sha256" not in config:
        from rag.index.format import file_sha256

        config["sha256"] = file_sha256(args.model / "judge.safetensors")
        config.setdefault("threshold", 0.5)
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    judge = LearnedJudge(args.model, threshold=0.5)
    results: dict[str, object] = {"model": str(args.model), "config": config}

    tune = sample(read_pairs(args.pairs / "tune.jsonl"), args.per_family, 1)
    tune_scores = pair_scores(judge, tune)
    threshold = best_threshold(tune_scores, [p.label for p in tune])
    judge.threshold = threshold
    results["threshold"] = threshold
    tune_bacc = balanced_accuracy([s >= threshold for s in tune_scores], [bool(p.label) for p in tune])
    print(f"threshold {threshold:.3f} fixed on {len(tune)} tuning pairs (balanced accuracy there {tune_bacc:.3f})")

    report = sample(read_pairs(args.pairs / "report.jsonl"), args.per_family, 2)
    scores = pair_scores(judge, report)
    families: dict[tuple[str, int, str], list[bool]] = defaultdict(list)
    for p, s in zip(report, scores):
        families[(p.family, p.label, "zh" if p.language.startswith("zh") else "en")].append(s >= threshold)
    print(f"\nreporting pairs by family: share called supported (label 1 should be high, 0 low); AUROC {auroc(scores, [bool(p.label) for p in report]):.3f}")
    table = {}
    for (family, label, lang), verdicts in sorted(families.items(), key=lambda kv: (-kv[0][1], kv[0][0], kv[0][2])):
        share = sum(verdicts) / len(verdicts)
        table[f"{family}/{lang}"] = {"label": label, "n": len(verdicts), "supported": round(share, 3)}
        print(f"  {label} {family:22} {lang}  n={len(verdicts):4}  supported {share:6.1%}")
    results["families"] = table

    import benchmarks.checker as bc

    sets = {n: items for n, items in bc.checker_sets(args.data, args.per_set)["report"].items() if n != "halueval"}
    lexical = LexicalJudge()
    print("\nthe checker's sets, reporting split (learned | lexical): AUROC, balanced accuracy")
    results["sets"] = {}
    for name, items in sets.items():
        labels = [bool(i.label) for i in items]
        learned = [judge.judge([i.statement], [i.context], i.question)[0].score for i in items]
        lex = [lexical.judge([i.statement], [i.context], i.question)[0] for i in items]
        row = {
            "pairs": len(items) // 2, "auroc": round(auroc(learned, labels), 3),
            "balanced_accuracy": round(balanced_accuracy([s >= threshold for s in learned], labels), 3),
            "lexical_auroc": round(auroc([v.score for v in lex], labels), 3),
            "lexical_balanced_accuracy": round(balanced_accuracy([v.supported for v in lex], labels), 3),
        }
        results["sets"][name] = row  # type: ignore[index]
        print(f"  {name:26} {row['pairs']:4} pairs  {row['auroc']:.3f} {row['balanced_accuracy']:.3f} | {row['lexical_auroc']:.3f} {row['lexical_balanced_accuracy']:.3f}")

    ocnli = [json.loads(line) for line in (args.data / "ocnli" / "dev.json").read_text(encoding="utf-8").splitlines() if line.strip()]
    ocnli = [r for r in ocnli if r["label"] in ("entailment", "neutral", "contradiction")][: args.ocnli_limit]
    nli_pairs = [Pair(r["sentence1"], r["sentence2"], int(r["label"] == "entailment"), r["label"], "zh", "ocnli") for r in ocnli]
    nli_scores = pair_scores(judge, nli_pairs)
    nli_labels = [bool(p.label) for p in nli_pairs]
    by_label = {lab: statistics.fmean(s >= threshold for s, p in zip(nli_scores, nli_pairs) if p.family == lab) for lab in ("entailment", "neutral", "contradiction")}
    results["ocnli"] = {"n": len(nli_pairs), "balanced_accuracy": round(balanced_accuracy([s >= threshold for s in nli_scores], nli_labels), 3),
                        "auroc": round(auroc(nli_scores, nli_labels), 3), "supported_share": {k: round(v, 3) for k, v in by_label.items()}}
    print(f"\nOCNLI dev ({len(nli_pairs)} pairs, never trained on): balanced accuracy {results['ocnli']['balanced_accuracy']:.3f}, "  # type: ignore[index]
          f"AUROC {results['ocnli']['auroc']:.3f}; called supported: " + ", ".join(f"{k} {v:.1%}" for k, v in by_label.items()))  # type: ignore[index]
    print(f"\n{(time.perf_counter() - started) / 60:.1f} min")
    if args.write:
        config["threshold"] = threshold
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
