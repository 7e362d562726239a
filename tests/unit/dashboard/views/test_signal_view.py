"""The signal view: the newest or the selected signal, from the store or the archive."""

from __future__ import annotations

import json

from dash import no_update

from tests.support.records import BASE_TS, filled_store, record_bytes
from tickscope.dashboard.live_store import Store


def test_explanation_view_defaults_to_newest_and_follows_selection():
    from tickscope.dashboard.views import signal_view as signal

    s = filled_store(n_points=10, n_signals=5)
    newest = s.newest_signal_id()
    out = signal.explanation_view(s, None, "EURUSD", None, now_ms=1000)
    sid, mode, summary, wf, bar, heat, att, quality, rendered = out
    assert sid == newest and mode == "(newest)" and rendered == [newest, "newest", 1000]
    assert heat.data[0].type == "heatmap" and wf.data[0].type == "waterfall"
    assert signal.explanation_view(s, None, "EURUSD", rendered, now_ms=1500)[0] is no_update
    other = s.signals()[3].signal_id
    out = signal.explanation_view(s, other, "EURUSD", rendered, now_ms=1600)
    assert out[0] == other and out[1] == "(selected)"


def test_explanation_view_follow_mode_is_throttled():
    from tickscope.dashboard.views import signal_view as signal

    s = filled_store(n_points=10, n_signals=5)
    rendered = signal.explanation_view(s, None, "EURUSD", None, now_ms=10_000)[-1]
    s.add_record_raw(record_bytes(BASE_TS + 10**9))
    assert signal.explanation_view(s, None, "EURUSD", rendered, now_ms=10_500)[0] is no_update
    later = signal.explanation_view(s, None, "EURUSD", rendered, now_ms=10_000 + signal.FOLLOW_MIN_MS)
    assert later[0] == s.newest_signal_id()


def test_explanation_view_reads_the_archive_for_unknown_signals():
    from tickscope.dashboard.views import signal_view as signal

    s = filled_store(n_points=10, n_signals=2)
    archived = json.loads(record_bytes(BASE_TS + 777, symbol="OLD"))

    class FakeArchive:
        def record(self, sid):
            return archived if sid == archived["signal_id"] else None

    out = signal.explanation_view(s, archived["signal_id"], "EURUSD", None, archive=FakeArchive())
    assert out[0] == archived["signal_id"] and "archive" in out[1]
    missing = signal.explanation_view(s, "f" * 32, "EURUSD", None, archive=FakeArchive())
    assert missing[1] == "(not found)"


def test_explanation_view_without_signals():
    from tickscope.dashboard.views import signal_view as signal

    s = Store()
    assert signal.explanation_view(s, None, None, None)[0] is no_update


