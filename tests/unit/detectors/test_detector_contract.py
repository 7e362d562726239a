"""The contract every registered alert detector keeps, checked on each one (as river's check_estimator).

A new detector gets this whole suite by registering (``tickscope.detectors.protocol.register``):
declared parameters exist, its calibration keys are in the reference, it is deterministic, pure,
silent on stationary real explanations, and a fresh instance starts clean whatever ran before.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from tests.support.models import load as load_version
from tests.support.models import tcn_version
from tickscope.detectors.protocol import AlertParams, Finding, registered
from tickscope.detectors.reference import reference_for
from tickscope.marketdata.regimes import inject
from tickscope.marketdata.sources import load_source
from tickscope.models import registry
from tickscope.streams.offline import explain_series

DETECTORS = registered()
CUT = 2500  # the injected regime change starts at this EURUSD tick


@pytest.fixture(scope="module", params=["default", "tcn"])
def model(request):
    """Every detector keeps the contract on each shipped kind of model: the default (with attention) and the
    temporal convolution (without: its records' attention fields are null)."""
    return registry.load() if request.param == "default" else load_version(tcn_version())


@pytest.fixture(scope="module")
def reference(model):
    return reference_for(model)


@pytest.fixture(scope="module")
def stationary(model):
    """Real EURUSD explanations and a seeded block bootstrap of them (stationary by construction)."""
    real = explain_series(model, load_source("eurusd"), "EURUSD")
    rng = np.random.default_rng(20261130)
    out = []
    while len(out) < 2000:
        start, length = int(rng.integers(len(real))), int(rng.geometric(1 / 8))
        for j in range(length):
            rec = real[(start + j) % len(real)]
            out.append(rec.model_copy(update={"signal_id": f"boot-{len(out)}", "ts": len(out)}))
    return real + out[:2000]


@pytest.fixture(scope="module")
def drifted(model):
    """Real EURUSD with a persistent trend spliced in: explanations that do change."""
    return explain_series(model, inject(load_source("eurusd"), CUT, "trend"), "EURUSD")


def run(detector_cls, reference, records) -> list[tuple[int, Finding]]:
    detector = detector_cls(reference, AlertParams())
    return [(i, f) for i, rec in enumerate(records) for f in detector.observe(rec)]


def test_kinds_are_unique_and_the_shipped_detectors_are_registered():
    kinds = [d.kind for d in DETECTORS]
    assert len(kinds) == len(set(kinds))
    assert kinds == ["attribution_drift", "segment_drift", "rank_change", "faithfulness_decay", "instability"]


@pytest.mark.parametrize("detector_cls", DETECTORS, ids=lambda d: d.kind)
def test_declared_parameters_exist_and_calibration_keys_are_in_the_reference(detector_cls, reference):
    assert set(detector_cls.params) <= set(AlertParams()), "a parameter without a TICKSCOPE_ALERT_* setting"
    assert isinstance(detector_cls.symbol_only, bool)
    shipped_keys = {k for k in reference if k not in ("schema_version", "model_version", "method", "n")}
    assert callable(detector_cls.calibrate)
    # the keys a detector reads are in the shipped reference (constructing it would raise KeyError otherwise)
    detector_cls(reference, AlertParams())
    assert shipped_keys  # the reference carries calibration at all


@pytest.mark.parametrize("detector_cls", DETECTORS, ids=lambda d: d.kind)
def test_deterministic_two_runs_give_the_same_findings(detector_cls, reference, drifted, stationary):
    for records in (drifted, stationary[:300]):
        assert run(detector_cls, reference, records) == run(detector_cls, reference, records)


@pytest.mark.parametrize("detector_cls", DETECTORS, ids=lambda d: d.kind)
def test_pure_observing_changes_no_record(detector_cls, reference, drifted):
    before = [copy.deepcopy(r.model_dump()) for r in drifted]
    run(detector_cls, reference, drifted)
    assert [r.model_dump() for r in drifted] == before


@pytest.mark.parametrize("detector_cls", DETECTORS, ids=lambda d: d.kind)
def test_silent_on_stationary_real_explanations(detector_cls, reference, stationary):
    assert run(detector_cls, reference, stationary) == []


@pytest.mark.parametrize("detector_cls", DETECTORS, ids=lambda d: d.kind)
def test_a_fresh_instance_starts_clean_whatever_ran_before(detector_cls, reference, drifted, stationary):
    pristine = run(detector_cls, reference, stationary[:300])
    run(detector_cls, reference, drifted)  # another instance sees a change of regime
    assert run(detector_cls, reference, stationary[:300]) == pristine


@pytest.mark.parametrize("detector_cls", DETECTORS, ids=lambda d: d.kind)
def test_findings_and_gauges_are_well_formed(detector_cls, reference, drifted):
    detector = detector_cls(reference, AlertParams(window_signals=4, js_feature=1e-6, js_segment=1e-6,
                                                   rank_margin=0.0, stability_factor=1e-6, lipschitz_factor=1e-6,
                                                   cusum_h=0.5, cusum_h_attention=0.5))
    findings = [f for rec in drifted for f in detector.observe(rec)]
    for f in findings:
        assert isinstance(f.metric, str) and f.metric
        assert math.isfinite(f.value) and math.isfinite(f.threshold) and f.span >= 1
        assert f.severity in (None, "info", "warning", "critical")
    assert all(isinstance(k, str) and math.isfinite(v) for k, v in detector.gauges().items())
    if detector_cls.kind != "rank_change":  # thresholds near zero: every other detector must have fired
        assert findings, f"{detector_cls.kind} never fired even with thresholds near zero"
    if detector_cls.kind == "faithfulness_decay" and drifted[0].attention is None:  # nothing to watch there
        assert {f.metric for f in findings} == {"cusum_faithfulness"}


@pytest.mark.parametrize("detector_cls", DETECTORS, ids=lambda d: d.kind)
def test_state_survives_a_json_round_trip_mid_stream(detector_cls, reference, drifted):
    """What a restart does: save the state as JSON halfway, restore it into a fresh instance, carry on."""
    import json

    params = AlertParams(window_signals=4, cooldown_signals=2)
    whole = detector_cls(reference, params)
    expected = [(i, f) for i, rec in enumerate(drifted) for f in whole.observe(rec)]
    first, second = detector_cls(reference, params), detector_cls(reference, params)
    half = len(drifted) // 2
    found = [(i, f) for i, rec in enumerate(drifted[:half]) for f in first.observe(rec)]
    second.restore(json.loads(json.dumps(first.state())))
    found += [(half + i, f) for i, rec in enumerate(drifted[half:]) for f in second.observe(rec)]
    assert found == expected
    assert second.state() == whole.state()
