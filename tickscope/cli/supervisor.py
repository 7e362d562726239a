"""Start ``tickscope`` child processes, and run and stop a set of them as one (``tickscope up``).

Children run in their own sessions and, under a ``Supervisor``, get SIGTERM if
this process dies (Linux PR_SET_PDEATHSIG), so no child outlives ``up``, even
after a kill -9. ``spawn`` and ``wait_for_log`` start one child and wait until
its log says it is ready (the integration tests and benchmarks use them too).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: children still get SIGTERM from stop_all


def spawn(args: list[str], env: dict | None, log_path: Path, cwd: Path | None = None, module: str = "tickscope",
          preexec_fn=None) -> subprocess.Popen:
    """Start ``python -m MODULE ARGS`` (default: the tickscope CLI) in its own session, appending to a log file."""
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", module, *args], env=env, cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=preexec_fn is None, preexec_fn=preexec_fn)


def wait_for_log(path: Path, text: str, timeout_s: float, proc: subprocess.Popen | None = None,
                 offset: int = 0) -> None:
    """Return once ``text`` appears in the log after byte ``offset``; raise if ``proc`` exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_bytes()[offset:].decode(errors="replace"):
            return
        if proc is not None and proc.poll() is not None:
            tail = path.read_text(errors="replace")[-3000:] if path.exists() else ""
            raise RuntimeError(f"process exited ({proc.returncode}) before {text!r} appeared in {path}:\n{tail}")
        time.sleep(0.2)
    tail = path.read_text(errors="replace")[-3000:] if path.exists() else ""
    raise RuntimeError(f"{text!r} not in {path} within {timeout_s:.0f} s:\n{tail}")


@dataclass
class Supervisor:
    log_dir: Path
    children: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        proc = spawn(args, env, self.log_dir / f"{name}.log", preexec_fn=_child_setup)
        self.children.append((name, proc))
        return proc

    def adopt(self, name: str, proc: subprocess.Popen) -> None:
        self.children.append((name, proc))

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.children:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop_all(self, grace_s: float = 15.0) -> None:
        """SIGTERM every child (newest first), then SIGKILL whatever is left after ``grace_s``."""
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + grace_s
        for _, proc in reversed(self.children):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
