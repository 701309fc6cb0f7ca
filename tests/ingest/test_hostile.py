"""Hostile files and folders cannot hurt an ingest: decompression bombs are refused within a memory
budget, parser errors are one skipped file, discovery never opens a FIFO, survives link loops and
does not follow links out of the folders given. The bombs are built at run time (tests/tools/bombs.py)."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.limits import ParseLimits
from ingest.loaders import load_document
from rag.errors import FileTooLargeError
from tests.conftest import RAG_BIN
from tests.tools.bombs import docx_bomb, pdf_bomb

MB = 1 << 20
LIMITS = ParseLimits.for_file_limit(25 * MB)


@pytest.mark.parametrize("isolate", [False, True])
def test_a_pdf_bomb_is_one_refused_file(tmp_path: Path, isolate: bool) -> None:
    bomb = pdf_bomb(tmp_path / "bomb.pdf")
    with pytest.raises(FileTooLargeError, match="inflates past pypdf's limits .* possible decompression bomb"):
        load_document(bomb, max_bytes=25 * MB, limits=ParseLimits.for_file_limit(25 * MB, isolate=isolate))


@pytest.mark.parametrize("member", ["word/media/image1.png", "word/document.xml"])
def test_a_docx_bomb_is_refused_from_its_directory_before_inflating(tmp_path: Path, member: str) -> None:
    bomb = docx_bomb(tmp_path / "bomb.docx", member=member)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(FileTooLargeError, match=rf"inflates to over 200 MB \(member '{member}' alone 1024 MB\): refused as a possible zip bomb"):
        load_document(bomb, max_bytes=25 * MB, limits=LIMITS)
    assert time.monotonic() - started < 2
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 50 * MB  # nothing inflated


def test_the_parser_subprocess_keeps_to_its_memory_budget(tmp_path: Path) -> None:
    # A package under the zip limits that still needs more memory than the parser may use.
    big = docx_bomb(tmp_path / "big.docx", member="word/media/image1.png", inflated_mb=150)
    with pytest.raises(Exception, match="parse_memory_mb"):
        load_document(big, max_bytes=25 * MB, limits=ParseLimits.for_file_limit(25 * MB, memory_mb=256))


def hostile_folder(root: Path, outside: Path) -> Path:
    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.txt").write_text("提现一般需要一个工作日。Withdrawals take one business day.", encoding="utf-8")
    os.mkfifo(docs / "x.txt")  # reading it would block for ever
    pdf_bomb(docs / "bomb.pdf")
    docx_bomb(docs / "image-bomb.docx")
    docx_bomb(docs / "xml-bomb.docx", member="word/document.xml")
    (docs / "loop.txt").symlink_to(docs / "loop.txt")  # a link to itself
    (docs / "sub" / "up").symlink_to(docs)  # a folder link back up
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("outside the folder given", encoding="utf-8")
    (docs / "leak.txt").symlink_to(outside / "secret.txt")
    (docs / "elsewhere").symlink_to(outside)
    return docs


def test_discovery_skips_what_it_must_not_open_or_follow(tmp_path: Path) -> None:
    docs = hostile_folder(tmp_path, tmp_path / "outside")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(docs / "sock.md"))
    try:
        files, skipped = discover([docs])
    finally:
        server.close()
    names = sorted(p.name for p in files)
    assert names == ["bomb.pdf", "good.txt", "image-bomb.docx", "xml-bomb.docx"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert reasons["x.txt"] == "a FIFO (named pipe), not a regular file: skipped"
    assert reasons["sock.md"] == "a socket, not a regular file: skipped"
    assert reasons["loop.txt"] == "a symbolic link loop"
    assert "a symbolic link out of the folders given" in reasons["leak.txt"] and "--follow-links" in reasons["leak.txt"]
    assert "a symbolic link out of the folders given" in reasons["elsewhere"]
    assert "up" not in reasons  # a link back inside: its files are found under their real paths

    followed, skipped = discover([docs], follow_links=True)
    assert {p.name for p in followed} >= {"good.txt", "secret.txt"}
    assert len([p for p in followed if p.name == "good.txt"]) == 1
    assert any("symbolic link loop" in s.reason for s in skipped)


def test_a_fifo_named_explicitly_is_refused_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.txt")
    files, skipped = discover([tmp_path / "x.txt"])
    assert files == [] and skipped[0].reason == "a FIFO (named pipe), not a regular file: skipped"


_PEAK = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"


def peak_rss_of(args: list[str], env: dict[str, str]) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run ``args``; the peak RSS (bytes) of the largest process it started, and its result."""
    done = subprocess.run([sys.executable, "-c", _PEAK, *args], capture_output=True, text=True, env=env, timeout=600)
    last = done.stdout.strip().splitlines()[-1]
    return int(last) * 1024, done


@pytest.mark.e2e
@pytest.mark.model
def test_rag_ingest_takes_the_good_file_and_reports_each_hostile_one(tmp_path: Path) -> None:
    docs = hostile_folder(tmp_path, tmp_path / "outside")
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    (quiet / "good.txt").write_text("提现一般需要一个工作日。", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    idle, baseline = peak_rss_of([str(RAG_BIN), "ingest", str(quiet), "--index", str(tmp_path / "idle-index")], env)
    assert baseline.returncode == 0, baseline.stderr
    started = time.monotonic()
    peak, done = peak_rss_of([str(RAG_BIN), "ingest", str(docs), "--index", str(tmp_path / "index"), "--json"], env)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 300, "nothing hangs"
    assert "Traceback" not in done.stderr
    report = json.loads("\n".join(done.stdout.strip().splitlines()[:-1]))  # the last line is the peak RSS
    assert report["files_added"] == 1
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert {"x.txt", "bomb.pdf", "image-bomb.docx", "xml-bomb.docx", "loop.txt", "leak.txt", "elsewhere"} <= set(reasons)
    assert "decompression bomb" in reasons["bomb.pdf"] and "zip bomb" in reasons["xml-bomb.docx"]
    assert peak - idle < 800 * MB, f"peak RSS {peak / MB:.0f} MB, idle {idle / MB:.0f} MB"
    listed = subprocess.run([str(RAG_BIN), "info", "--index", str(tmp_path / "index"), "--sources", "--json"],
                            capture_output=True, text=True, env=env, check=True)
    assert [Path(s["path"]).name for s in json.loads(listed.stdout)["source_list"]] == ["good.txt"]


@pytest.mark.e2e
@pytest.mark.model
def test_names_with_control_and_bidi_characters_are_printed_escaped(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "invoice\u202etxt.exe\x1b[2J.md").write_text("提现一般需要一个工作日。", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    subprocess.run([str(RAG_BIN), "ingest", str(docs), "--index", str(tmp_path / "index")], capture_output=True, env=env, check=True)
    shown = subprocess.run([str(RAG_BIN), "info", "--index", str(tmp_path / "index"), "--sources"], capture_output=True, text=True, env=env, check=True)
    assert "invoice\\u202etxt.exe\\x1b[2J.md" in shown.stdout
    assert "\u202e" not in shown.stdout and "\x1b" not in shown.stdout
