"""The ``tickscope`` command: every subcommand is there, and a missing one is an error, never skipped."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tickscope import cli


def test_every_command_module_exists_and_parses_help(capsys):
    parser = cli.build_parser()
    available = next(a for a in parser._actions if a.dest == "command").choices
    assert set(available) == {c.replace("_", "-") for c in cli.COMMANDS}
    for name in available:
        with pytest.raises(SystemExit) as done:
            parser.parse_args([name, "--help"])
        assert done.value.code == 0
        assert f"tickscope {name}" in capsys.readouterr().out


def test_a_missing_command_module_is_an_error(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "not_built"))
    with pytest.raises(ModuleNotFoundError, match="not_built_command"):
        cli.build_parser()


def test_bench_without_a_bench_folder_says_where_benchmarks_live(tmp_path, monkeypatch, capsys):
    from tickscope.cli import bench_command

    monkeypatch.setattr(bench_command, "bench_dir", lambda: None)
    assert cli.main(["bench", "model"]) == 2
    assert "bench/ folder" in capsys.readouterr().err


def test_the_console_entry_point_runs_the_same_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tickscope", "--version"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("tickscope ")


def test_up_refuses_a_model_it_cannot_serve_before_starting_anything(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    assert cli.main(["up", "--model", "0" * 64]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()  # no child was started


def test_worker_takes_the_model_to_serve(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    assert cli.main(["worker", "--model", "latest"]) == 2
    assert "not a sha256" in capsys.readouterr().err
