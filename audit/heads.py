"""Signed tree heads: (tree size, root, UTC time) signed with Ed25519.

The signed bytes are a fixed text form, so any Ed25519 tool can check a head::

    tickscope-archive-head/v1
    <tree_size>
    <root hex>
    <timestamp epoch ms UTC>

The private key comes from ``TICKSCOPE_ARCHIVE_SIGNING_KEY`` (64 hex digits = the
32-byte Ed25519 seed, or a PKCS#8 PEM) or is created on first use at
``$TICKSCOPE_DATA_DIR/keys/archive-ed25519.pem`` (mode 0600, directory 0700),
with the public key beside it (``archive-ed25519.pub``, hex of the 32 raw bytes).
Key material is never printed or logged; only its key id is (the first 16 hex
digits of sha256 of the raw public key).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEAD_CONTEXT = "tickscope-archive-head/v1"
KEY_FILE = "archive-ed25519.pem"
PUB_FILE = "archive-ed25519.pub"


class KeyError_(Exception):
    """A signing or verification key that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Head:
    tree_size: int
    root: bytes
    timestamp: int  # epoch ms UTC
    key_id: str
    signature: bytes

    def to_json_dict(self) -> dict:
        return {"schema_version": 1, "tree_size": self.tree_size, "root": self.root.hex(),
                "timestamp": self.timestamp, "key_id": self.key_id, "signature": self.signature.hex(),
                "signed": HEAD_CONTEXT}


def head_message(tree_size: int, root: bytes, timestamp: int) -> bytes:
    return f"{HEAD_CONTEXT}\n{int(tree_size)}\n{root.hex()}\n{int(timestamp)}\n".encode("ascii")


def raw_public(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(pub_raw: bytes) -> str:
    return hashlib.sha256(pub_raw).hexdigest()[:16]


class Signer:
    def __init__(self, private: Ed25519PrivateKey):
        self._private = private
        self.public_raw = raw_public(private.public_key())
        self.key_id = key_id(self.public_raw)

    def sign(self, tree_size: int, root: bytes, timestamp: int) -> Head:
        sig = self._private.sign(head_message(tree_size, root, timestamp))
        return Head(tree_size, root, timestamp, self.key_id, sig)

    def __repr__(self) -> str:  # never show key material
        return f"Signer(key_id={self.key_id})"


def verify_head(public_raw: bytes, head: Head) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            head.signature, head_message(head.tree_size, head.root, head.timestamp))
        return True
    except (InvalidSignature, ValueError):
        return False


def _private_from_text(text: str, where: str) -> Ed25519PrivateKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyError_(f"{where}: not an Ed25519 private key")
            return key
        seed = bytes.fromhex(text)
        if len(seed) != 32:
            raise ValueError("need 64 hex digits")
        return Ed25519PrivateKey.from_private_bytes(seed)
    except KeyError_:
        raise
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"{where}: not an Ed25519 key (PKCS#8 PEM or 64 hex digits of seed)") from exc


def load_or_create_signer(data_dir: Path, configured: str | None = None) -> Signer:
    """The archive's signing key: from settings if set, else $DATA_DIR/keys, created on first use."""
    if configured:
        return Signer(_private_from_text(configured, "TICKSCOPE_ARCHIVE_SIGNING_KEY"))
    keys = Path(data_dir) / "keys"
    path = keys / KEY_FILE
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyError_(f"{path}: signing key is readable by others (mode {mode:o}); chmod 600 it")
        signer = Signer(_private_from_text(path.read_text(), str(path)))
    else:
        keys.mkdir(parents=True, exist_ok=True)
        os.chmod(keys, 0o700)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        signer = Signer(private)
    pub = keys / PUB_FILE
    if not pub.exists() or pub.read_text().strip() != signer.public_raw.hex():
        pub.write_text(signer.public_raw.hex() + "\n")
    return signer


def read_public_key(path: Path) -> bytes:
    """A public key file: hex of the 32 raw bytes, or a SubjectPublicKeyInfo PEM."""
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise KeyError_(f"{path}: cannot read public key ({exc.strerror})") from exc
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not Ed25519")
            return raw_public(key)
        raw = bytes.fromhex(text)
        if len(raw) != 32:
            raise ValueError("need 64 hex digits")
        return raw
    except ValueError as exc:
        raise KeyError_(f"{path}: not an Ed25519 public key (64 hex digits or PEM): {exc}") from exc
