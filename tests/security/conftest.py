"""Fixtures of the attack suite: a real archive on SQLite and on PostgreSQL (a throwaway server), its signer,
its witness as the archiver published it, and the verifier's own copy of the public key."""

from __future__ import annotations

import itertools

import pytest

from tests.support import require
from tests.support.archives import build_archive, public_key_file, real_records, witness_values
from tests.support.insider import Archive
from tests.support.postgres import available, postgres_server
from tickscope.audit.witness import write_file

N = 12  # records, appended 4 per transaction: heads at sizes 4, 8 and 12
_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_url():
    if not available():
        require(False, "PostgreSQL server binaries not installed (apt-get install postgresql)")
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture
def target(backend, request, tmp_path):
    """An empty archive location of the test's own: a SQLite path, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return tmp_path / "archive.sqlite"
    import psycopg

    url = request.getfixturevalue("postgres_url")
    name = f"attack_{next(_names)}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The archive's data directory; no Kafka, no archive or key settings from the environment."""
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    for name in ("TICKSCOPE_ARCHIVE_URL", "TICKSCOPE_ARCHIVE_PATH", "TICKSCOPE_MODEL_VERSION",
                 "TICKSCOPE_KAFKA_BOOTSTRAP", "TICKSCOPE_ARCHIVE_PUBLIC_KEY", "TICKSCOPE_ARCHIVE_SIGNING_KEY",
                 "TICKSCOPE_ARCHIVE_SIGNING_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TICKSCOPE_ARCHIVER_METRICS_PORT", "0")
    return tmp_path


@pytest.fixture
def archive(target, env) -> Archive:
    """A real archive of N real records, its witness file, and the verifier's pinned key (outside the data dir)."""
    signer = build_archive(target, real_records()[:N], batch=4, data_dir=env)
    arch = Archive(target, env, signer, witness_values(target))
    verifier = env / "verifier"
    verifier.mkdir()
    (verifier / "archive.pub").write_text(public_key_file(env).read_text())
    write_file(verifier / "witness.jsonl", arch.witness)
    return arch


@pytest.fixture
def cli(capsys):
    """Run ``tickscope ARGS`` in-process: (exit code, everything printed); never a traceback."""
    from tickscope.cli import main

    def invoke(*args) -> tuple[int, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return code, out.out + out.err

    return invoke
