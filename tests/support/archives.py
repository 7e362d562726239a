"""Real archive records and archives built from them, for the archive tests.

Records are real: EURUSD ticks through the worker's own detect and explain
stages (``tickscope.streams.offline``), explained by the real explainer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from tickscope.audit.archive_store import Incoming, open_store
from tickscope.audit.heads import KEY_FILE, PUB_FILE, Signer, load_signer
from tickscope.marketdata.sources import load_source
from tickscope.models.registry import load
from tickscope.streams.offline import detect, explain_all, tick_messages


@lru_cache(maxsize=1)
def real_signals(limit_ticks: int = 2000) -> tuple:
    """Signals the real detector fires on the first EURUSD ticks (micro-batches of 64, as a busy worker)."""
    torch.set_num_threads(1)
    messages = tick_messages("EURUSD", load_source("eurusd")[:limit_ticks])
    signals = detect(messages, load(), cooldown=8, batch_size=64, now_ms=1_700_000_000_000).signals
    assert len(signals) >= 14, "expected the default model to fire on EURUSD"
    return tuple(signals)


@lru_cache(maxsize=1)
def real_records() -> tuple:
    """ArchiveRecords made from the first 14 real signals by the worker's explain path."""
    return tuple(explain_all(list(real_signals()[:14]), load()))


def incoming(records, start_offset: int = 0) -> list[Incoming]:
    """Records as the archiver receives them from partition 0 of ``explanations``."""
    return [Incoming(r.to_json(), r.signal_id.encode(), f"explanations/0@{start_offset + i}")
            for i, r in enumerate(records)]


def signer_in(data_dir: Path) -> Signer:
    """The signing key of ``data_dir/keys`` (created the first time, as for a new archive)."""
    return load_signer(None, Path(data_dir) / "keys" / KEY_FILE, archive_empty=True)


def public_key_file(data_dir: Path) -> Path:
    return Path(data_dir) / "keys" / PUB_FILE


def build_archive(path, records, batch: int = 4, data_dir: Path | None = None) -> Signer:
    """An archive holding ``records``, appended ``batch`` at a time (one signed head per batch); returns the signer.

    Reopening an existing archive continues its log through the archiver's own start check.
    """
    from tickscope.audit.startup import check_log

    signer = signer_in(data_dir if data_dir is not None else Path(str(path)).parent)
    store = open_store(path, read_only=False)
    if not store.is_empty():
        state = check_log(store, {signer.key_id: signer.public_raw}, None)
        store.adopt(state.frontier, state.last_head)
    store.register_key(signer, 1)
    for k in range(0, len(records), batch):
        store.append_batch(incoming(records[k:k + batch], k), {("explanations", 0): k + batch}, signer,
                           1_700_000_000_000 + k)
    store.close()
    return signer


def witness_values(path) -> list[bytes]:
    """The heads of an archive as the archiver published them (taken before any attack): a witness file's lines."""
    with open_store(path, read_only=True) as store:
        return [h.to_json_bytes() for h in store.heads()]
