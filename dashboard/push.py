"""Push: every open page gets its updates over Dash's WebSocket, all fed from the one topic reader.

Dash 4.4 has no broadcast. Each page runs one long-lived async callback over
its socket (no Output, no Input, ``persistent=True``: fired on load, fired
again after a reconnect, cancelled on disconnect) that waits on the store's
news (``Store.subscribe``; the topic reader notifies after each batch) and
sends what this page lacks with ``set_props``:

- ``table``: new rows of the signals table as a ``Patch``, the count, the symbol
  list; at most every ``table_gap_s``;
- ``chart``: ``extendData`` (new points and markers of the shown symbol, the
  line capped at ``browser_points``), the "showing last N" note, the feed
  status; at most every ``chart_gap_s`` (each extend redraws the whole plot:
  ~0.1-0.6 s at 100k points without a GPU) and as its own frame, so a cheap
  table update never waits behind a redraw;
- ``alerts``: ``alerts_view.alerts_delta`` (the past list as a Patch);
- ``live``: the records version, which re-runs the explanation (follow mode)
  and drift callbacks, over the same socket.

Pacing is end to end: a frame kind has at most one push the page has not yet
acknowledged. The acknowledgement is a ``get_prop`` round trip, which the page
answers on its main thread after applying everything queued before it (the
SharedWorker drains the socket at once, so a slow page is invisible at the
socket). A slow page therefore gets fewer, larger deltas instead of a backlog.

What the page asks for (its symbol, the selected signal, the zoom) reaches the
stream through ``Pages``: a callback on those inputs records them by page id
(``page-id``, a random id in each page's layout) and wakes the stream, so the
stream is the only writer of the chart and the table, in one order.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from tickscope import metrics
from tickscope.dashboard import deltas
from tickscope.dashboard.views import alerts_view, desk_view

log = logging.getLogger(__name__)

ACK_PROP = ("push-beat", "data")  # any prop works: the answer's arrival is the acknowledgement
KINDS = ("table", "chart", "alerts", "live")


@dataclass(frozen=True)
class PushConfig:
    """Gaps between pushes of one kind to one page, seconds; ``browser_points`` caps the chart's line."""

    table_gap_s: float = 0.05
    chart_gap_s: float = 1.0
    alerts_gap_s: float = 0.5
    live_gap_s: float = 1.0
    beat_s: float = 5.0  # a push at least this often, so the page can tell a quiet feed from a dead socket
    frame_split_s: float = 0.012  # > 2 x websocket_batch_delay: the chart goes in a frame of its own
    ack_timeout_s: float = 30.0
    browser_points: int | None = None
    line_type: str = "scatter"


@dataclass(frozen=True)
class Intent:
    """What a page asked for: its symbol, its selected signal, its zoom; ``sel_seq`` counts selections."""

    symbol: str | None = None
    selected: str | None = None
    view: dict | None = None
    sel_seq: int = 0


class Pages:
    """The streams of the open pages and what each page last asked for, by page id (bounded)."""

    def __init__(self, max_intents: int = 1000):
        self._lock = threading.Lock()
        self._intents: OrderedDict[str, Intent] = OrderedDict()
        self._streams: dict[str, PageStream] = {}
        self._max = max_intents
        self._acks: dict[str, deque] = {kind: deque(maxlen=500) for kind in KINDS}  # recent round trips, ms

    def record_ack(self, kind: str, ms: float) -> None:
        with self._lock:
            self._acks[kind].append(ms)

    def ack_summary(self) -> dict:
        """Median and max of recent push -> page-acknowledged round trips per kind, ms (how busy pages are)."""
        with self._lock:
            acks = {k: sorted(v) for k, v in self._acks.items() if v}
        return {k: {"n": len(v), "median_ms": round(v[len(v) // 2], 1), "max_ms": round(v[-1], 1)}
                for k, v in acks.items()}

    def set_intent(self, page_id: str, symbol, selected, view, selection_changed: bool) -> None:
        with self._lock:
            old = self._intents.pop(page_id, Intent())
            self._intents[page_id] = Intent(symbol, selected, view, old.sel_seq + (1 if selection_changed else 0))
            while len(self._intents) > self._max:
                self._intents.popitem(last=False)
            stream = self._streams.get(page_id)
        if stream is not None:
            stream.wake()

    def intent(self, page_id: str) -> Intent | None:
        with self._lock:
            return self._intents.get(page_id)

    def attach(self, page_id: str, stream: PageStream) -> None:
        with self._lock:
            self._streams[page_id] = stream

    def detach(self, page_id: str, stream: PageStream) -> None:
        with self._lock:
            if self._streams.get(page_id) is stream:
                del self._streams[page_id]

    def count(self) -> int:
        with self._lock:
            return len(self._streams)


class PageStream:
    """One page's stream (see the module doc); ``run`` lives as long as the page's socket."""

    def __init__(self, ws, store, pages: Pages, page_id: str, config: PushConfig):
        self.ws, self.store, self.pages, self.page_id, self.cfg = ws, store, pages, page_id, config
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event = asyncio.Event()
        self.inflight: dict[str, asyncio.Future | None] = dict.fromkeys(KINDS)
        self.last = dict.fromkeys(KINDS, 0.0)
        self.symbol: str | None = None
        self.selected: str | None = None
        self.sel_seq = 0
        self.chart: dict | None = None  # the chart cursor: what the page's chart holds
        self.chart_version = -1
        self.rows: list[str] | None = None  # signal ids in the page's table, top to bottom
        self.table_key: tuple | None = None
        self.alerts: dict | None = None
        self.live: int | None = None
        self.rebuild = True

    def wake(self) -> None:
        """Thread-safe: called by the topic reader after each batch and by ``Pages.set_intent``."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.event.set)

    def _set(self, component_id: str, prop: str, value) -> None:
        self.ws.set_prop_sync(component_id, prop, value)

    def _ready(self, kind: str, gap: float) -> bool:
        return self.inflight[kind] is None and time.monotonic() - self.last[kind] >= gap

    def _sent(self, kind: str) -> None:
        self.last[kind] = time.monotonic()
        self._set(ACK_PROP[0], ACK_PROP[1], int(time.time() * 1000))
        metrics.DASHBOARD_PUSHES.labels(kind).inc()
        self.inflight[kind] = asyncio.ensure_future(self._await_ack(kind))

    async def _await_ack(self, kind: str) -> None:
        t0 = time.monotonic()
        try:
            await self.ws.get_prop(*ACK_PROP, timeout=self.cfg.ack_timeout_s)
            self.pages.record_ack(kind, (time.monotonic() - t0) * 1000)
        except Exception:  # noqa: BLE001 - disconnected or timed out: the loop sees is_shutdown, or pushes again
            pass
        finally:
            self.inflight[kind] = None
            self.event.set()

    async def _seed_intent(self) -> None:
        """After a reconnect the page keeps its symbol and selection: take them as its first intent."""
        if self.pages.intent(self.page_id) is not None:
            return
        try:
            symbol = await self.ws.get_prop("symbol-dropdown", "value", timeout=self.cfg.ack_timeout_s)
            selected = await self.ws.get_prop("selected-signal", "data", timeout=self.cfg.ack_timeout_s)
        except Exception:  # noqa: BLE001 - the page went away or is busy: start from the defaults
            return
        if self.pages.intent(self.page_id) is None:
            self.pages.set_intent(self.page_id, symbol, selected, None, selection_changed=bool(selected))

    def _apply_intent(self) -> dict | None:
        intent = self.pages.intent(self.page_id) or Intent()
        new_selection = intent.sel_seq != self.sel_seq
        symbol = desk_view.pick_symbol(self.store, intent.symbol, intent.selected, new_selection)
        if symbol != self.symbol or intent.selected != self.selected:
            self.rebuild = self.rebuild or symbol != self.symbol
            self.table_key = None
        self.symbol, self.selected, self.sel_seq = symbol, intent.selected, intent.sel_seq
        return intent.view

    def _push_table(self) -> bool:
        key = (self.store.records_version, self.selected, self.store.symbols_version)
        if key == self.table_key or not self._ready("table", self.cfg.table_gap_s):
            return False
        value, self.rows = deltas.list_patch(self.rows, desk_view.table_rows(self.store),
                                                       key=lambda r: r["id"])
        if value is not None:
            self._set("signals-table", "data", value)
        if self.table_key is None or self.table_key[1] != self.selected:
            self._set("signals-table", "style_data_conditional", desk_view.row_style(self.selected))
        if self.table_key is None or self.table_key[2] != key[2]:
            self._set("symbol-dropdown", "options", [{"label": s, "value": s} for s in self.store.symbols()])
        self._set("signal-count", "children", desk_view.count_text(self.store))
        self.table_key = key
        self._sent("table")
        return True

    def _chart_due(self) -> bool:
        if self.inflight["chart"] is not None:
            return False
        if self.rebuild or self.chart is None or self.chart.get("sel") != self.selected:
            return True  # the page asked for something: no gap
        quiet = time.monotonic() - self.last["chart"]
        return quiet >= self.cfg.beat_s or (self.store.version != self.chart_version
                                            and quiet >= self.cfg.chart_gap_s)

    def _push_chart(self, view: dict | None) -> None:
        intent = self.pages.intent(self.page_id)
        if intent is None or intent.symbol != self.symbol:
            self._set("symbol-dropdown", "value", self.symbol)
        self.chart_version = self.store.version
        out = desk_view.chart_update(self.store, self.symbol, self.selected, None if self.rebuild else self.chart,
                                     view, line_type=self.cfg.line_type, browser_points=self.cfg.browser_points)
        self.rebuild = False
        if out["figure"] is not None:
            self._set("price-graph", "figure", out["figure"])
        if out["extend"] is not None:
            self._set("price-graph", "extendData", out["extend"])
        if out["note"] is not None:
            self._set("cap-note", "children", out["note"])
        self._set("feed-status", "children", desk_view.feed_text(self.store))
        self.chart = out["cursor"]
        self._sent("chart")

    def _push_alerts(self) -> None:
        if not self._ready("alerts", self.cfg.alerts_gap_s):
            return
        out, self.alerts = alerts_view.alerts_delta(self.store, self.alerts)
        if not out:
            return
        for name, value in out.items():
            self._set(f"alerts-{name}", "children", value)
        self._sent("alerts")

    def _push_live(self) -> None:
        version = self.store.records_version
        if version != self.live and self._ready("live", self.cfg.live_gap_s):
            self._set("live", "data", version)
            self.live = version
            self._sent("live")

    def _timeout(self) -> float:
        """Seconds until a gap or the beat expires; news and acknowledgements set the event sooner."""
        now = time.monotonic()
        gaps = {"table": self.cfg.table_gap_s, "chart": self.cfg.chart_gap_s, "alerts": self.cfg.alerts_gap_s,
                "live": self.cfg.live_gap_s}
        waits = [self.last[k] + g - now for k, g in gaps.items() if self.inflight[k] is None]
        if self.inflight["chart"] is None:
            waits.append(self.last["chart"] + self.cfg.beat_s - now)
        pending = [w for w in waits if w > 0]
        return min(pending) if pending else self.cfg.beat_s

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        key = self.store.subscribe(self.wake)
        self.pages.attach(self.page_id, self)
        metrics.DASHBOARD_PAGES.inc()
        try:
            await self._seed_intent()
            while not self.ws.is_shutdown:
                view = self._apply_intent()
                if self._push_table() and self._chart_due():
                    await asyncio.sleep(self.cfg.frame_split_s)
                if self._chart_due():
                    self._push_chart(view)
                self._push_alerts()
                self._push_live()
                try:
                    await asyncio.wait_for(self.event.wait(), self._timeout())
                except asyncio.TimeoutError:
                    pass
                self.event.clear()
        finally:
            self.store.unsubscribe(key)
            self.pages.detach(self.page_id, self)
            metrics.DASHBOARD_PAGES.dec()
            for task in self.inflight.values():
                if task is not None:
                    task.cancel()
