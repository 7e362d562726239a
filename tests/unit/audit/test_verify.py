"""``tickscope verify`` finds every change, deletion, insertion and reordering of the SQLite archive file."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from tests.support.archives import build_archive, real_records
from tickscope.audit.archive_store import open_store
from tickscope.audit.merkle import CompactRange, leaf_hash
from tickscope.audit.verify import verify_store
from tickscope.cli import main
from tickscope.contracts.canonical import canonical_json

N = 12  # records, appended 4 per transaction: signed heads at sizes 4, 8 and 12


@pytest.fixture
def archive(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TICKSCOPE_ARCHIVE_URL", raising=False)
    monkeypatch.delenv("TICKSCOPE_ARCHIVE_PATH", raising=False)
    path = tmp_path / "archive.sqlite"
    build_archive(path, real_records()[:N], batch=4, data_dir=tmp_path)
    return path


def run_verify(capsys, *args) -> tuple[int, str]:
    code = main(["verify", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def rows(path):
    con = sqlite3.connect(path)
    return con, {r[0]: r for r in con.execute("SELECT seq, signal_id, body, leaf_hash, log_root FROM records")}


def first_bad(path):
    with open_store(path, read_only=True) as store:
        res = verify_store(store)
    return res, res.first_bad()


def test_an_untouched_archive_verifies(archive, capsys):
    before = hashlib.sha256(archive.read_bytes()).hexdigest()
    code, out = run_verify(capsys)
    assert code == 0, out
    assert f"OK {archive}: {N} records, 3 signed heads" in out
    assert "independently held key" in out  # the data dir's public key, not the archive's own copy
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == before


def test_a_changed_record_is_named(archive, capsys):
    con, r = rows(archive)
    body = json.loads(r[5][2])
    body["score"] = body["score"] * 1.01
    con.execute("UPDATE records SET body = ? WHERE seq = 5", (canonical_json(body),))
    con.commit()
    before = archive.read_bytes()
    code, out = run_verify(capsys)
    assert code == 1
    assert f"first bad: record seq 5 (signal {r[5][1]}): content changed" in out
    assert archive.read_bytes() == before  # a failed verify changes nothing


def test_a_change_with_rewritten_hashes_is_caught_by_the_signed_head(archive, capsys):
    con, r = rows(archive)
    body = json.loads(r[5][2])
    body["attributions"][0][0] += 0.5
    new = canonical_json(body)
    frontier = CompactRange()
    for seq in range(N):  # the attacker recomputes every hash they can without the signing key
        leaf = leaf_hash(new) if seq == 5 else bytes(r[seq][3])
        frontier.append(leaf)
        con.execute("UPDATE records SET body = ?, leaf_hash = ?, log_root = ? WHERE seq = ?",
                    (new if seq == 5 else r[seq][2], leaf, frontier.root(), seq))
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1
    assert "the signed head at size 8 does not match the records: the first bad record is among seq 4..7" in out


def test_a_deleted_record_is_named(archive, capsys):
    con, r = rows(archive)
    con.execute("DELETE FROM records WHERE seq = 6")
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1
    assert "first bad: record seq 6: missing: the log jumps from seq 5 to seq 7" in out


def test_deleting_the_last_records_is_caught(archive, capsys, tmp_path):
    with open_store(archive, read_only=True) as store:
        latest = store.heads()[-1]
    (tmp_path / "head.json").write_text(json.dumps(latest.to_json_dict()))
    con, r = rows(archive)
    con.execute("DELETE FROM records WHERE seq >= 10")
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1 and "first bad: record seq 10" in out and "records deleted at the end" in out
    con.execute("DELETE FROM heads WHERE tree_size > 8")  # hide it: only a head held elsewhere can tell
    con.commit()
    code, out = run_verify(capsys, "--head", str(tmp_path / "head.json"))
    assert code == 1 and "records deleted at the end" in out


def test_an_appended_record_is_caught(archive, capsys):
    extra = real_records()[N]
    con, r = rows(archive)
    frontier = CompactRange()
    for seq in range(N):
        frontier.append(bytes(r[seq][3]))
    body = canonical_json(json.loads(extra.to_json()))
    frontier.append(leaf_hash(body))
    con.execute("INSERT INTO records VALUES (?, ?, 'EURUSD', ?, ?, 1, ?, ?, ?, 'forged', 0)",
                (N, extra.signal_id, extra.ts, extra.model_version, body, leaf_hash(body), frontier.root()))
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1
    assert f"first bad: record seq {N} (signal {extra.signal_id}): not covered by any signed head" in out


def test_an_inserted_record_is_caught_where_the_order_breaks(archive, capsys):
    extra = real_records()[N]
    con, r = rows(archive)
    for seq in range(N - 1, 4, -1):
        con.execute("UPDATE records SET seq = ? WHERE seq = ?", (seq + 1, seq))
    body = canonical_json(json.loads(extra.to_json()))
    con.execute("INSERT INTO records VALUES (5, ?, 'EURUSD', ?, ?, 1, ?, ?, ?, 'forged', 0)",
                (extra.signal_id, extra.ts, extra.model_version, body, leaf_hash(body), b"\0" * 32))
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1
    assert f"first bad: record seq 5 (signal {extra.signal_id}): the log root after this record differs" in out


def test_reordered_records_are_named(archive, capsys):
    con, r = rows(archive)
    con.execute("UPDATE records SET seq = -1 WHERE seq = 2")
    con.execute("UPDATE records SET seq = 2 WHERE seq = 3")
    con.execute("UPDATE records SET seq = 3 WHERE seq = -1")
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1
    assert f"first bad: record seq 2 (signal {r[3][1]}): the log root after this record differs" in out


def test_a_forged_head_is_caught(archive, capsys):
    con, _ = rows(archive)
    con.execute("UPDATE heads SET timestamp = timestamp + 1 WHERE tree_size = 8")
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1 and "head at size 8 has an invalid signature" in out


def test_a_corrupt_or_missing_archive_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"\x00garbage" * 1000)
    code, out = run_verify(capsys, "--archive", str(bad))
    assert code == 2 and f"{bad}" in out and "not a readable" in out
    code, out = run_verify(capsys, "--archive", str(tmp_path / "missing.sqlite"))
    assert code == 2 and "no archive at" in out
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_truncated_archive_file_is_a_clear_error(archive, capsys):
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    code, out = run_verify(capsys)
    assert code in (1, 2) and str(archive) in out


def test_verify_json_output(archive, capsys):
    code, out = run_verify(capsys, "--json")
    d = json.loads(out)
    assert code == 0 and d["ok"] and d["records"] == N and d["heads"] == 3 and d["first_bad"] is None
