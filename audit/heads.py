"""Signed tree heads: (tree size, root, UTC time) signed with Ed25519, and the archive's keys.

The signed bytes are a fixed text form, so any Ed25519 tool can check a head::

    tickscope-archive-head/v1
    <tree_size>
    <root hex>
    <timestamp epoch ms UTC>

A head also carries, unsigned, the RFC 6962 consistency proof from the head
before it (``from_size`` and the proof's hashes): anyone holding two successive
heads can check that the later log extends the earlier one, without the records.
Its published form (``to_json_bytes``: RFC 8785 bytes of ``to_json_dict``) is what
goes on the ``archive.heads`` topic and into a witness file, one per line.

The private key comes from ``TICKSCOPE_ARCHIVE_SIGNING_KEY`` (64 hex digits = the
32-byte Ed25519 seed, or a PKCS#8 PEM), or from the file
``TICKSCOPE_ARCHIVE_SIGNING_KEY_FILE`` (default ``$TICKSCOPE_DATA_DIR/keys/archive-ed25519.pem``).
A key file is created (mode 0600, directory 0700, public key beside it as
``archive-ed25519.pub``) only for an empty archive: a missing key for an archive
that holds records is an error, never a fresh key. Key material is never printed
or logged; only the key id (the first 16 hex digits of sha256 of the raw public key)
and the public key are.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEAD_CONTEXT = "tickscope-archive-head/v1"
HEAD_JSON_VERSION = 2  # 1: no consistency proof; 2: with it
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
    from_size: int | None = None  # the previous head's size, when the consistency proof below is known
    consistency: tuple[bytes, ...] = field(default=())  # RFC 6962 PROOF(from_size, D[0:tree_size])

    def signed_fields(self) -> tuple:
        return self.tree_size, self.root, self.timestamp, self.key_id, self.signature

    def to_json_dict(self) -> dict:
        d = {"schema_version": HEAD_JSON_VERSION, "tree_size": self.tree_size, "root": self.root.hex(),
             "timestamp": self.timestamp, "key_id": self.key_id, "signature": self.signature.hex(),
             "signed": HEAD_CONTEXT}
        if self.from_size is not None:
            d["consistency"] = {"from_size": self.from_size, "proof": [h.hex() for h in self.consistency]}
        return d

    def to_json_bytes(self) -> bytes:
        """The published form: RFC 8785 bytes, one line (what ``archive.heads`` and a witness file hold)."""
        from tickscope.contracts.canonical import canonical_jcs

        return canonical_jcs(self.to_json_dict())

    def describe(self) -> str:
        return (f"size {self.tree_size} root {self.root.hex()} time {self.timestamp} key {self.key_id} "
                f"signature {self.signature.hex()[:32]}...")


def head_from_json(data: bytes | str | dict) -> Head:
    """A head from its published JSON form; raises ValueError naming what is wrong."""
    try:
        d = data if isinstance(data, dict) else json.loads(data)
        if not isinstance(d, dict) or d.get("signed", HEAD_CONTEXT) != HEAD_CONTEXT:
            raise ValueError(f"not a {HEAD_CONTEXT} head")
        size, ts = d["tree_size"], d["timestamp"]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (size, ts)):
            raise ValueError("tree_size and timestamp must be non-negative integers")
        root, sig = bytes.fromhex(d["root"]), bytes.fromhex(d["signature"])
        if len(root) != 32 or len(sig) != 64:
            raise ValueError("root must be 32 bytes and signature 64 bytes (hex)")
        from_size, proof = None, ()
        if d.get("consistency") is not None:
            c = d["consistency"]
            from_size = c["from_size"]
            if not isinstance(from_size, int) or isinstance(from_size, bool) or not 0 <= from_size <= size:
                raise ValueError("consistency.from_size must be an integer in 0..tree_size")
            proof = tuple(bytes.fromhex(h) for h in c["proof"])
            if any(len(h) != 32 for h in proof) or len(proof) > 128:
                raise ValueError("consistency.proof must be at most 128 hashes of 32 bytes")
        return Head(size, root, ts, str(d["key_id"]), sig, from_size, proof)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a signed head (JSON with tree_size, root, timestamp, key_id, signature): "
                         f"{type(exc).__name__}: {exc}") from exc


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

    def sign(self, tree_size: int, root: bytes, timestamp: int, from_size: int | None = None,
             consistency: tuple[bytes, ...] = ()) -> Head:
        sig = self._private.sign(head_message(tree_size, root, timestamp))
        return Head(tree_size, root, timestamp, self.key_id, sig, from_size, tuple(consistency))

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


def load_signer(configured: str | None, path: Path, archive_empty: bool, path_configured: bool = False) -> Signer:
    """The archive's signing key: the configured key text, else the key file at ``path``.

    A missing file is created only when ``archive_empty`` (nothing signed yet); otherwise it is an error,
    because a fresh key would leave every existing head unverifiable and let whoever deleted the key file
    sign a rewritten log. A key file others can read is refused (a mounted secret may be group-readable).
    """
    if configured:
        return Signer(_private_from_text(configured, "TICKSCOPE_ARCHIVE_SIGNING_KEY"))
    path = Path(path)
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & (0o037 if path_configured else 0o077):
            raise KeyError_(f"{path}: signing key is readable or writable by others (mode {mode:o}); chmod 600 it")
        signer = Signer(_private_from_text(path.read_text(), str(path)))
    elif not archive_empty:
        raise KeyError_(f"{path}: the archive's signing key is missing, and the archive already holds signed "
                        "records. A new key would make every existing head unverifiable, so none is created: "
                        "restore the key file, or point TICKSCOPE_ARCHIVE_SIGNING_KEY_FILE at it")
    else:
        signer = _create_key(path)
    _write_public_beside(path, signer)
    return signer


def _create_key(path: Path) -> Signer:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return Signer(private)


def public_key_path(key_path: Path) -> Path:
    return Path(key_path).with_name(PUB_FILE) if Path(key_path).name == KEY_FILE else Path(str(key_path) + ".pub")


def _write_public_beside(path: Path, signer: Signer) -> None:
    pub = public_key_path(path)
    try:
        if not pub.exists() or pub.read_text().strip() != signer.public_raw.hex():
            pub.write_text(signer.public_raw.hex() + "\n")
    except OSError:
        pass  # a read-only secret mount: the public key is printed by the archiver instead


def read_public_key(path: Path) -> bytes:
    """A public key file: hex of the 32 raw bytes, or a SubjectPublicKeyInfo PEM."""
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise KeyError_(f"{path}: cannot read public key ({exc.strerror})") from exc
    return public_key_from_text(text, str(path))


def public_key_from_text(text: str, where: str) -> bytes:
    """Raw 32 bytes of an Ed25519 public key given as 64 hex digits or a PEM."""
    text = text.strip()
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
        raise KeyError_(f"{where}: not an Ed25519 public key (64 hex digits or PEM): {exc}") from exc
