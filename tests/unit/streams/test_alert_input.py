"""What the alert stage accepts from ``explanations``: every message is checked inside ``isolate``; a rejected one
is a dead letter with its reason and bytes and changes no state, and the records after it are observed as if it
had never come; what is valid but not this stage's is skipped and counted."""

from __future__ import annotations

import json
import math

import pytest

from tickscope.contracts.dead_letters import Source
from tickscope.streams.alert import AlertEngine
from tickscope.streams.alert_input import Skipped

WARM = 20


def _engine(reference, model, records) -> AlertEngine:
    engine = AlertEngine(reference, model_version=model.version)
    for offset, rec in enumerate(records[:WARM]):
        engine.process(rec.to_json(), rec.symbol.encode(), Source("explanations", 0, offset), rec.ts)
    return engine


def _snapshot(engine: AlertEngine):
    return ({k: (s.partition, s.applied, json.dumps(s.state(), sort_keys=True)) for k, s in engine.states.items()},
            list(engine.seen), sorted(engine.changed))


def _with(record, **fields) -> bytes:
    return json.dumps({**json.loads(record.to_json()), **fields}).encode()


REJECTED = {  # case -> (reason, how to make it from a valid record)
    "empty": ("empty", lambda r: (b"", b"EURUSD")),
    "deep": ("invalid", lambda r: (b"[" * 100_000, b"EURUSD")),
    "schema": ("schema_version", lambda r: (_with(r, schema_version=2**64), b"EURUSD")),
    "no_key": ("key_mismatch", lambda r: (r.to_json(), None)),
    "star_symbol": ("bad_symbol", lambda r: (_with(r, symbol="*#0"), b"*#0")),
    "signal_id": ("bad_signal_id", lambda r: (_with(r, signal_id="a|b"), b"EURUSD")),
    "ts": ("bad_ts", lambda r: (_with(r, ts=2**70), b"EURUSD")),
    "five_features": ("bad_shape", lambda r: (_with(r, feature_attributions=r.feature_attributions[:5]), b"EURUSD")),
    "window": ("bad_shape", lambda r: (_with(r, window=[row[:5] for row in r.window]), b"EURUSD")),
    "segments": ("bad_shape", lambda r: (_with(r, event_attributions=r.event_attributions + [0.1]), b"EURUSD")),
    "names": ("bad_shape", lambda r: (_with(r, feature_names=list(reversed(r.feature_names))), b"EURUSD")),
    "score": ("not_finite", lambda r: (r.to_json().replace(b'"score":', b'"score":1e400,"x":', 1), b"EURUSD")),
    "stability": ("not_finite", lambda r: (_with(r, quality={**r.quality, "stability": "high"}), b"EURUSD")),
    "faithfulness": ("bad_quality", lambda r: (_with(r, quality={**r.quality, "faithfulness": {"0": 1}}), b"EURUSD")),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_a_rejected_message_is_a_dead_letter_that_changes_nothing(case, model, reference, eurusd):
    engine, twin = _engine(reference, model, eurusd), _engine(reference, model, eurusd)
    before = _snapshot(engine)
    reason, make = REJECTED[case]
    value, key = make(eurusd[WARM])
    outcome = engine.process(value, key, Source("explanations", 0, WARM), 1)
    letter = outcome.dead_letter
    assert letter is not None and outcome.alerts == [] and outcome.skipped is None
    assert letter.reason == reason
    assert (letter.stage, letter.source_topic, letter.source_partition, letter.source_offset) == \
        ("alert", "explanations", 0, WARM)
    assert _snapshot(engine) == before
    # the records after it are observed exactly as by an engine that never saw it
    for offset, rec in enumerate(eurusd[WARM:], start=WARM + 1):
        got = engine.process(rec.to_json(), b"EURUSD", Source("explanations", 0, offset), rec.ts)
        want = twin.process(rec.to_json(), b"EURUSD", Source("explanations", 0, offset), rec.ts)
        assert got == want and got.dead_letter is None


def test_five_feature_attributions_no_longer_poison_the_star_window(model, reference, eurusd):
    """The issue's case: np.stack raised and the bad vector stayed in '*''s window, failing every later record."""
    engine = _engine(reference, model, eurusd)
    bad = _with(eurusd[WARM], feature_attributions=eurusd[WARM].feature_attributions[:5])
    assert engine.process(bad, b"EURUSD", Source("explanations", 0, WARM), 1).dead_letter.reason == "bad_shape"
    window = engine.states["*#0"].detectors[0].window
    assert all(len(v) == 6 for v in window.items)


def test_another_model_version_and_a_legacy_key_are_skipped_and_counted(model, reference, eurusd):
    engine = _engine(reference, model, eurusd)
    before = _snapshot(engine)
    rec = eurusd[WARM]
    other = engine.process(_with(rec, model_version="ab" * 32), b"EURUSD", Source("explanations", 0, WARM), 1)
    legacy = engine.process(rec.to_json(), rec.signal_id.encode(), Source("explanations", 0, WARM + 1), 1)
    assert (other.skipped, legacy.skipped) == ("model_version", "legacy_key")
    assert other.dead_letter is None and legacy.dead_letter is None
    assert engine.counts["model_version"] == engine.counts["legacy_key"] == 1
    assert _snapshot(engine) == before
    assert isinstance(engine.read(rec.to_json(), rec.signal_id.encode()), Skipped)


def test_a_record_that_passed_always_has_finite_numbers_the_detectors_can_read(model, reference, eurusd):
    rec = eurusd[WARM]
    read = AlertEngine(reference, model_version=model.version).read(rec.to_json(), b"EURUSD")
    assert read == rec
    assert all(math.isfinite(x) for row in read.window for x in row)



def test_a_record_of_a_model_without_attention_is_observed(model, reference, eurusd):
    """A TCN's records hold ``attention: null``; an attention of the wrong length is still refused."""
    from tickscope.contracts.dead_letters import Rejected
    from tickscope.streams.alert_input import read_explanation

    engine, record = _engine(reference, model, eurusd), eurusd[WARM]
    no_attention = _with(record, attention=None, attention_shap_spearman=None)
    assert read_explanation(no_attention, b"EURUSD", engine.expected, model.version).attention is None
    outcome = engine.process(no_attention, b"EURUSD", Source("explanations", 0, WARM), record.ts)
    assert outcome.dead_letter is None and outcome.skipped is None
    with pytest.raises(Rejected) as exc:
        read_explanation(_with(record, attention=record.attention[:-1]), b"EURUSD", engine.expected, model.version)
    assert exc.value.reason == "bad_shape"
