"""Which verdict policy over the cached judge features (benchmarks/judge_features.py) holds up on
the reporting split? Each variant is fitted on the tuning split only (training/pairs.py's
``tune`` pairs by language, the checker's tuning sets, the even-article half of the hand-written
paraphrases; every group weighing the same), its threshold fixed there, and reported on the
reporting split and OCNLI dev (never fitted on), beside the shipped lexical policy.

    .venv/bin/python benchmarks/judge_policy.py            # seconds, after judge_features.py
    .venv/bin/python benchmarks/judge_policy.py --families # also the share called supported per family
    .venv/bin/python benchmarks/judge_policy.py --write-threshold  # store the cascade's threshold with the model

Variants: the shipped lexical policy (with its contradiction override), logistic refits over the
lexical features with the contradiction cues and/or the learned score, the learned score alone,
and the cascade ``--judge learned`` runs (rag/checking/cascade.py): the lexical verdict, then the
learned score for what it rejects without a missing number or name or a contradiction.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.checker import mean_best_threshold, overridden  # noqa: E402
from benchmarks.logistic import fit  # noqa: E402
from eval.stats import auroc, balanced_accuracy  # noqa: E402
from rag.checking import DEFAULT_SUPPORT_POLICY  # noqa: E402

# the sign each weight is kept on (+1 helps support, -1 hurts it)
SIGNS = {"coverage": 1, "novel_coverage": 1, "sentence_coverage": 1, "missing_numbers": -1, "missing_entities": -1,
         "similarity": 1, "pair_coverage": 1, "learned": 1, "negation_cue": -1, "window_negation_cue": -1, "opposite_cue": -1}
LEXICAL = ["coverage", "novel_coverage", "sentence_coverage", "missing_numbers", "missing_entities", "pair_coverage"]
CUES = ["negation_cue", "window_negation_cue", "opposite_cue"]
VARIANTS = {
    "lexical (refit)": LEXICAL,
    "lexical + cues": LEXICAL + CUES,
    "lexical + learned": LEXICAL + ["learned"],
    "lexical + learned + cues": LEXICAL + ["learned"] + CUES,
    "learned alone": ["learned"],
}


def group_of(item: dict[str, object]) -> str:
    return f"pairs-{item['language']}" if item["set"] == "pairs" else str(item["set"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=Path, default=REPO / "training" / "out" / "features")
    parser.add_argument("--families", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the fitted variants and figures here")
    parser.add_argument("--write-threshold", action="store_true",
                        help="store the cascade's learned threshold (fixed on the tuning split) as cascade_threshold in the model's config.json")
    args = parser.parse_args()
    meta = json.loads((args.features / "items.json").read_text(encoding="utf-8"))
    columns, items = meta["columns"], meta["items"]
    x = np.load(args.features / "features.npz", allow_pickle=False)["x"]
    col = {c: x[:, i] for i, c in enumerate(columns)}
    clean = (col["missing_numbers"] == 0) & (col["missing_entities"] == 0)
    y = np.asarray([it["label"] for it in items], dtype=np.float64)
    split = np.asarray([it["split"] for it in items])
    groups = np.asarray([group_of(it) for it in items])
    tune = split == "tune"
    p = DEFAULT_SUPPORT_POLICY
    shipped = 1 / (1 + np.exp(-np.clip(x[:, :7] @ np.asarray(p.weights) + p.bias, -30, 30)))
    contradicted = (col["negation_cue"] > 0) | (col["opposite_cue"] > 0)  # the judge's override (rag/checking/judges.py)
    before = shipped
    shipped = overridden(shipped, contradicted, p.threshold)
    fitted: dict[str, tuple[np.ndarray, float]] = {"lexical, no override": (before, p.threshold), "lexical (shipped)": (shipped, p.threshold)}
    weights_out = {}
    for name, names in VARIANTS.items():
        xs = np.stack([col[c] for c in names], axis=1)
        w, b = fit(xs[tune], y[tune], groups[tune], steps=6000, signs=np.asarray([SIGNS[c] for c in names], dtype=np.float64))
        scores = 1 / (1 + np.exp(-(xs @ w + b)))
        threshold = mean_best_threshold(scores[tune], y[tune], groups[tune])
        fitted[name] = (scores, threshold)
        weights_out[name] = {"features": names, "weights": np.round(w, 3).tolist(), "bias": round(float(b), 3), "threshold": threshold}
    # The cascade (rag/checking/cascade.py): the lexical verdict (with its contradiction override)
    # first; a statement it rejects with no number or name missing and no contradiction goes to the
    # learned judge, which must reach its own threshold, fixed here on the tuning split.
    lexical_ok = shipped >= p.threshold
    gate = clean & (col["negation_cue"] == 0) & (col["opposite_cue"] == 0)
    ranked = np.where(lexical_ok, 1.0 + shipped, np.where(gate, col["learned"], 0.0))
    best_t, best_v = 0.5, -1.0
    for t in np.arange(0.50, 0.995, 0.01):
        value = float(np.mean([balanced_accuracy([bool(r >= min(t, 1.0)) for r in ranked[tune & (groups == gname)]],
                                                 [bool(v) for v in y[tune & (groups == gname)]]) for gname in np.unique(groups[tune])]))
        if value > best_v:
            best_t, best_v = float(round(t, 2)), value
    fitted["cascade"] = (ranked, best_t)
    weights_out["cascade"] = {"learned_threshold": best_t, "tune_mean_balanced_accuracy": round(best_v, 3)}
    report_groups = [g for g in dict.fromkeys(groups[~tune])]
    results: dict[str, dict[str, object]] = defaultdict(dict)
    print(f"{'reporting split':26}" + "".join(f"{v[:22]:>24}" for v in fitted) + "   (AUROC / balanced accuracy)")
    for g in report_groups:
        mask = (~tune) & (groups == g)
        labels = [bool(v) for v in y[mask]]
        cells = []
        for name, (scores, threshold) in fitted.items():
            a = auroc(scores[mask].tolist(), labels)
            ba = balanced_accuracy([bool(s >= threshold) for s in scores[mask]], labels)
            results[name][g] = {"auroc": round(a, 3), "balanced_accuracy": round(ba, 3), "n": int(mask.sum())}
            cells.append(f"{a:.3f} / {ba:.3f}")
        print(f"{g + f' ({mask.sum()})':26}" + "".join(f"{c:>24}" for c in cells))
    if args.families:
        print("\nshare called supported, reporting split, by family (label 1 should be high, 0 low)")
        keys = sorted({(it["set"] if it["set"] != "pairs" else "pairs", it["family"], it["language"], it["label"])
                       for it, t in zip(items, tune) if not t and it["set"] in ("pairs", "paraphrase-en", "paraphrase-zh", "ocnli")},
                      key=lambda k: (k[0], -k[3], k[1], k[2]))
        print(f"{'':42}" + "".join(f"{v[:22]:>24}" for v in fitted))
        for s, family, language, label in keys:
            mask = np.asarray([not t and it["set"] == s and it["family"] == family and it["language"] == language
                               for it, t in zip(items, tune)])
            cells = [f"{np.mean(scores[mask] >= threshold):.1%}" for scores, threshold in fitted.values()]
            for name, (scores, threshold) in fitted.items():
                results[name][f"{s}/{family}/{language}"] = {"label": label, "supported": round(float(np.mean(scores[mask] >= threshold)), 3), "n": int(mask.sum())}
            print(f"{f'{s} {label} {family} {language} ({mask.sum()})':42}" + "".join(f"{c:>24}" for c in cells))
    for name, fitted_weights in weights_out.items():
        print(f"{name}: {fitted_weights}")
    if args.write_threshold:
        config_path = Path(meta["model"]) / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["cascade_threshold"] = best_t
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        print(f"cascade_threshold {best_t} -> {config_path}")
    if args.json:
        args.json.write_text(json.dumps({"variants": weights_out, "figures": results}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
