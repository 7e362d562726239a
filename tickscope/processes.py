"""Launch tickscope processes for tests and benchmarks: real subprocesses, logged to files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def worker_env(bootstrap: str, data_dir: Path, **extra) -> dict:
    """Environment for a tickscope subprocess: short group timeouts so joins take seconds, not ~30 s."""
    env = dict(os.environ)
    env.update({
        "TICKSCOPE_KAFKA_BOOTSTRAP": bootstrap,
        "TICKSCOPE_DATA_DIR": str(data_dir),
        "TICKSCOPE_METRICS_PORT": "0",
        "TICKSCOPE_BROKER_SESSION_TIMEOUT_S": "6",
        "TICKSCOPE_BROKER_REBALANCE_TIMEOUT_S": "6",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def spawn(args: list[str], env: dict, log_path: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start ``python -m tickscope ARGS`` in its own session, logging to a file."""
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "tickscope", *args], env=env, cwd=cwd,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def start_worker(bootstrap: str, data_dir: Path, name: str = "worker", module: str | None = None,
                 **extra) -> tuple[subprocess.Popen, Path]:
    """A real ``tickscope worker`` process (or ``python -m MODULE``); returns once Faust reports it ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"{name}.log"
    offset = log.stat().st_size if log.exists() else 0
    env = worker_env(bootstrap, data_dir, **extra)
    if module is None:
        proc = spawn(["worker"], env, log)
    else:
        proc = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=open(log, "ab"),
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if log.exists() and "Worker]: Ready" in log.read_text(errors="replace")[offset:]:
            return proc, log
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"worker not ready within 90 s:\n{log.read_text()[-3000:]}")
