"""The dashboard app on its FastAPI backend: the token gate on every route and on the WebSocket, both modes."""

from __future__ import annotations

import base64
import json

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tickscope.dashboard import app as dash_app
from tickscope.dashboard.gate import COOKIE_NAME
from tickscope.dashboard.live_store import Store

WS_PATH = "/_dash-ws-callback"
ORIGIN = {"origin": "http://testserver"}


def _basic(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"anyone:{password}".encode()).decode()}


def _heartbeat(client, headers=None) -> dict:
    """Open Dash's callback socket and exchange one heartbeat (proves the upgrade was accepted)."""
    with client.websocket_connect(WS_PATH, headers={**ORIGIN, **(headers or {})}) as ws:
        ws.send_json({"type": "heartbeat"})
        return ws.receive_json()


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
                                       ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                       ("192.168.1.5", False), ("example.com", False)])
def test_is_loopback(host, loop):
    assert dash_app.is_loopback(host) is loop


def test_token_gate_covers_every_http_route():
    app = dash_app.create_app(Store(), token="s3cret")
    with TestClient(app.server, follow_redirects=False) as c:
        for path in ("/", dash_app.STATUS_PATH, dash_app.METRICS_PATH, "/_dash-layout", "/anything",
                     "/_tickscope/report/" + "a" * 32):
            r = c.get(path)
            assert r.status_code == 401, path
            assert r.headers["content-security-policy"] == "default-src 'none'"
            assert "s3cret" not in r.text
        assert c.post("/_dash-update-component", json={}).status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        r = c.get("/?token=s3cret&x=1")
        assert r.status_code == 303 and r.headers["location"] == "/?x=1"
        cookie = r.headers["set-cookie"]
        assert "s3cret" not in cookie and "HttpOnly" in cookie and cookie.startswith(COOKIE_NAME + "=")
        assert c.get("/").status_code == 200  # the cookie now carries it
        status = c.get(dash_app.STATUS_PATH)
        assert status.status_code == 200 and status.json()["mode"] == "push"


def test_token_gate_covers_the_websocket():
    app = dash_app.create_app(Store(), token="s3cret")
    with TestClient(app.server, follow_redirects=False) as c:
        with pytest.raises(WebSocketDisconnect):
            _heartbeat(c)  # no credential: closed before it is accepted
        with pytest.raises(WebSocketDisconnect):
            _heartbeat(c, _basic("nope"))
        c.get("/?token=s3cret")
        assert _heartbeat(c) == {"type": "heartbeat_ack"}  # the cookie opens the socket


def test_basic_auth_sets_the_cookie_the_socket_needs():
    app = dash_app.create_app(Store(), token="s3cret")
    with TestClient(app.server, follow_redirects=False) as c:
        assert c.get("/", headers=_basic("nope")).status_code == 401
        r = c.get("/", headers=_basic("s3cret"))
        assert r.status_code == 200 and r.headers["set-cookie"].startswith(COOKIE_NAME + "=")
        assert _heartbeat(c) == {"type": "heartbeat_ack"}  # a SharedWorker's upgrade carries only the cookie


def test_no_gate_without_token_and_the_modes_differ():
    push = dash_app.create_app(Store())
    with TestClient(push.server) as c:
        page = c.get("/").text
        assert c.get("/").status_code == 200
        config = json.loads(page.split('<script id="_dash-config" type="application/json">')[1].split("</script>")[0])
        assert config["websocket"]["enabled"] is True
        assert _heartbeat(c) == {"type": "heartbeat_ack"}
    poll = dash_app.create_app(Store(), mode="poll")
    with TestClient(poll.server) as c:
        page = c.get("/").text
        config = json.loads(page.split('<script id="_dash-config" type="application/json">')[1].split("</script>")[0])
        assert "websocket" not in config  # the page never starts the socket's worker
        assert c.get(dash_app.STATUS_PATH).json()["mode"] == "poll"
    with pytest.raises(ValueError):
        dash_app.create_app(Store(), mode="carrier-pigeon")


def test_status_counts_traffic_and_metrics_are_served():
    app = dash_app.create_app(Store())
    with TestClient(app.server) as c:
        c.get("/")
        _heartbeat(c)
        status = c.get(dash_app.STATUS_PATH).json()
        assert status["traffic"]["ws_connections"] == 1 and status["traffic"]["ws_messages"] >= 1
        assert status["traffic"]["callback_posts"] == 0 and status["pages_streaming"] == 0
        body = c.get(dash_app.METRICS_PATH).text
        assert "tickscope_dashboard_rejected_total" in body and "tickscope_dashboard_pages" in body
