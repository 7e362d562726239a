"""An insider rewrites the archive's log: every attack is refused by the archiver or detected by verify.

Each test first proves its attack did what it meant to (the rows changed, and the forged archive is
self-consistent wherever the insider could make it so), then that the real code refuses or detects it.
On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import N
from tickscope.audit.archive_store import DoubtfulLog, open_store
from tickscope.audit.heads import Signer
from tickscope.audit.startup import check_log
from tickscope.audit.verify import verify_store
from tickscope.audit.witness import parse_lines

pytestmark = pytest.mark.security


def verify_args(archive, *extra, witness=True, key=True) -> list:
    v = archive.data_dir / "verifier"
    return (["verify", "--archive", archive.target] + (["--public-key", v / "archive.pub"] if key else [])
            + (["--witness", v / "witness.jsonl"] if witness else ["--witness", "none"]) + list(extra))


def archiver_start(archive) -> tuple:
    """The archiver's own start check, with the witness it would read from archive.heads."""
    with open_store(archive.target, read_only=True) as store:
        return check_log(store, {archive.signer.key_id: archive.signer.public_raw},
                         parse_lines(archive.witness, "witness").heads)


def self_consistent(archive, key: bytes) -> bool:
    """The forged archive verifies with ``key`` and no outside copy: the insider made it as good as they could."""
    with open_store(archive.target, read_only=True) as store:
        return verify_store(store, key).ok


def test_laundering_through_a_restart_is_refused(archive, cli):
    before = archive.bodies()[5]
    archive.edit_body(5, lambda b: b.update(score=b["score"] * 2))
    archive.rehash_log()
    archive.sql("DELETE FROM heads")
    assert archive.bodies()[5] != before and archive.head_sizes() == []  # the attack happened
    taken = archive.fingerprint()
    code, out = cli("archiver", "--archive", archive.target)  # the restart the insider waits for
    assert code == 2 and "no signed head" in out and "refusing to extend it" in out
    assert archive.fingerprint() == taken  # nothing was signed over the forged log
    code, out = cli(*verify_args(archive))
    assert code == 1 and "the archive does not hold the witnessed head at size 4" in out


def test_a_rewritten_log_under_its_heads_is_refused_at_start(archive, cli):
    archive.edit_body(6, lambda b: b["attributions"][0].__setitem__(0, 0.5))
    archive.rehash_log()
    assert archive.head_sizes() == [4, 8, 12]
    taken = archive.fingerprint()
    code, out = cli("archiver", "--archive", archive.target)
    assert code == 2 and "does not match its signed head at size 8" in out and archive.fingerprint() == taken
    code, out = cli(*verify_args(archive))
    assert code == 1 and "first bad record is among seq 4..7" in out


def test_records_without_a_head_are_refused_at_start(archive, cli):
    archive.sql("DELETE FROM heads WHERE tree_size = 12")
    assert archive.head_sizes() == [4, 8]
    code, out = cli("archiver", "--archive", archive.target)
    assert code == 2 and "records without a head" in out


def test_deleting_a_head_in_the_middle_is_refused_and_detected(archive, cli):
    archive.sql("DELETE FROM heads WHERE tree_size = 8")
    assert archive.head_sizes() == [4, 12]
    with pytest.raises(DoubtfulLog, match="a head was deleted"):
        archiver_start(archive)
    code, out = cli(*verify_args(archive, witness=False))
    assert code == 1 and "signed after a head at size 8, which the archive does not hold" in out


def test_re_keying_the_archive_is_detected(archive, cli):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    attacker = Signer(Ed25519PrivateKey.generate())
    archive.sql("DELETE FROM records WHERE seq = 3")
    archive.renumber()
    archive.rehash_log()
    archive.resign_heads(attacker)
    (archive.data_dir / "keys" / "archive-ed25519.pub").write_text(attacker.public_raw.hex())  # and the data dir's
    assert len(archive.bodies()) == N - 1 and self_consistent(archive, attacker.public_raw)  # consistent for them
    code, out = cli(*verify_args(archive))
    assert code == 1 and "not a pinned key" in out
    code, out = cli(*verify_args(archive, key=False))  # no key from the data dir or the archive is ever trusted
    assert code == 2 and "no trusted public key" in out
    with pytest.raises(DoubtfulLog, match="not by this archiver's key"):
        archiver_start(archive)


def test_cutting_the_tail_is_detected_by_the_witness_and_the_checkpoint(archive, cli):
    cp = archive.data_dir / "verifier" / "checkpoint.json"
    assert cli(*verify_args(archive, "--checkpoint", cp))[0] == 0
    archive.delete_from(8)
    assert len(archive.bodies()) == 8 and archive.head_sizes() == [4, 8]
    assert self_consistent(archive, archive.signer.public_raw)  # without an outside copy it looks whole
    code, out = cli(*verify_args(archive))
    assert code == 1 and "the witness holds a head at size 12 but the archive only 8 records" in out
    code, out = cli(*verify_args(archive, "--checkpoint", cp, witness=False))
    assert code == 1 and "smaller than the checkpoint" in out and "size 12" in out and "size 8" in out
    with pytest.raises(DoubtfulLog, match="shorter than the witness"):
        archiver_start(archive)


def test_deleting_everything_is_not_ok(archive, cli):
    archive.sql("DELETE FROM records")
    archive.sql("DELETE FROM heads")
    assert archive.bodies() == {} and archive.head_sizes() == []
    code, out = cli(*verify_args(archive, witness=False))
    assert code == 1 and "holds no records and no signed head" in out
    code, out = cli(*verify_args(archive))
    assert code == 1 and "records deleted at the end, or the archive rolled back" in out
    with pytest.raises(DoubtfulLog, match="shorter than the witness"):
        archiver_start(archive)


def test_reordering_records_is_detected_and_refused(archive, cli):
    before = archive.bodies()
    archive.swap(2, 3)
    archive.rehash_log()
    after = archive.bodies()
    assert (after[2], after[3]) == (before[3], before[2])
    code, out = cli(*verify_args(archive))
    assert code == 1 and "first bad record is among seq 0..3" in out
    with pytest.raises(DoubtfulLog, match="does not match its signed head at size 4"):
        archiver_start(archive)


def test_moving_a_record_between_two_archives_is_detected(archive, cli, tmp_path):
    from tests.support.archives import build_archive, real_records, witness_values
    from tests.support.insider import Archive

    other_path = tmp_path / "other.sqlite"  # a second archive of the same operator, same key
    build_archive(other_path, real_records()[N:], batch=1, data_dir=archive.data_dir)
    other = Archive(other_path, archive.data_dir, archive.signer, witness_values(other_path))
    moved = other.bodies()[0]
    archive.sql("DELETE FROM records WHERE seq = 5")
    row = other.sql("SELECT signal_id, symbol, ts, model_version, schema_version FROM records WHERE seq = 0")[0]
    archive.sql("INSERT INTO records (seq, signal_id, symbol, ts, model_version, schema_version, body, leaf_hash, "
                "log_root, source, archived_at, hash_form) VALUES (5, ?, ?, ?, ?, ?, ?, ?, ?, 'moved', 1, 2)",
                (*row, moved, b"", b""))
    other.sql("DELETE FROM records WHERE seq = 0")
    other.renumber()
    other.rehash_log()
    archive.rehash_log()
    assert archive.bodies()[5] == moved and moved not in other.bodies().values()
    code, out = cli(*verify_args(archive))
    assert code == 1 and "first bad record is among seq 4..7" in out
    with open_store(other_path, read_only=True) as store:
        res = verify_store(store, archive.signer.public_raw, witness=parse_lines(other.witness, "w"))
    assert not res.ok


def test_forged_heads_are_detected(archive, cli):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    before = archive.sql("SELECT timestamp FROM heads WHERE tree_size = 8")[0][0]
    archive.sql("UPDATE heads SET timestamp = timestamp + 1 WHERE tree_size = 8")
    assert archive.sql("SELECT timestamp FROM heads WHERE tree_size = 8")[0][0] == before + 1
    code, out = cli(*verify_args(archive))
    assert code == 1 and "head at size 8 has an invalid signature" in out
    forger = Signer(Ed25519PrivateKey.generate())
    fake = forger.sign(12, b"\1" * 32, 1_900_000_000_000)
    witness = archive.data_dir / "verifier" / "witness.jsonl"
    witness.write_bytes(witness.read_bytes() + fake.to_json_bytes() + b"\n")  # even a witness entry can't be forged
    assert len(witness.read_bytes().splitlines()) == 4
    code, out = cli(*verify_args(archive))
    assert code == 1 and "witness head at size 12 is not signed by a pinned key" in out


def test_rolling_the_witness_back_is_caught_by_the_checkpoint(archive, cli):
    v = archive.data_dir / "verifier"
    cp = v / "checkpoint.json"
    assert cli(*verify_args(archive, "--checkpoint", cp))[0] == 0
    archive.delete_from(8)
    (v / "witness.jsonl").write_bytes(b"".join(w + b"\n" for w in archive.witness[:2]))  # the witness rolled back too
    assert len((v / "witness.jsonl").read_bytes().splitlines()) == 2 and archive.head_sizes() == [4, 8]
    code, out = cli(*verify_args(archive))
    assert code == 0  # archive and witness agree at size 8: only the verifier's memory can tell
    code, out = cli(*verify_args(archive, "--checkpoint", cp))
    assert code == 1 and "Proof of misbehaviour: checkpoint head size 12" in out and "archive head size 8" in out


def test_a_forked_signer_fails_the_consistency_proofs_on_either_side(archive, cli):
    """Heads carry consistency proofs: a head changed on either side of one (here re-signed with the real key, as
    a signer that forked the log would) breaks the proof, without looking at the records."""
    from tickscope.audit.merkle import verify_consistency
    from tickscope.audit.verify import VerifyResult
    from tickscope.audit.verify_outside import check_witness_chain

    with open_store(archive.target, read_only=True) as store:
        h4, h8, _ = store.heads()
    assert verify_consistency(4, 8, h4.root, h8.root, list(h8.consistency))
    forked_old = archive.signer.sign(4, b"\7" * 32, h4.timestamp)
    forked_new = archive.signer.sign(8, b"\7" * 32, h8.timestamp, 4, h8.consistency)
    for old, new in ((forked_old, h8), (h4, forked_new)):
        assert (old.root, new.root) != (h4.root, h8.root)  # one side really changed
        out = VerifyResult(where="witness")
        check_witness_chain(parse_lines([old.to_json_bytes(), new.to_json_bytes()], "forked").heads, out)
        assert not out.ok and "not consistent (the signer forked the log)" in out.problems[0].message
    out = VerifyResult(where="witness")
    check_witness_chain([h4, h8], out)
    assert out.ok  # the unchanged pair passes the same check
    archive.sql("UPDATE heads SET consistency = ? WHERE tree_size = 8", (b"\7" * 32 * len(h8.consistency),))
    code, out = cli(*verify_args(archive, witness=False))  # and the stored proof material is checked too
    assert code == 1 and "stored consistency proof from head 4 to head 8 does not verify" in out


def test_a_missing_signing_key_is_never_replaced(archive, cli):
    key = archive.data_dir / "keys" / "archive-ed25519.pem"
    key.unlink()
    code, out = cli("archiver", "--archive", archive.target)
    assert code == 2 and "signing key is missing" in out and not key.exists()
