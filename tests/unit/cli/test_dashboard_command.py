"""``tickscope dashboard`` refuses to bind beyond loopback without a token."""

from __future__ import annotations

T, F = 32, 6
def test_command_refuses_exposed_host_without_token(monkeypatch, capsys):
    from tickscope.cli import main

    monkeypatch.delenv("TICKSCOPE_DASHBOARD_TOKEN", raising=False)
    assert main(["dashboard", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "TICKSCOPE_DASHBOARD_TOKEN" in capsys.readouterr().err




def test_command_says_when_its_port_is_taken(monkeypatch, capsys):
    import socket

    from tickscope.cli import main
    from tickscope.transport.broker import free_port

    monkeypatch.setenv("TICKSCOPE_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")  # nothing there: the reader retries
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--host", "127.0.0.1", "--port", str(port), "--poll"]) == 2
    assert f"cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err
