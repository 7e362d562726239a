"""Session fixtures that run real processes: a Tansu broker and a tickscope worker."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import spawn, wait_for_log, worker_env
from tickscope.transport.broker import free_port, start_broker, stop_process


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> str:
    """A real embedded broker (Tansu) on a free port; yields its bootstrap address."""
    listen = f"127.0.0.1:{free_port()}"
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    proc = start_broker(listen, log_path=log)
    yield listen
    stop_process(proc)


@dataclass
class Worker:
    proc: subprocess.Popen
    env: dict
    log: Path
    data_dir: Path


@pytest.fixture(scope="session")
def worker(broker, tmp_path_factory) -> Worker:
    """A real ``tickscope worker`` process against the session broker."""
    data_dir = tmp_path_factory.mktemp("worker-data")
    env = worker_env(broker, data_dir)
    log = data_dir / "worker.log"
    proc = spawn(["worker"], env, log)
    wait_for_log(log, "Worker]: Ready", timeout_s=90, proc=proc)
    yield Worker(proc, env, log, data_dir)
    stop_process(proc, grace_s=15)
