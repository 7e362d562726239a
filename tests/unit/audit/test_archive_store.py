"""The archive store on SQLite: idempotent by signal_id, atomic batches, offsets stored with the data, heads
linked by consistency proofs, and a writer that never signs a log it did not check."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.support.archives import build_archive, build_legacy_archive, incoming, real_records, reopen, signer_in
from tickscope.audit.archive_store import ArchiveError, DoubtfulLog, Incoming, open_store
from tickscope.audit.merkle import verify_consistency
from tickscope.audit.verify import verify_store
from tickscope.contracts.canonical import HASH_FORM_JCS, HASH_FORM_LEGACY, canonical_jcs


def test_records_round_trip_with_index_columns(tmp_path):
    recs = real_records()[:12]
    build_archive(tmp_path / "a.sqlite", recs)
    with open_store(tmp_path / "a.sqlite", read_only=True) as store:
        rows = list(store.records())
        assert [r.seq for r in rows] == list(range(len(recs)))
        assert [r.signal_id for r in rows] == [r.signal_id for r in recs]
        assert rows[0].value()["attributions"] == json.loads(recs[0].to_json())["attributions"]
        assert rows[0].body == canonical_jcs(json.loads(recs[0].to_json())) and rows[0].hash_form == HASH_FORM_JCS
        assert store.offsets() == {("explanations", 0): 12}
        assert len(store.heads()) == 3
        some = recs[3]
        assert [r.signal_id for r in store.records(signal_id=some.signal_id)] == [some.signal_id]
        assert len(list(store.records(symbol="EURUSD", ts_from=recs[2].ts, ts_to=recs[4].ts))) == 3
        assert not list(store.records(symbol="GOOG"))
    con = sqlite3.connect(tmp_path / "a.sqlite")
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"records_symbol_ts", "records_ts", "records_model_version"} <= indexes


def test_each_head_carries_a_consistency_proof_from_the_one_before(tmp_path):
    build_archive(tmp_path / "a.sqlite", real_records()[:12], batch=5)
    with open_store(tmp_path / "a.sqlite", read_only=True) as store:
        heads = store.heads()
    assert [h.tree_size for h in heads] == [5, 10, 12]
    assert heads[0].from_size is None
    for prev, head in zip(heads, heads[1:]):
        assert head.from_size == prev.tree_size and head.consistency
        assert verify_consistency(prev.tree_size, head.tree_size, prev.root, head.root, list(head.consistency))
        assert not verify_consistency(prev.tree_size, head.tree_size, b"\0" * 32, head.root, list(head.consistency))


def test_same_record_twice_is_ignored_and_a_different_one_is_flagged(tmp_path):
    recs = real_records()[:4]
    signer = build_archive(tmp_path / "a.sqlite", recs)
    store = reopen(tmp_path / "a.sqlite", signer)
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


def test_bad_messages_are_kept_in_rejected_and_the_good_ones_archived(tmp_path):
    recs = real_records()[:3]
    signer = build_archive(tmp_path / "a.sqlite", recs[:1])
    store = reopen(tmp_path / "a.sqlite", signer)
    root_before = store.frontier.root()
    good = json.loads(recs[1].to_json())
    bad = [Incoming(b"not json", b"k", "explanations/1@0"), Incoming(b"[1]", None, "explanations/1@1"),
           Incoming(recs[0].to_json(), b"other-key", "explanations/1@2"),
           Incoming(json.dumps({**good, "window": "x"}).encode(), None, "explanations/1@3"),
           Incoming(b"[" * 100_000, None, "explanations/1@4"),
           Incoming(json.dumps({**good, "ts": 2**70}).encode(), None, "explanations/1@5"),
           Incoming(json.dumps({**good, "schema_version": 2**64}).encode(), None, "explanations/1@6"),
           Incoming(json.dumps({**good, "symbol": "EUR\ud800"}).encode(), None, "explanations/1@7")]
    res = store.append_batch(bad[:4] + [Incoming(recs[1].to_json(), None, "explanations/1@8")] + bad[4:],
                             {("explanations", 1): 9}, signer, 1_800_000_000_000)
    assert (res.appended, res.rejected) == (1, 8)
    reasons = [r["reason"] for r in store.rejected()]
    assert reasons == ["undecodable", "not_object", "key_mismatch", "invalid", "too_deep", "out_of_range",
                       "out_of_range", "bad_string"]
    assert [r["source"] for r in store.rejected()][-1] == "explanations/1@7"
    assert store.count() == 2 and store.frontier.root() != root_before
    store.close()
    with open_store(tmp_path / "a.sqlite", read_only=True) as ro:
        assert verify_store(ro, signer.public_raw).ok


def test_an_unknown_schema_version_is_refused_with_a_reason_not_stored(tmp_path):
    rec = json.loads(real_records()[0].to_json())
    rec.update(schema_version=2, quality={"stability": 0.9})
    signer = signer_in(tmp_path)
    store = open_store(tmp_path / "a.sqlite", read_only=False)
    res = store.append_batch([Incoming(json.dumps(rec).encode(), None, "e/0@0")], {}, signer, 1)
    assert (res.appended, res.rejected) == (0, 1)
    assert store.rejected()[0]["reason"] == "unknown_schema_version"
    assert "schema_version 2" in store.rejected()[0]["detail"] and store.count() == 0
    store.close()


def test_a_failed_batch_leaves_nothing_behind(tmp_path):
    recs = real_records()[:6]
    signer = build_archive(tmp_path / "a.sqlite", recs[:2])

    class Broken:
        key_id = signer.key_id

        def sign(self, *a):
            raise RuntimeError("disk full")

    store = reopen(tmp_path / "a.sqlite", signer)
    with pytest.raises(RuntimeError):
        store.append_batch(incoming(recs[2:5], 2), {("explanations", 0): 5}, Broken(), 2)
    assert store.count() == 2 and store.offsets() == {("explanations", 0): 4}
    store.append_batch(incoming(recs[2:6], 2), {("explanations", 0): 6}, signer, 3)  # the retry
    store.close()
    with open_store(tmp_path / "a.sqlite", read_only=True) as ro:
        assert ro.count() == 6
        assert verify_store(ro, signer.public_raw).ok


def test_reopening_continues_the_same_log(tmp_path):
    recs = real_records()
    signer = build_archive(tmp_path / "a.sqlite", recs[:5])
    build_archive(tmp_path / "a.sqlite", recs)  # a restart that re-reads everything: only the new ones land
    with open_store(tmp_path / "a.sqlite", read_only=True) as ro:
        assert ro.count() == len(recs)
        result = verify_store(ro, signer.public_raw)
        assert result.ok, result.problems


def test_a_writer_refuses_a_log_that_changed_under_it(tmp_path):
    recs = real_records()[:8]
    signer = build_archive(tmp_path / "a.sqlite", recs[:4])
    store = reopen(tmp_path / "a.sqlite", signer)
    con = sqlite3.connect(tmp_path / "a.sqlite")
    con.execute("DELETE FROM records WHERE seq = 3")
    con.execute("DELETE FROM heads WHERE tree_size = 4")
    con.commit()
    with pytest.raises(DoubtfulLog, match="changed under the archiver"):
        store.append_batch(incoming(recs[4:], 4), {("explanations", 0): 8}, signer, 2)
    assert store.count() == 3 and not store.heads()  # nothing was written over the changed log
    store.close()


def test_an_unchecked_non_empty_archive_is_not_appended_to(tmp_path):
    recs = real_records()[:6]
    signer = build_archive(tmp_path / "a.sqlite", recs[:2])
    store = open_store(tmp_path / "a.sqlite", read_only=False)
    with pytest.raises(ArchiveError, match="not checked against its last signed head"):
        store.append_batch(incoming(recs[2:4], 2), {}, signer, 2)
    assert store.count() == 2
    store.close()


def test_an_old_archive_still_verifies_and_is_extended_in_the_new_form(tmp_path):
    values = [json.loads(r.to_json()) for r in real_records()[:6]]
    signer = signer_in(tmp_path)
    path = tmp_path / "old.sqlite"
    build_legacy_archive(path, values, signer)
    before = path.read_bytes()
    with open_store(path, read_only=True) as ro:
        assert ro.schema_version == 1 and {r.hash_form for r in ro.records()} == {HASH_FORM_LEGACY}
        result = verify_store(ro, signer.public_raw)
    assert result.ok, result.problems
    assert any("before heads carried consistency proofs" in w for w in result.warnings)
    assert path.read_bytes() == before  # a read-only open does not upgrade
    store = reopen(path, signer)  # the archiver's open upgrades the schema, then extends the old log
    assert store.schema_version == 2
    store.append_batch(incoming(real_records()[6:9], 6), {("explanations", 0): 9}, signer, 1_800_000_000_000)
    store.close()
    with open_store(path, read_only=True) as ro:
        assert [r.hash_form for r in ro.records()] == [HASH_FORM_LEGACY] * 6 + [HASH_FORM_JCS] * 3
        result = verify_store(ro, signer.public_raw)
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
