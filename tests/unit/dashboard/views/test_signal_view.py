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




def test_a_model_without_attention_is_said_not_failed():
    from tickscope.dashboard.views import signal_view as signal

    s = filled_store(n_points=10, n_signals=1)
    rec = s.record(s.newest_signal_id())
    rec.update(signal_id="e" * 32, attention=None, attention_shap_spearman=None)
    s.add_record(rec)
    out = signal.explanation_view(s, "e" * 32, "EURUSD", None, locate=lambda version: None)
    summary = json.dumps([c.to_plotly_json() for c in out[2]], default=lambda o: o.to_plotly_json())
    assert "this model has no attention" in summary
    assert out[6].layout.annotations[0].text == "this model has no attention"
    quality = json.dumps([c.to_plotly_json() for c in out[7]], default=lambda o: o.to_plotly_json())
    assert "this model has no attention" in quality
    del rec["attention"]  # a record written without the field at all
    rec["signal_id"] = "d" * 32
    s.add_record(rec)
    assert signal.explanation_view(s, "d" * 32, "EURUSD", None, locate=lambda v: None)[0] == "d" * 32


def test_reference_is_looked_up_only_for_a_sha256_version(tmp_path):
    from tickscope.dashboard.views import signal_view as signal

    assert signal.reference_of("../../etc/passwd", tmp_path) is None
    version = "ab" * 32
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / f"{version}.reference.json").write_text(json.dumps({"model_version": version}))
    assert signal.reference_of(version, tmp_path) == {"model_version": version}
    (tmp_path / "models" / f"{'cd' * 32}.reference.json").write_text(json.dumps({"model_version": version}))
    assert signal.reference_of("cd" * 32, tmp_path) is None  # a file that names another version is not its reference
