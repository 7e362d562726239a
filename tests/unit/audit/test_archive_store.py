"""The archive store on SQLite: idempotent by signal_id, atomic batches, offsets stored with the data."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.support.archives import build_archive, incoming, real_records
from tickscope.audit.archive_store import ArchiveError, Incoming, open_store
from tickscope.audit.heads import load_or_create_signer
from tickscope.audit.verify import verify_store


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


