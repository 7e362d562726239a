"""Start the processes a benchmark measures: real ``tickscope`` (or ``python -m MODULE``) children."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tickscope.cli.supervisor import spawn, wait_for_log

READY = "Worker]: Ready"  # Faust's line once a worker has joined its group and started its agents


def worker_env(bootstrap: str, data_dir: Path, **extra) -> dict:
    """Environment for a child: the broker, a data directory, short group timeouts, the bench package importable."""
    env = dict(os.environ)
    env.update({"TICKSCOPE_KAFKA_BOOTSTRAP": bootstrap, "TICKSCOPE_DATA_DIR": str(data_dir),
                "TICKSCOPE_METRICS_PORT": "0", "TICKSCOPE_BROKER_SESSION_TIMEOUT_S": "6",
                "TICKSCOPE_BROKER_REBALANCE_TIMEOUT_S": "6", "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                          os.environ.get("PYTHONPATH")) if p)})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(bootstrap: str, data_dir: Path, name: str = "worker", module: str = "tickscope",
                 **extra) -> tuple[subprocess.Popen, Path]:
    """A ``tickscope worker`` (or ``python -m MODULE``) child; returns once Faust reports it ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"{name}.log"
    offset = log.stat().st_size if log.exists() else 0
    args = ["worker"] if module == "tickscope" else []
    proc = spawn(args, worker_env(bootstrap, data_dir, **extra), log, module=module)
    wait_for_log(log, READY, 90, proc, offset)
    return proc, log
