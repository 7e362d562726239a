"""``tickscope dashboard`` refuses to bind beyond loopback without a token."""

from __future__ import annotations

T, F = 32, 6
def test_command_refuses_exposed_host_without_token(monkeypatch, capsys):
    from tickscope.cli import main

    monkeypatch.delenv("TICKSCOPE_DASHBOARD_TOKEN", raising=False)
    assert main(["dashboard", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "TICKSCOPE_DASHBOARD_TOKEN" in capsys.readouterr().err


