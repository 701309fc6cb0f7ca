"""Throughput of ``rag check --batch`` on 1,000 rows of the shared fact-swap sets, against what a
user would do without it: one ``rag check --context --answer`` process per answer.

Rows: XQuAD en (odd articles: 452) and CMRC2018 dev (the rest) fact-swap statements from
``benchmarks/checker.py``'s builders (half supported, half with an answer span swapped), each with
its paragraph as the one passage. Both sides run here, one after the other, with the offline judge
(no model). The per-process side is timed on the first 20 rows and scaled (its cost is per row).

    .venv/bin/python benchmarks/check_batch.py             # ~1 min on 2 cores
    .venv/bin/python benchmarks/check_batch.py --rows 200  # quicker
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from benchmarks.checker import _squad_paragraphs, fact_swaps  # noqa: E402

RAG_BIN = Path(sys.executable).parent / "rag"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="the shared data folder (default: ../shared/data)")
    parser.add_argument("--rows", type=int, default=1000, help="rows in all, half from each set (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--single", type=int, default=20, help="rows timed one process each (default 20)")
    args = parser.parse_args()
    half = args.rows // 2
    cmrc = fact_swaps(_squad_paragraphs(args.data / "cmrc2018" / "cmrc2018_dev.json"), args.rows, args.seed)
    xquad = fact_swaps([p for p in _squad_paragraphs(args.data / "xquad" / "xquad.en.json") if p[0] % 2 == 1], args.rows, args.seed)
    xquad = xquad[:half]
    cmrc = cmrc[: args.rows - len(xquad)]  # XQuAD en odd articles give fewer than 500: CMRC2018 makes up the rest
    items = cmrc + xquad
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "rows.jsonl"
        batch.write_text("".join(json.dumps({"id": n, "answer": it.statement, "passages": [it.context]}, ensure_ascii=False) + "\n"
                                 for n, it in enumerate(items)), encoding="utf-8")
        t0 = time.perf_counter()
        done = subprocess.run([str(RAG_BIN), "check", "--batch", str(batch)], capture_output=True, text=True)
        batch_s = time.perf_counter() - t0
        out = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(out) == len(items) and all("error" not in o for o in out), done.stderr[-2000:]
        correct = sum(o["supported"] == bool(it.label) for o, it in zip(out, items))
        t0 = time.perf_counter()
        for n, it in enumerate(items[: args.single]):
            context = Path(tmp) / f"c{n}.txt"
            context.write_text(it.context, encoding="utf-8")
            subprocess.run([str(RAG_BIN), "check", "--context", str(context), "--answer", it.statement, "--json"], capture_output=True, text=True)
        single_s = (time.perf_counter() - t0) / args.single
    print(f"rows: {len(items)} ({len(cmrc)} CMRC2018 dev + {len(items) - len(cmrc)} XQuAD en fact-swap statements, {sum(it.label for it in items)} supported)")
    print(f"rag check --batch: {batch_s:.1f} s in one process = {len(items) / batch_s:.1f} rows/s (start-up included)")
    print(f"one rag check per answer: {single_s:.2f} s per row = {1 / single_s:.2f} rows/s (timed on {args.single} rows)")
    print(f"ratio: {single_s * len(items) / batch_s:.0f}x faster in one process")
    print(f"verdict agrees with the label on {correct} of {len(items)} rows ({correct / len(items):.1%}; the threshold is the tuned one)")


if __name__ == "__main__":
    main()
