"""Small numeric helpers the core's fitted policies share."""

from __future__ import annotations

import math

__all__ = ["logistic"]


def logistic(z: float, *, limit: float = 50.0) -> float:
    """The logistic function ``1 / (1 + e^-z)``, with ``z`` clamped to ``[-limit, limit]`` (no
    overflow). The one used by the abstention policy (:mod:`rag.answering.policy`) and the
    support policy (:mod:`rag.checking.policy`, ``limit=30``, what it was fitted and tested with)."""
    return 1.0 / (1.0 + math.exp(-max(-limit, min(limit, z))))
