"""One page's push stream against a recording socket: the figure once, then deltas; intents rebuild the chart."""

from __future__ import annotations

import asyncio

from dash import Patch

from tests.support.records import BASE_TS, filled_store, record_bytes
from tickscope.dashboard import push


class RecordingSocket:
    """What ``ctx.websocket`` offers a callback: set_prop_sync, get_prop (answered at once), is_shutdown."""

    def __init__(self):
        self.sent: list[tuple[str, str, object]] = []
        self.is_shutdown = False
        self.acks = 0

    def set_prop_sync(self, component_id, prop, value):
        self.sent.append((component_id, prop, value))

    async def get_prop(self, component_id, prop, timeout=30.0):
        self.acks += 1
        return None

    def props(self, component_id, prop):
        return [v for c, p, v in self.sent if (c, p) == (component_id, prop)]


async def _until(predicate, timeout_s=5.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_page_gets_the_figure_once_then_only_deltas():
    store = filled_store(n_points=200, n_signals=5)
    pages, ws = push.Pages(), RecordingSocket()
    cfg = push.PushConfig(table_gap_s=0.0, chart_gap_s=0.0, live_gap_s=0.0, alerts_gap_s=0.0, browser_points=150)

    async def scenario():
        stream = push.PageStream(ws, store, pages, "page-1", cfg)
        task = asyncio.create_task(stream.run())
        await _until(lambda: ws.props("price-graph", "figure") and ws.props("signals-table", "data"))
        assert pages.count() == 1 and store.n_subscribers() == 1
        figure = ws.props("price-graph", "figure")[0]
        assert len(figure["data"][2]["x"]) == 150 and ws.props("cap-note", "children")[-1].startswith("showing last")
        assert len(ws.props("signals-table", "data")[0]) == 5 and ws.props("symbol-dropdown", "value") == ["EURUSD"]
        store.add_point("EURUSD", BASE_TS + 10**9, 1.2)
        store.add_record_raw(record_bytes(BASE_TS + 10**9))
        store.notify()
        await _until(lambda: ws.props("price-graph", "extendData") and len(ws.props("signals-table", "data")) > 1)
        upd, idx, cap = ws.props("price-graph", "extendData")[-1]
        assert upd["x"][idx.index(2)] == [BASE_TS + 10**9] and cap["x"][idx.index(2)] == 150
        assert isinstance(ws.props("signals-table", "data")[-1], Patch)  # one new row on top, not 6 rows again
        assert ws.props("live", "data")[-1] == store.records_version
        assert len(ws.props("price-graph", "figure")) == 1  # never re-sent for new data
        store.add_record_raw(record_bytes(BASE_TS + 5, symbol="BTCUSD"))
        store.notify()
        pages.set_intent("page-1", "BTCUSD", None, None, selection_changed=False)
        await _until(lambda: len(ws.props("price-graph", "figure")) == 2)
        assert ws.props("price-graph", "figure")[-1]["layout"]["title"]["text"].startswith("BTCUSD")
        ws.is_shutdown = True
        stream.wake()
        await asyncio.wait_for(task, 5)
        assert pages.count() == 0 and store.n_subscribers() == 0 and ws.acks > 0
        assert pages.ack_summary()["table"]["n"] >= 2 and pages.ack_summary()["chart"]["n"] >= 2

    asyncio.run(scenario())


def test_pages_remember_intents_boundedly():
    pages = push.Pages(max_intents=2)
    pages.set_intent("a", "X", None, None, selection_changed=True)
    pages.set_intent("a", "X", "s" * 32, None, selection_changed=True)
    assert pages.intent("a").sel_seq == 2 and pages.intent("a").selected == "s" * 32
    pages.set_intent("b", None, None, None, False)
    pages.set_intent("c", None, None, None, False)
    assert pages.intent("a") is None and pages.intent("c") is not None
