"""Crash safety: a real ``rag ingest`` is killed (SIGKILL) at many moments, and every time the
index opens, verifies, answers, holds one of the states a commit produced, and a re-run
completes the work.

Moments are (a) every rename/replace of a commit or a merge (the runs merge segments two at a
time, ``RAG_MERGE_FACTOR=2``, so merges happen between their commits), before and after, plus
steps spread evenly over all the file-system steps of the run (fsync, mkdir, unlink, ...), counted
by tests/tools/killable_rag.py; and (b) wall-clock moments spread over the run, including while
embedding.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.embedders import E5Embedder
from rag.store import IndexStore
from tests.conftest import SAMPLE

pytestmark = pytest.mark.e2e

KILLABLE = Path(__file__).parent / "tools" / "killable_rag.py"
MAX_STEP_POINTS = 60


def run(args: list[str], env_extra: dict[str, str], kill_at: int = 0, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(env_extra)
    env["KILL_AT"] = str(kill_at)
    return subprocess.run(
        [sys.executable, str(KILLABLE), *args], capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL
    )


def state(index_dir: Path) -> dict[str, str]:
    """path -> content hash of the committed version."""
    with IndexStore(index_dir).open() as snap:
        return {s.path: s.content_hash for s in snap.sources()}


def build_scenario(root: Path, big: bool, env_more: dict[str, str] | None = None) -> dict[str, object]:
    """A committed index of 3 files, then a change: one file edited, one deleted, four added
    (with ``big``, one of them long enough that embedding takes a few seconds)."""
    docs = root / "docs"
    docs.mkdir()
    faq = SAMPLE.read_text(encoding="utf-8")
    half = faq.index("4. ")
    (docs / "faq1.txt").write_text(faq[:half], encoding="utf-8")
    (docs / "faq2.txt").write_text(faq[half:], encoding="utf-8")
    (docs / "withdrawals.md").write_text("# Withdrawals\nWithdrawals are processed within one business day.\n", encoding="utf-8")
    pristine = root / "pristine"
    first = run(["ingest", str(docs), "--index", str(pristine)], {})
    assert first.returncode == 0, first.stderr

    # The change the killed runs make.
    (docs / "faq1.txt").write_text(faq[:half] + "\n6. 新增的问题?\n这是新增加的回答,讲述账户冻结的处理流程。\n", encoding="utf-8")
    (docs / "withdrawals.md").unlink()
    (docs / "deposits.txt").write_text("Deposits arrive after six network confirmations. 充值需要六次网络确认。\n", encoding="utf-8")
    (docs / "fees.txt").write_text("Trading fees are 0.1 percent per trade. 交易手续费为每笔0.1%。\n", encoding="utf-8")
    (docs / "limits.md").write_text("# 限额\n每日提现限额为十万元。Daily withdrawal limit is 100,000 CNY.\n", encoding="utf-8")
    (docs / "kyc.html").write_text("<h1>KYC</h1><p>身份验证通常需要十分钟。Identity checks take ten minutes.</p>", encoding="utf-8")
    if big:
        paragraphs = [f"第{i}条规定:用户在第{i}个工作日提交的第{i * 7}号申请,将由{i % 5 + 1}号客服小组在{i % 24}小时内处理。" for i in range(40)]
        (docs / "rules.txt").write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    args = ["ingest", str(docs), "--sync"]
    env = {"RAG_COMMIT_EVERY": "2", "RAG_MERGE_FACTOR": "2", "RAG_MERGE_FLOOR": "1", **(env_more or {})}
    commits = 3 if env["RAG_COMMIT_EVERY"] == "2" else 5  # 2 + 2 + 1 changed files, or one by one

    # Reference run, uninterrupted, keeping every version to learn each state a commit can leave.
    reference = root / "reference"
    shutil.copytree(pristine, reference)
    log = root / "steps.log"
    done = run([*args, "--index", str(reference)], {**env, "RAG_KEEP_VERSIONS": "100", "STEP_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    states = []
    versions = sorted(p.name.removesuffix(".json") for p in (reference / "manifests").iterdir())
    for version in versions:
        (reference / "CURRENT").write_text(version + "\n")
        if state(reference) not in states:
            states.append(state(reference))
    assert len(states) == 1 + commits, "the pristine version and one state per commit"
    assert len(versions) > 4, "merges published versions of their own between the commits"
    started, wall = time.monotonic(), time.time()
    timed_dir = shutil.copytree(pristine, root / "timed")
    timed = run([*args, "--index", str(timed_dir)], {**env, "RAG_KEEP_VERSIONS": "100"})
    assert timed.returncode == 0
    # When each version of the timed run was published (seconds after its start): kills between
    # them land in different commits, however the run's time is split between model loading,
    # embedding and committing.
    published = sorted(p.stat().st_mtime - wall for p in (timed_dir / "manifests").iterdir() if p.name != "v000001.json")
    return {
        "published": published,
        "docs": docs,
        "pristine": pristine,
        "args": args,
        "env": env,
        "states": states,
        "final": states[-1],
        "steps": log.read_text().split(),
        "seconds": time.monotonic() - started,
        "root": root,
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return build_scenario(tmp_path_factory.mktemp("crash"), big=False)


@pytest.fixture(scope="module")
def big_scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return build_scenario(tmp_path_factory.mktemp("crash-big"), big=True)


@pytest.fixture(scope="module")
def background_scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    # Every merge in the background (rag.index.merger): built in a thread while the ingest goes
    # on, published at a later commit or, after the last, by the thread itself.
    # A commit per file, so that the last commit starts a merge, which its thread publishes itself
    # while `rag ingest` waits for it.
    return build_scenario(tmp_path_factory.mktemp("crash-background"), big=False, env_more={"RAG_MERGE_BACKGROUND_ROWS": "1", "RAG_COMMIT_EVERY": "1"})


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return E5Embedder(threads=2)


def check_after_crash(index_dir: Path, scenario: dict[str, object], e5: E5Embedder) -> None:
    store = IndexStore(index_dir)
    with store.open(e5.info) as snap:
        assert snap.verify() == [], "every part of the committed version agrees"
        current = {s.path: s.content_hash for s in snap.sources()}
        assert current in scenario["states"], "the index holds a state some commit produced"  # type: ignore[operator]
        # It answers: each chunk's own text finds that chunk first, densely and by keywords.
        for chunk in snap.chunks()[:: max(1, snap.n_chunks // 4)]:
            hit = snap.dense_search(e5.embed_queries([chunk.text])[0], 1)[0]
            assert hit.chunk.chunk_id == chunk.chunk_id
            assert snap.keyword_search(chunk.text, 1)[0].chunk.chunk_id == chunk.chunk_id


def check_recovers(index_dir: Path, scenario: dict[str, object]) -> None:
    again = run([*scenario["args"], "--index", str(index_dir)], scenario["env"])  # type: ignore[list-item, arg-type]
    assert again.returncode == 0, again.stderr
    assert state(index_dir) == scenario["final"]
    with IndexStore(index_dir).open() as snap:
        assert snap.verify() == []
    leftovers = [p.name for p in (index_dir / "segments").iterdir() if not p.name.startswith("s")]
    assert leftovers == [], "crashed writers' staging directories are cleaned up"
    assert all(p.name.startswith("v") for p in (index_dir / "manifests").iterdir()), "no half-written manifest is left"
    assert len(list((index_dir / "manifests").iterdir())) <= 2, "old versions are cleaned up"
    named = {s.name for n in (index_dir / "manifests").iterdir() for s in IndexStore(index_dir).read_manifest(n.name.removesuffix(".json")).segments}
    assert {p.name for p in (index_dir / "segments").iterdir()} == named, "segments no kept version names are removed"
    assert not [p.name for p in index_dir.iterdir() if p.name.endswith(".tmp")], "no half-written CURRENT is left"


def kill_points(steps: list[str]) -> list[int]:
    critical = [i + 1 for i, name in enumerate(steps) if name.split(":")[0] in {"rename", "replace"}]
    others = [i + 1 for i in range(len(steps)) if i + 1 not in critical]
    room = max(0, MAX_STEP_POINTS - len(critical))
    spread = others[:: max(1, len(others) // room)][:room] if room else []
    return sorted(set(critical + spread))


def test_kill_at_file_system_steps(scenario: dict[str, object], e5: E5Embedder, tmp_path: Path) -> None:
    points = kill_points(scenario["steps"])  # type: ignore[arg-type]
    assert len(points) >= 40
    seen_states = set()
    for point in points:
        index_dir = tmp_path / f"k{point}"
        shutil.copytree(scenario["pristine"], index_dir)  # type: ignore[arg-type]
        result = run([*scenario["args"], "--index", str(index_dir)], scenario["env"], kill_at=point)  # type: ignore[list-item, arg-type]
        assert result.returncode == -signal.SIGKILL, f"step {point} ({scenario['steps'][point - 1]}) was not reached"  # type: ignore[index]
        check_after_crash(index_dir, scenario, e5)
        seen_states.add(scenario["states"].index(state(index_dir)))  # type: ignore[attr-defined]
        check_recovers(index_dir, scenario)
        shutil.rmtree(index_dir)
    # The kills landed in different commits: the index was found in several distinct states.
    assert len(seen_states) >= 3, seen_states


def test_kill_at_wall_clock_moments(big_scenario: dict[str, object], e5: E5Embedder, tmp_path: Path) -> None:
    scenario = big_scenario
    seen_states = set()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(scenario["env"])  # type: ignore[arg-type]
    total = float(scenario["seconds"])  # type: ignore[arg-type]
    events = [0.0, *scenario["published"], total]  # type: ignore[list-item]
    moments = sorted({(a + b) / 2 for a, b in zip(events, events[1:]) if b - a > 0.2} | {0.25 * total, 0.97 * total})
    for n, moment in enumerate(moments[:7]):
        index_dir = tmp_path / f"t{n}"
        shutil.copytree(scenario["pristine"], index_dir)  # type: ignore[arg-type]
        process = subprocess.Popen(
            [sys.executable, str(KILLABLE), *scenario["args"], "--index", str(index_dir)],  # type: ignore[list-item]
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        check_after_crash(index_dir, scenario, e5)
        seen_states.add(scenario["states"].index(state(index_dir)))  # type: ignore[attr-defined]
        check_recovers(index_dir, scenario)
    assert len(seen_states) >= 2, f"the kills should land in different commits, saw states {seen_states}"


def test_kill_during_background_merges(background_scenario: dict[str, object], e5: E5Embedder, tmp_path: Path) -> None:
    """Kills in a run whose merges all run in a background thread: at the thread's own steps
    (building the merged segment, publishing it) and at the renames and replaces of the whole run.
    Threads interleave differently from run to run, so the N-th step is not always the same one:
    each kill records the step it landed on."""
    scenario = background_scenario
    steps: list[str] = scenario["steps"]  # type: ignore[assignment]
    thread = [i + 1 for i, name in enumerate(steps) if name.endswith("@rag-merge")]
    assert any(name.startswith(("rename", "replace")) and name.endswith("@rag-merge") for name in steps), "the thread published a merge itself"
    critical = [i + 1 for i, name in enumerate(steps) if name.split(":")[0] in {"rename", "replace"} and i + 1 not in thread]
    points = sorted(set(thread[:: max(1, len(thread) // 14)][:14] + critical[:: max(1, len(critical) // 10)][:10]))
    landed: list[str] = []
    for point in points:
        index_dir = tmp_path / f"b{point}"
        shutil.copytree(scenario["pristine"], index_dir)  # type: ignore[arg-type]
        note = tmp_path / f"b{point}.killed"
        result = run([*scenario["args"], "--index", str(index_dir)], {**scenario["env"], "KILLED_AT": str(note)}, kill_at=point)  # type: ignore[list-item, dict-item]
        if result.returncode == -signal.SIGKILL:
            landed.append(note.read_text())
        check_after_crash(index_dir, scenario, e5)
        check_recovers(index_dir, scenario)
        shutil.rmtree(index_dir)
    assert len(landed) >= len(points) - 2, "almost every step was reached (a run's step count varies by a few with the threads)"
    assert sum(name.endswith("@rag-merge") for name in landed) >= 5, landed
