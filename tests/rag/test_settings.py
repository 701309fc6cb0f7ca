from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.settings import Settings, load_settings


def test_defaults_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CHUNK_SIZE", "99")
    assert Settings().chunk_size == 320  # only load_settings reads the environment


def test_precedence_overrides_env_file_defaults(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text('chunk_size = 200\nmax_file_mb = 5\nindex_dir = "from-file"\n', encoding="utf-8")
    settings = load_settings(config, environ={"RAG_CHUNK_SIZE": "150"}, index_dir=Path("from-arg"))
    assert settings.chunk_size == 150
    assert settings.max_file_mb == 5
    assert settings.index_dir == Path("from-arg")
    assert settings.max_file_bytes == 5 * 1024 * 1024


def test_config_file_from_env_and_rag_table(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[rag]\ncommit_every = 7\n", encoding="utf-8")
    assert load_settings(environ={"RAG_CONFIG": str(config)}).commit_every == 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_size": 10, "chunk_overlap": 10}, r"chunk_overlap \(10\) must be smaller than chunk_size \(10\)"),
        ({"chunk_size": 0}, "chunk_size: Input should be greater than 0"),
        ({"embedder": "sentence-transformers"}, "needs embedder_model"),
        ({"embedder": "word2vec"}, "embedder: Input should be 'e5' or 'sentence-transformers'"),
    ],
)
def test_invalid_values_give_one_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, **kwargs)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("chunk_size = = 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(bad, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("chunk_sise = 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting\\(s\\) chunk_sise"):
        load_settings(unknown, environ={})


def test_bad_env_value() -> None:
    with pytest.raises(ConfigError, match="chunk_size: Input should be a valid integer"):
        load_settings(environ={"RAG_CHUNK_SIZE": "lots"})
