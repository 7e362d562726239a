"""What the server sent, counted at the ASGI layer: the status route shows it and the tests read it.

``callback_posts`` counts ``_dash-update-component`` requests, the polls (and
any callback sent over HTTP); ``ws_messages``/``ws_bytes`` what went out over
Dash's callback socket (payload bytes, before compression); ``http_bytes``
every HTTP response body. A pushed page after its load makes no callback POST,
which is what the browser test asserts next to the browser's own network log.
"""

from __future__ import annotations

import threading

CALLBACK_PATH = "_dash-update-component"


class Totals:
    """The counts, shared between the middleware (built lazily by Starlette) and the status route."""

    def __init__(self):
        self._lock = threading.Lock()
        self._c = {"http_requests": 0, "callback_posts": 0, "http_bytes": 0, "ws_connections": 0,
                   "ws_messages": 0, "ws_bytes": 0}

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._c[name] += n

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._c)


class TrafficCounter:
    """ASGI middleware counting requests and bytes per transport into ``totals``."""

    Totals = Totals

    def __init__(self, app, totals: Totals):
        self.app = app
        self.totals = totals
        self._add = totals.add

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            self._add("http_requests")
            if scope["path"].endswith(CALLBACK_PATH):
                self._add("callback_posts")

            async def counted(message):
                if message["type"] == "http.response.body":
                    self._add("http_bytes", len(message.get("body", b"")))
                await send(message)

            return await self.app(scope, receive, counted)
        if kind == "websocket":
            async def counted_ws(message):
                if message["type"] == "websocket.accept":
                    self._add("ws_connections")
                elif message["type"] == "websocket.send":
                    self._add("ws_messages")
                    self._add("ws_bytes", len(message.get("text") or "") + len(message.get("bytes") or b""))
                await send(message)

            return await self.app(scope, receive, counted_ws)
        return await self.app(scope, receive, send)
