"""Fixtures of the archive's unit tests: a data directory of the test's own, and a CLI runner."""

from __future__ import annotations

import pytest

from tickscope.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh TICKSCOPE_DATA_DIR (archive, keys) and no archive or model settings from the environment."""
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    for name in ("TICKSCOPE_ARCHIVE_URL", "TICKSCOPE_ARCHIVE_PATH", "TICKSCOPE_MODEL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def run(capsys):
    """Run ``tickscope ARGS`` in-process: (exit code, everything printed); never a traceback."""
    def invoke(*args) -> tuple[int, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return code, out.out + out.err

    return invoke
