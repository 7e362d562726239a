"""``tickscope verify`` finds every change, deletion, insertion and reordering of the SQLite archive file, with a
pinned key; the attacks an insider would carry out (re-keying, cutting the tail, laundering...) are in
tests/security."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from tests.support.archives import build_archive, public_key_file, real_records, witness_values
from tickscope.audit.archive_store import open_store
from tickscope.audit.merkle import CompactRange, leaf_hash
from tickscope.audit.verify import verify_store
from tickscope.audit.witness import write_file
from tickscope.cli import main
from tickscope.contracts.canonical import canonical_jcs as canonical_json

N = 12  # records, appended 4 per transaction: signed heads at sizes 4, 8 and 12


@pytest.fixture
def archive(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TICKSCOPE_ARCHIVE_URL", raising=False)
    monkeypatch.delenv("TICKSCOPE_ARCHIVE_PATH", raising=False)
    monkeypatch.delenv("TICKSCOPE_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("TICKSCOPE_ARCHIVE_PUBLIC_KEY", raising=False)
    path = tmp_path / "archive.sqlite"
    build_archive(path, real_records()[:N], batch=4, data_dir=tmp_path)
    write_file(tmp_path / "witness.jsonl", witness_values(path))
    return path


def run_verify(capsys, *args, pinned: bool = True) -> tuple[int, str]:
    from tickscope.settings import get_settings

    key = ["--public-key", str(public_key_file(get_settings().data_dir))] if pinned else []
    code = main(["verify", *key, *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def rows(path):
    con = sqlite3.connect(path)
    return con, {r[0]: r for r in con.execute("SELECT seq, signal_id, body, leaf_hash, log_root FROM records")}


def test_an_untouched_archive_verifies(archive, capsys, tmp_path):
    before = hashlib.sha256(archive.read_bytes()).hexdigest()
    code, out = run_verify(capsys, "--witness", str(tmp_path / "witness.jsonl"))
    assert code == 0, out
    assert f"OK {archive}: {N} records, 3 signed heads, 3 witness heads" in out
    assert "the pinned key(s)" in out
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == before


def test_without_a_pinned_key_verify_refuses(archive, capsys, monkeypatch):
    code, out = run_verify(capsys, pinned=False)
    assert code == 2 and "no trusted public key" in out and "never trusted" in out
    monkeypatch.setenv("TICKSCOPE_ARCHIVE_PUBLIC_KEY", public_key_file(archive.parent).read_text().strip())
    code, out = run_verify(capsys, pinned=False)
    assert code == 0 and "OK" in out
    monkeypatch.setenv("TICKSCOPE_ARCHIVE_PUBLIC_KEY", str(public_key_file(archive.parent)))  # a file works too
    assert run_verify(capsys, pinned=False)[0] == 0


def test_without_a_witness_verify_says_what_it_cannot_see(archive, capsys):
    code, out = run_verify(capsys)
    assert code == 0 and "no witness checked" in out


def test_trust_on_first_use_says_what_it_trusted_and_pins_it(archive, capsys, tmp_path):
    cp = tmp_path / "verifier" / "checkpoint.json"
    cp.parent.mkdir()
    code, out = run_verify(capsys, "--trust-on-first-use", pinned=False)
    assert code == 2 and "no trusted public key" in out  # only with a checkpoint to pin it in
    code, out = run_verify(capsys, "--trust-on-first-use", "--checkpoint", str(cp), pinned=False)
    signer_key = public_key_file(tmp_path).read_text().strip()
    assert code == 0 and "TRUST ON FIRST USE" in out and signer_key in out
    assert json.loads(cp.read_text())["public_key"] == signer_key
    assert json.loads(cp.read_text())["head"]["tree_size"] == N
    code, out = run_verify(capsys, "--checkpoint", str(cp), pinned=False)  # the checkpoint now pins the key
    assert code == 0 and "TRUST ON FIRST USE" not in out


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
    con, r = rows(archive)
    con.execute("DELETE FROM records WHERE seq >= 10")
    con.commit()
    code, out = run_verify(capsys)
    assert code == 1 and "first bad: record seq 10" in out and "records deleted at the end" in out
    con.execute("DELETE FROM heads WHERE tree_size > 8")  # hide it: only a head held elsewhere can tell
    con.commit()
    code, out = run_verify(capsys, "--witness", str(tmp_path / "witness.jsonl"))
    assert code == 1 and "records deleted at the end" in out


def test_an_appended_record_is_caught(archive, capsys):
    extra = real_records()[N]
    con, r = rows(archive)
    frontier = CompactRange()
    for seq in range(N):
        frontier.append(bytes(r[seq][3]))
    body = canonical_json(json.loads(extra.to_json()))
    frontier.append(leaf_hash(body))
    con.execute("INSERT INTO records VALUES (?, ?, 'EURUSD', ?, ?, 1, ?, ?, ?, 'forged', 0, 2)",
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
    con.execute("INSERT INTO records VALUES (5, ?, 'EURUSD', ?, ?, 1, ?, ?, ?, 'forged', 0, 2)",
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
    code, out = run_verify(capsys, "--archive", str(bad), pinned=False)
    assert code == 2 and f"{bad}" in out and "not a readable" in out
    code, out = run_verify(capsys, "--archive", str(tmp_path / "missing.sqlite"), pinned=False)
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
    assert d["latest_head"]["tree_size"] == N


def test_verify_store_names_a_deleted_head_by_the_broken_chain(archive):
    con, _ = rows(archive)
    con.execute("DELETE FROM heads WHERE tree_size = 4")
    con.commit()
    with open_store(archive, read_only=True) as store:
        res = verify_store(store, bytes.fromhex(public_key_file(archive.parent).read_text()))
    assert not res.ok
    assert any("signed after a head at size 4, which the archive does not hold" in p.message for p in res.problems)
