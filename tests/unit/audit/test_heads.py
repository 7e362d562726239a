"""Signed tree heads and the signing key: created private (0600) only for an empty archive, never replaced."""

from __future__ import annotations

import pytest

from tickscope.audit.heads import KEY_FILE, PUB_FILE, KeyError_, head_from_json, load_signer, verify_head


def test_signing_key_is_created_private_and_reused(tmp_path):
    key = tmp_path / "keys" / KEY_FILE
    a = load_signer(None, key, archive_empty=True)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == "0o700"
    assert (tmp_path / "keys" / PUB_FILE).read_text().strip() == a.public_raw.hex()
    assert load_signer(None, key, archive_empty=False).key_id == a.key_id
    assert "PRIVATE" not in repr(a) and key.read_text() not in repr(a)
    assert load_signer("11" * 32, key, archive_empty=False).key_id != a.key_id


def test_a_missing_key_is_an_error_unless_the_archive_is_empty(tmp_path):
    key = tmp_path / "keys" / KEY_FILE
    with pytest.raises(KeyError_, match="signing key is missing.*already holds signed records"):
        load_signer(None, key, archive_empty=False)
    assert not key.exists()  # no fresh key appeared
    outside = tmp_path / "secrets" / "archive.pem"
    with pytest.raises(KeyError_, match="missing"):
        load_signer(None, outside, archive_empty=False, path_configured=True)


def test_a_key_file_others_can_read_is_refused(tmp_path):
    key = tmp_path / "keys" / KEY_FILE
    load_signer(None, key, archive_empty=True)
    key.chmod(0o644)
    with pytest.raises(KeyError_, match="readable or writable by others"):
        load_signer(None, key, archive_empty=False)
    key.chmod(0o640)  # a mounted secret may be group-readable, when configured explicitly
    assert load_signer(None, key, archive_empty=False, path_configured=True)


def test_the_published_head_round_trips_and_stays_verifiable(tmp_path):
    signer = load_signer(None, tmp_path / KEY_FILE, archive_empty=True)
    head = signer.sign(12, b"\1" * 32, 1_700_000_000_000, 8, (b"\2" * 32,))
    again = head_from_json(head.to_json_bytes())
    assert again == head and verify_head(signer.public_raw, again)
    assert b"\n" not in head.to_json_bytes()
    as_text = head.to_json_bytes().replace(b'"tree_size":12', b'"tree_size":"12"')
    for broken in (b"{}", b"[]", b'{"tree_size": -1}', as_text):
        with pytest.raises(ValueError):
            head_from_json(broken)
