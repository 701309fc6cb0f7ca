"""Run the real ``rag`` command, killing itself with SIGKILL at the N-th file-system step.

Used by tests/test_crash.py. Every call of the functions below (by the index store, the
parsers or anything else in the process) is a step, counted once before and once after the
call; ``KILL_AT=N`` sends SIGKILL to this process at step N, ``KILL_AT=0`` never kills, and
``STEP_LOG=FILE`` records the steps' names (one per line) as they happen, ``KILLED_AT=FILE``
the name of the step it was killed at.

    KILL_AT=17 python tests/tools/killable_rag.py ingest docs --index idx
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading

import faiss

_target = int(os.environ.get("KILL_AT", "0"))
_steps: list[str] = []


_log = open(os.environ["STEP_LOG"], "w", encoding="utf-8") if os.environ.get("STEP_LOG") else None  # noqa: SIM115


_counting = threading.Lock()  # steps come from several threads (a background merge's, a server's)


def _step(name: str) -> None:
    with _counting:
        _steps.append(name)
        if _log is not None:  # as it happens: a server stopped by a signal never runs atexit handlers
            _log.write(name + "\n")
            _log.flush()
        if len(_steps) == _target:
            if os.environ.get("KILLED_AT"):  # which step it was (threads interleave differently per run)
                with open(os.environ["KILLED_AT"], "w", encoding="utf-8") as fh:
                    fh.write(name)
            os.kill(os.getpid(), signal.SIGKILL)


def _wrap(module: object, attr: str) -> None:
    real = getattr(module, attr)

    def wrapper(*args: object, **kwargs: object) -> object:
        thread = threading.current_thread().name
        where = "" if thread == "MainThread" else "@" + "_".join(thread.split())  # e.g. @rag-merge: a background merge's step
        _step(f"{attr}:before{where}")
        result = real(*args, **kwargs)
        _step(f"{attr}:after{where}")
        return result

    setattr(module, attr, wrapper)


for _module, _attr in [
    (os, "rename"),
    (os, "replace"),
    (os, "fsync"),
    (os, "mkdir"),
    (os, "unlink"),
    (os, "rmdir"),
    (shutil, "copyfile"),
    (faiss, "write_index"),
]:
    _wrap(_module, _attr)



if __name__ == "__main__":
    from rag.cli import main

    main(sys.argv[1:])
