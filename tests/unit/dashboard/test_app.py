"""The dashboard app: loopback detection and the token gate on every route."""

from __future__ import annotations

import pytest

from tickscope.dashboard import app as dash_app
from tickscope.dashboard.live_store import Store

T, F = 32, 6
@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
                                       ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                       ("192.168.1.5", False), ("example.com", False)])
def test_is_loopback(host, loop):
    assert dash_app.is_loopback(host) is loop


def test_token_gate():
    s = Store()
    app = dash_app.create_app(s, token="s3cret")
    c = app.server.test_client()
    assert c.get("/").status_code == 401
    assert c.get("/?token=wrong").status_code == 401
    r = c.get("/?token=s3cret&x=1")
    assert r.status_code == 303 and r.headers["Location"].endswith("/?x=1")
    assert "s3cret" not in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert c.get("/").status_code == 200  # the cookie now carries it
    assert c.get(dash_app.STATUS_PATH).status_code == 200
    fresh = app.server.test_client()
    import base64
    basic = {"Authorization": "Basic " + base64.b64encode(b"anyone:s3cret").decode()}
    assert fresh.get("/", headers=basic).status_code == 200
    bad = {"Authorization": "Basic " + base64.b64encode(b"anyone:nope").decode()}
    assert fresh.get("/", headers=bad).status_code == 401


def test_no_gate_without_token():
    app = dash_app.create_app(Store())
    assert app.server.test_client().get("/").status_code == 200


