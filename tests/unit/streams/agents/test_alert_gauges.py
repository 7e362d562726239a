"""The alert gauges keep a bounded label set: at most the cap of symbols plus '*', slots freed by eviction."""

from __future__ import annotations

from tickscope import metrics
from tickscope.contracts.dead_letters import Source
from tickscope.detectors.protocol import AlertParams
from tickscope.streams.agents.alert_gauges import GaugeExport
from tickscope.streams.alert import AlertEngine


def _symbols(gauge) -> set[str]:
    return {s.labels["symbol"] for s in gauge.collect()[0].samples}


def test_at_most_the_cap_of_symbols_plus_star_are_exported_and_eviction_frees_a_slot(model, reference, eurusd):
    names = [f"GAUGE{i}" for i in range(6)]
    engine = AlertEngine(reference, AlertParams(max_symbols=4, window_signals=2), model.version)
    export = GaugeExport(cap=2)
    ever: set[str] = set()
    for i, rec in enumerate(eurusd[:12]):
        symbol = names[i % 5]
        rec = rec.model_copy(update={"symbol": symbol})
        engine.process(rec.to_json(), symbol.encode(), Source("explanations", 0, i), 1)
        changes = engine.take_changes()
        export.forget_missing(engine)
        export.export(engine, [k for k, *_, state in changes if state is not None])
        for gauge in (metrics.DRIFT_JS, metrics.FAITHFULNESS_CUSUM, metrics.EXPLANATION_LIPSCHITZ):
            ours = _symbols(gauge) & set(names)
            assert len(ours) <= 2 and ours <= set(engine.states)
        ever |= set(export.series)
    assert "*" in _symbols(metrics.DRIFT_JS) and "*" in _symbols(metrics.FAITHFULNESS_CUSUM)
    assert engine.counts["evicted"] > 0
    assert {"GAUGE0", "GAUGE1", "GAUGE4"} <= ever  # GAUGE4 got the slot GAUGE0's eviction freed
    assert len(export.series) == 2
