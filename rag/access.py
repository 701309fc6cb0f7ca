"""Who may read and change which collections: API keys and the scope each one carries.

A key may read the collections in ``read`` and upload to and delete from those in ``write``
(``"*"``: every collection; an empty ``write``: none). A table naming only ``read`` writes
nothing, one naming only ``write`` reads those, an empty table reads and writes everything. In
the config file::

    [api_keys."KEY-OF-HR"]
    read = ["hr"]
    write = ["hr"]

    [api_keys."KEY-OF-EVERYONE"]
    read = ["*"]
    write = []

and in the environment as JSON, ``RAG_API_KEYS='{"KEY": {"read": ["hr"], "write": []}}'``. A flat
list (``RAG_API_KEYS=k1,k2``, ``api_keys = ["k1", "k2"]``) keeps its earlier meaning: every key
reads and writes every collection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from rag.domain import check_collection

__all__ = ["ALL", "FULL", "ApiKey", "Scope", "parse_api_keys"]

ALL = "*"


@dataclass(frozen=True, slots=True)
class Scope:
    """The collections a caller may read and write (``None``: every one)."""

    read: frozenset[str] | None = None
    write: frozenset[str] | None = None

    def can_read(self, collection: str) -> bool:
        return self.read is None or collection in self.read

    def can_write(self, collection: str) -> bool:
        return self.write is None or collection in self.write

    @property
    def everything(self) -> bool:
        """Reads and writes every collection (a flat key, or no keys at all): may see /metrics."""
        return self.read is None and self.write is None

    def readable(self, collections: list[str] | None = None) -> frozenset[str] | None:
        """The collections a query may search: the caller's, narrowed to ``collections`` if given
        (``None``: every one)."""
        if collections is None:
            return self.read
        asked = frozenset(collections)
        return asked if self.read is None else asked & self.read


FULL = Scope()


def _entries(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("read and write are lists of collection names ('*': every one)")
    out = tuple(value)
    for name in out:
        if name != ALL:
            check_collection(name)
    return out


class ApiKey(BaseModel):
    """One API key and the collections it may read and write."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: SecretStr
    read: tuple[str, ...] = (ALL,)
    write: tuple[str, ...] = (ALL,)

    @field_validator("read", "write", mode="before")
    @classmethod
    def _names(cls, value: Any) -> tuple[str, ...]:
        return _entries(value)

    @field_validator("key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("an API key cannot be empty")
        return value

    @property
    def scope(self) -> Scope:
        return Scope(None if ALL in self.read else frozenset(self.read), None if ALL in self.write else frozenset(self.write))


def _defaults(entry: Any) -> Any:
    """A table that names only what a key reads gives it no writes; one that names only what it
    writes lets it read those; an empty table is a key for everything."""
    if isinstance(entry, dict):
        if "read" in entry and "write" not in entry:
            return {**entry, "write": []}
        if "write" in entry and "read" not in entry:
            return {**entry, "read": entry["write"]}
    return entry


def parse_api_keys(value: Any) -> Any:
    """The setting's raw value (a comma-separated string, a JSON object, a list of keys, a table of
    key -> {read, write}) as a list of :class:`ApiKey` inputs; pydantic validates the rest."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"RAG_API_KEYS is not valid JSON ({exc.msg} at character {exc.pos}); a flat list is key1,key2") from None
        else:
            value = [k.strip() for k in text.split(",") if k.strip()]
    if isinstance(value, dict):
        out = []
        for key, scope in value.items():
            if not isinstance(scope, dict) or "key" in scope:
                raise ValueError("each key maps to a table with 'read' and 'write' lists of collections")
            out.append({"key": key, **scope})
        value = out
    if isinstance(value, list):
        value = [{"key": v} if isinstance(v, str | SecretStr) else _defaults(v) for v in value]
        keys = [str(v["key"].get_secret_value() if isinstance(v["key"], SecretStr) else v["key"]) for v in value if isinstance(v, dict) and "key" in v]
        if len(keys) != len(set(keys)):
            raise ValueError("an API key is listed twice")
        return value
    return value
