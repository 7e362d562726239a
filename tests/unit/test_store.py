"""The archive store: idempotent by signal_id, atomic batches, offsets with the data, SQLite and PostgreSQL.

Records are real: EURUSD ticks through the real SignalDetector, explained by the real explainer.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from tests.support import require
import torch

import models
from audit.heads import load_or_create_signer
from audit.store import ArchiveError, Incoming, open_store
from audit.verify import verify_store
from streams.archive import baseline_sha256
from streams.explain import ExplainConfig
from streams.ingest import Source
from streams.signals import Message, SignalDetector
from streams.sources import load_source
from tickscope.broker import free_port

PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/nonexistent"),
             key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


@lru_cache(maxsize=1)
def real_signals(limit_ticks: int = 2000) -> tuple:
    """Signals the real detector fires on the first EURUSD ticks."""
    torch.set_num_threads(1)
    model = models.load()
    detector = SignalDetector(model, cooldown_ticks=8, max_message_bytes=4096)
    msgs = [Message(b"EURUSD", json.dumps({"symbol": "EURUSD", "ts": r.ts, "price": r.price, "size": r.size}).encode(),
                    Source("ticks", 0, i)) for i, r in enumerate(load_source("eurusd")[:limit_ticks])]
    signals = []
    for start in range(0, len(msgs), 64):
        signals += detector.process(msgs[start:start + 64], 1_700_000_000_000).signals
    assert len(signals) >= 14, "expected the default model to fire on EURUSD"
    return tuple(signals)


@lru_cache(maxsize=1)
def real_records() -> tuple:
    """ArchiveRecords made from real signals by the worker's explain path."""
    from audit.replay import explain_signal

    model = models.load()
    baseline = model.baseline.numpy()
    config = ExplainConfig()
    return tuple(explain_signal(s, model.net, baseline, baseline_sha256(baseline), config, s.scored_at + 5)
                 for s in real_signals()[:14])


def incoming(records, start_offset: int = 0) -> list[Incoming]:
    return [Incoming(r.to_json(), r.signal_id.encode(), f"explanations/0@{start_offset + i}")
            for i, r in enumerate(records)]


def build_archive(path, records, batch: int = 4, data_dir: Path | None = None):
    """An archive holding ``records``, appended ``batch`` at a time (one signed head per batch)."""
    signer = load_or_create_signer(data_dir or Path(str(path)).parent if not str(path).startswith("postgres")
                                   else data_dir)
    store = open_store(path, read_only=False)
    store.register_key(signer, 1)
    for k in range(0, len(records), batch):
        store.append_batch(incoming(records[k:k + batch], k), {("explanations", 0): k + batch}, signer,
                           1_700_000_000_000 + k)
    store.close()
    return signer


def test_records_round_trip_with_index_columns(tmp_path):
    recs = real_records()[:12]
    build_archive(tmp_path / "a.sqlite", recs)
    with open_store(tmp_path / "a.sqlite", read_only=True) as store:
        rows = list(store.records())
        assert [r.seq for r in rows] == list(range(len(recs)))
        assert [r.signal_id for r in rows] == [r.signal_id for r in recs]
        assert rows[0].value()["attributions"] == json.loads(recs[0].to_json())["attributions"]
        assert store.offsets() == {("explanations", 0): 12}
        assert len(store.heads()) == 3
        some = recs[3]
        assert [r.signal_id for r in store.records(signal_id=some.signal_id)] == [some.signal_id]
        assert len(list(store.records(symbol="EURUSD", ts_from=recs[2].ts, ts_to=recs[4].ts))) == 3
        assert not list(store.records(symbol="GOOG"))
    con = sqlite3.connect(tmp_path / "a.sqlite")
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"records_symbol_ts", "records_ts", "records_model_version"} <= indexes


def test_same_record_twice_is_ignored_and_a_different_one_is_flagged(tmp_path):
    recs = real_records()[:4]
    signer = build_archive(tmp_path / "a.sqlite", recs)
    store = open_store(tmp_path / "a.sqlite", read_only=False)
    store.load_frontier()
    again = store.append_batch(incoming(recs[:2], 100), {("explanations", 0): 102}, signer, 1_800_000_000_000)
    assert (again.appended, again.duplicates, again.conflicts, again.head) == (0, 2, 0, None)
    later = recs[0].model_copy(update={"produced_at": recs[0].produced_at + 1000})
    changed = recs[1].model_copy(update={"base_value": recs[1].base_value + 1e-9})
    res = store.append_batch(incoming([later, changed], 200), {}, signer, 1_800_000_000_001)
    assert (res.appended, res.conflicts) == (0, 2)
    assert store.count() == 4
    assert [c["kind"] for c in store.conflicts()] == ["wall_clock_only", "content"]
    assert store.offsets() == {("explanations", 0): 102}
    store.close()


def test_bad_messages_are_kept_in_rejected_not_in_the_log(tmp_path):
    recs = real_records()[:1]
    signer = build_archive(tmp_path / "a.sqlite", recs)
    store = open_store(tmp_path / "a.sqlite", read_only=False)
    bad = [Incoming(b"not json", b"k", "explanations/1@0"), Incoming(b"[1]", None, "explanations/1@1"),
           Incoming(recs[0].to_json(), b"other-key", "explanations/1@2"),
           Incoming(json.dumps({**json.loads(recs[0].to_json()), "window": "x"}).encode(), None, "explanations/1@3")]
    res = store.append_batch(bad, {("explanations", 1): 4}, signer, 1_800_000_000_000)
    assert (res.appended, res.rejected) == (0, 4)
    assert [r["reason"] for r in store.rejected()] == ["undecodable", "not_object", "key_mismatch", "invalid"]
    assert store.count() == 1
    store.close()


def test_a_newer_schema_record_is_archived_verbatim(tmp_path):
    rec = json.loads(real_records()[0].to_json())
    rec.update(schema_version=2, quality={"stability": 0.9}, signal_id=rec["signal_id"])
    signer = load_or_create_signer(tmp_path)
    store = open_store(tmp_path / "a.sqlite", read_only=False)
    store.register_key(signer, 1)
    res = store.append_batch([Incoming(json.dumps(rec).encode(), None, "e/0@0")], {}, signer, 1)
    assert (res.appended, res.newer_schema) == (1, 1)
    assert next(store.records()).value()["quality"] == {"stability": 0.9}
    store.close()


def test_a_failed_batch_leaves_nothing_behind(tmp_path):
    recs = real_records()[:6]
    signer = build_archive(tmp_path / "a.sqlite", recs[:2])

    class Broken:
        key_id = signer.key_id

        def sign(self, *a):
            raise RuntimeError("disk full")

    store = open_store(tmp_path / "a.sqlite", read_only=False)
    with pytest.raises(RuntimeError):
        store.append_batch(incoming(recs[2:5], 2), {("explanations", 0): 5}, Broken(), 2)
    assert store.count() == 2 and store.offsets() == {("explanations", 0): 4}
    store.append_batch(incoming(recs[2:6], 2), {("explanations", 0): 6}, signer, 3)  # the retry after a restart
    store.close()
    with open_store(tmp_path / "a.sqlite", read_only=True) as ro:
        assert ro.count() == 6
        assert verify_store(ro).ok


def test_reopening_continues_the_same_log(tmp_path):
    recs = real_records()
    build_archive(tmp_path / "a.sqlite", recs[:5])
    build_archive(tmp_path / "a.sqlite", recs)  # a restart that re-reads everything: only the new ones land
    with open_store(tmp_path / "a.sqlite", read_only=True) as ro:
        assert ro.count() == len(recs)
        result = verify_store(ro)
        assert result.ok, result.problems


def test_read_only_open_never_creates_or_changes(tmp_path):
    missing = tmp_path / "nope.sqlite"
    with pytest.raises(ArchiveError, match="no archive at"):
        open_store(missing, read_only=True)
    assert not missing.exists()
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    before = garbage.read_bytes()
    with pytest.raises(ArchiveError, match="garbage.sqlite"):
        open_store(garbage, read_only=True)
    assert garbage.read_bytes() == before
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ArchiveError, match="not a (readable )?tickscope archive"):
        open_store(other, read_only=True)


def test_an_archive_from_a_newer_tickscope_is_refused(tmp_path):
    build_archive(tmp_path / "a.sqlite", real_records()[:1])
    con = sqlite3.connect(tmp_path / "a.sqlite")
    con.execute("UPDATE meta SET value = '99' WHERE key = 'store_schema_version'")
    con.commit()
    con.close()
    with pytest.raises(ArchiveError, match="schema_version 99, newer"):
        open_store(tmp_path / "a.sqlite", read_only=True)


def test_signing_key_is_created_private_and_reused(tmp_path):
    a = load_or_create_signer(tmp_path)
    key = tmp_path / "keys" / "archive-ed25519.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == "0o700"
    assert load_or_create_signer(tmp_path).key_id == a.key_id
    assert "PRIVATE" not in repr(a) and key.read_text() not in repr(a)
    seed = "11" * 32
    assert load_or_create_signer(tmp_path, seed).key_id != a.key_id


# ---- PostgreSQL: a throwaway server of our own, on a free port in a temp dir ------------------------------------

@pytest.fixture(scope="module")
def postgres_url():
    if not (PG_BIN / "initdb").exists():
        require(False, "PostgreSQL server binaries not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="tickscope-pg-"))
    as_user = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = root / "data"
    subprocess.run([*as_user, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "tickscope",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://tickscope@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_postgresql_archive_behaves_like_sqlite(postgres_url, tmp_path):
    recs = real_records()
    signer = load_or_create_signer(tmp_path)
    store = open_store(postgres_url, read_only=False)
    store.register_key(signer, 1)
    store.load_frontier()
    for k in range(0, len(recs), 5):
        store.append_batch(incoming(recs[k:k + 5], k), {("explanations", 0): k + 5}, signer, 1_700_000_000_000 + k)
    dup = store.append_batch(incoming(recs[:3]), {("explanations", 0): 3}, signer, 1_800_000_000_000)
    assert dup.duplicates == 3 and dup.appended == 0
    store.close()
    with open_store(postgres_url, read_only=True) as ro:
        assert ro.count() == len(recs)
        assert [r.signal_id for r in ro.records()] == [r.signal_id for r in recs]
        result = verify_store(ro)
        assert result.ok, result.problems
        with pytest.raises(Exception):  # a read-only session cannot write
            ro._exec("DELETE FROM records")
    # the same log in SQLite has the same root: the archive format does not depend on the backend
    build_archive(tmp_path / "a.sqlite", recs, batch=5, data_dir=tmp_path)
    with open_store(tmp_path / "a.sqlite", read_only=True) as lite, open_store(postgres_url, read_only=True) as pg:
        assert verify_store(lite).root == verify_store(pg).root
        assert np.array_equal([h.root for h in lite.heads()], [h.root for h in pg.heads()][:3])
