"""A throwaway PostgreSQL server of the test's own, on a free port in a temporary directory (integration tier)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tickscope.transport.broker import free_port

PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/nonexistent"),
             key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def available() -> bool:
    return (PG_BIN / "initdb").exists()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh server (trust auth, fsync off) and yield its URL; stop it and delete its files after."""
    root = Path(tempfile.mkdtemp(prefix="tickscope-pg-"))
    as_user = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = root / "data"
    subprocess.run([*as_user, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "tickscope",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://tickscope@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
