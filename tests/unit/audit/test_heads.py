"""Signed tree heads: the signing key is created private (0600) and reused."""

from __future__ import annotations

from tickscope.audit.heads import load_or_create_signer


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

