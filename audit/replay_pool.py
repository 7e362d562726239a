"""Replay over several processes: records are independent, so each job replays its share with its own model.

Processes are spawned (not forked: a forked copy of a process that already ran
torch's thread pool can hang), run torch on one thread each, load the model
versions they will need once when they start, and return outcomes that are put
back in log order. Bit-exactness does not depend on the job count: each record
is explained alone with one fixed batch shape, whatever process runs it.
"""

from __future__ import annotations

import multiprocessing
import re
from typing import Iterator

_MODELS = None  # the per-process ModelCache
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _start(versions: list[str]) -> None:
    global _MODELS
    import torch

    from tickscope.audit.replay import ModelCache, ReplayError

    torch.set_num_threads(1)
    _MODELS = ModelCache()
    for version in versions:
        if _HEX64.fullmatch(version or ""):
            try:
                _MODELS.get(version)
            except ReplayError:
                pass  # each record that needs it reports the error


def _replay(item: tuple[int, bytes, bool]):
    from tickscope.audit.replay import replay_body

    seq, body, keep = item
    return replay_body(seq, body, _MODELS, keep)


def replay_parallel(items: list[tuple[int, bytes]], jobs: int, keep: bool, versions: list[str]) -> Iterator:
    """Outcomes of ``items`` ((seq, body) in log order), computed by ``jobs`` processes, yielded in log order."""
    ctx = multiprocessing.get_context("spawn")
    chunk = max(1, min(8, len(items) // (jobs * 4) or 1))
    with ctx.Pool(jobs, initializer=_start, initargs=(versions,)) as pool:
        yield from pool.imap(_replay, [(seq, body, keep) for seq, body in items], chunksize=chunk)


class WarmPool:
    """A pool kept open across calls (the benchmark measures throughput without the start-up)."""

    def __init__(self, jobs: int, versions: list[str]):
        self.jobs = jobs
        self._pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_start, initargs=(versions,))

    def replay(self, items: list[tuple[int, bytes]]) -> list:
        chunk = max(1, min(8, len(items) // (self.jobs * 4) or 1))
        return self._pool.map(_replay, [(seq, body, False) for seq, body in items], chunksize=chunk)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()
