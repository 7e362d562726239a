"""Real tickscope processes for the integration and end-to-end tests, logged to files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tickscope.cli.supervisor import spawn as _spawn
from tickscope.cli.supervisor import wait_for_log

REPO = Path(__file__).resolve().parents[2]
READY = "Worker]: Ready"  # Faust's line once a worker has joined its group and started its agents


def worker_env(bootstrap: str, data_dir: Path, **extra) -> dict:
    """Environment for a tickscope subprocess: short group timeouts so joins take seconds, not ~30 s."""
    env = dict(os.environ)
    env.update({
        "TICKSCOPE_KAFKA_BOOTSTRAP": bootstrap,
        "TICKSCOPE_DATA_DIR": str(data_dir),
        "TICKSCOPE_METRICS_PORT": "0",
        "TICKSCOPE_ARCHIVER_METRICS_PORT": "0",
        "TICKSCOPE_BROKER_SESSION_TIMEOUT_S": "6",
        "TICKSCOPE_BROKER_REBALANCE_TIMEOUT_S": "6",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def spawn(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """``python -m tickscope ARGS`` from the repository root."""
    return _spawn(args, env, log_path, cwd=REPO)


def start_worker(bootstrap: str, data_dir: Path, name: str = "worker", args: tuple[str, ...] = (),
                 **extra) -> tuple[subprocess.Popen, Path]:
    """A real ``tickscope worker ARGS`` process; returns once Faust reports it ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"{name}.log"
    offset = log.stat().st_size if log.exists() else 0
    proc = spawn(["worker", *args], worker_env(bootstrap, data_dir, **extra), log)
    wait_for_log(log, READY, 90, proc, offset)
    return proc, log
