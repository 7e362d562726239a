"""The explain stage dead-letters a record it cannot write as JSON: NaN and infinities never reach the archive."""

from __future__ import annotations

import json
import warnings

from tests.support.archives import real_signals
from tickscope.contracts.dead_letters import Source
from tickscope.contracts.records import ArchiveRecord, DeadLetter
from tickscope.explainer.baseline_shapley import ExplainConfig
from tickscope.models.registry import load
from tickscope.streams.explain import Explaining, explain_message, first_non_finite


def test_a_window_that_overflows_the_model_is_dead_lettered_as_not_finite():
    explaining = Explaining.for_model(load(), ExplainConfig())
    signal = json.loads(real_signals()[0].to_json())
    good = explain_message(json.dumps(signal).encode(), None, Source("signals", 0, 1), explaining)
    assert isinstance(good, ArchiveRecord) and first_non_finite(good.model_dump()) is None
    signal["window"] = [[1e308] * len(row) for row in signal["window"]]  # finite JSON, inf in float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = explain_message(json.dumps(signal).encode(), None, Source("signals", 0, 2), explaining)
    assert isinstance(out, DeadLetter) and out.reason == "not_finite" and out.stage == "explain"
    assert (out.source_topic, out.source_offset) == ("signals", 2)


def test_first_non_finite_names_the_path():
    assert first_non_finite({"a": [1.0, {"b": float("inf")}]}) == ("record.a[1].b", float("inf"))
    assert first_non_finite({"a": [1, "x", None, 2.5]}) is None
