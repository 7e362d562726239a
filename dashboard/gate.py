"""Who may see the dashboard: the token gate, an ASGI middleware around the whole FastAPI app.

A pure ASGI class (not FastAPI's ``@app.middleware("http")``, which never sees
WebSockets), so one check covers every HTTP route and the upgrade of Dash's
callback socket alike. Credentials:

- ``?token=<token>`` once: answered with a 303 to the same address without the
  token (out of the address bar and history) and an HttpOnly cookie holding a
  MAC of the token, never the token itself;
- that cookie, on every later request;
- HTTP basic auth with the token as the password. The gate sets the cookie on
  a basic-auth success too: the page's WebSocket is opened by a SharedWorker
  whose upgrade request may carry no basic credentials, only cookies.

A WebSocket without a credential is closed before it is accepted (the server
answers the upgrade with 403). Every refusal carries a Content-Security-Policy
that allows nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

COOKIE_NAME = "tickscope_dashboard"
DENY_ALL_CSP = b"default-src 'none'"
UNAUTHORIZED_TEXT = (b"tickscope dashboard: a token is required. Open the page once with "
                     b"?token=<TICKSCOPE_DASHBOARD_TOKEN> or use HTTP basic auth with the token as the password.\n")


def is_loopback(host: str) -> bool:
    """True only for hosts that cannot be reached from another machine."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False  # a name could resolve to anything: treat it as exposed


def cookie_value(token: str) -> str:
    """What the cookie holds: a MAC of the token, never the token itself."""
    return hmac.new(token.encode("utf-8"), b"tickscope-dashboard-cookie-v1", hashlib.sha256).hexdigest()


def _header(scope, name: bytes) -> bytes:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return v
    return b""


class TokenGate:
    """ASGI middleware: every http and websocket scope must carry the token (see the module doc)."""

    def __init__(self, app, token: str):
        if not token:
            raise ValueError("an empty dashboard token would let everyone in")
        self.app = app
        self._token = token.encode("utf-8")
        self._cookie = cookie_value(token)
        self.refused = {"http": 0, "websocket": 0}

    def _set_cookie(self, scope) -> tuple[bytes, bytes]:
        secure = "; Secure" if scope.get("scheme") in ("https", "wss") else ""
        return b"set-cookie", f"{COOKIE_NAME}={self._cookie}; Path=/; HttpOnly; SameSite=Lax{secure}".encode()

    def _has_cookie(self, scope) -> bool:
        jar = SimpleCookie()
        try:
            jar.load(_header(scope, b"cookie").decode("latin-1"))
        except CookieError:
            return False
        morsel = jar.get(COOKIE_NAME)
        return morsel is not None and hmac.compare_digest(morsel.value.encode("latin-1"), self._cookie.encode())

    def _has_basic(self, scope) -> bool:
        auth = _header(scope, b"authorization")
        if auth[:6].lower() != b"basic ":
            return False
        try:
            _, _, password = base64.b64decode(auth[6:].strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(password, self._token)

    def _query_token(self, scope) -> tuple[bool, list[tuple[str, str]]]:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [v for k, v in query if k == "token"]
        ok = bool(given) and hmac.compare_digest(given[-1].encode("latin-1"), self._token)
        return ok, [(k, v) for k, v in query if k != "token"]

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind not in ("http", "websocket") or self._has_cookie(scope):
            return await self.app(scope, receive, send)
        token_ok, rest = self._query_token(scope)
        if kind == "websocket":
            if token_ok or self._has_basic(scope):
                return await self.app(scope, receive, send)
            self.refused["websocket"] += 1
            await send({"type": "websocket.close", "code": 1008, "reason": "token required"})
            return
        if token_ok:
            location = scope.get("root_path", "") + scope["path"] + ("?" + urlencode(rest) if rest else "")
            await send({"type": "http.response.start", "status": 303, "headers": [
                (b"location", location.encode("latin-1")), self._set_cookie(scope),
                (b"content-security-policy", DENY_ALL_CSP), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if self._has_basic(scope):
            cookie = self._set_cookie(scope)

            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    message = dict(message, headers=[*message.get("headers", []), cookie])
                await send(message)

            return await self.app(scope, receive, send_with_cookie)
        self.refused["http"] += 1
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-security-policy", DENY_ALL_CSP),
            (b"www-authenticate", b'Basic realm="tickscope dashboard", charset="UTF-8"'),
            (b"content-length", str(len(UNAUTHORIZED_TEXT)).encode())]})
        await send({"type": "http.response.body", "body": UNAUTHORIZED_TEXT})
