"""The parser subprocess of :mod:`ingest.isolation`: ``python -m ingest.parse_worker SUFFIX MEMORY_MB TEXT_FIELD``.

Limits its own address space to MEMORY_MB first, reads a file's bytes from stdin, runs the loader
for SUFFIX and writes one JSON object to stdout: ``{"text", "pages", "breaks"}``, or
``{"error": class name, "reason": one line}`` for a file the loader refuses.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    suffix, memory_mb, text_field = argv[0], int(argv[1]), argv[2]
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from ingest.loaders import load_inline
    from rag.errors import IngestError

    data = sys.stdin.buffer.read()
    try:
        text, pages, breaks = load_inline(Path("file" + suffix), data, text_field=text_field)
    except IngestError as exc:
        reason = exc.reason
        if reason.endswith("ran out of memory"):
            reason += f" (the parser may use {memory_mb} MB: setting parse_memory_mb)"
        reply: dict[str, object] = {"error": type(exc).__name__, "reason": reason}
    except MemoryError:
        reply = {"error": "FileTooLargeError", "reason": f"parsing needed more than {memory_mb} MB (setting parse_memory_mb): skipped"}
    else:
        reply = {"text": text, "pages": pages, "breaks": breaks}
    sys.stdout.buffer.write(json.dumps(reply).encode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
