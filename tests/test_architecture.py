"""The architecture as tests: the import contract (pyproject.toml [tool.importlinter]) holds, it
catches a bad import, no import circle between the packages, and no source file over 450 lines."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rag", "ingest", "eval", "api")
MAX_LINES = 450


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over ``project``'s packages and pyproject.toml (run there: it imports from the
    working directory first, so a scratch copy is analysed, not the installed tree)."""
    tool = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(tool), "--no-cache", "--no-logo"], cwd=project, capture_output=True, text=True, timeout=120)


def test_the_import_contract_holds() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("rag/answering/extractive.py", "from eval import runner", "eval is imported only by the composition root"),
        ("rag/service.py", "import api.state", "api is imported only by the composition root"),
        ("eval/runner.py", "from ingest import chunking", "ingest is imported only by"),
        ("ingest/chunking.py", "from rag.cli import factory", "Nothing imports the composition root"),
        ("rag/text/terms.py", "import rag.service", "No import circle"),
    ],
)
def test_the_contract_catches_a_bad_import(tmp_path: Path, module: str, bad_import: str, contract: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n\ndef _scratch() -> None:\n    {bad_import}  # noqa\n", encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def _package_of(module: str) -> str:
    return "rag.cli" if module == "rag.cli" or module.startswith("rag.cli.") else module.split(".")[0]


def test_no_import_circle_between_packages() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = _package_of(importer), _package_of(imported)
            if a != b:
                edges.setdefault(a, set()).add(b)
    assert edges["rag.cli"] >= {"ingest", "eval", "api", "rag"}  # the composition root wires them all
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            assert state.get(nxt) != "open", "import circle: " + " -> ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    assert not edges.get("rag", set()) & {"ingest", "eval", "api", "rag.cli"}  # the core imports none of them


def test_no_source_file_is_over_450_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for package in PACKAGES for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"
