"""The dashboard reader's per-message path against hostile input: a rejection or a record, never an exception.

Hypothesis feeds ``Store.add_raw`` (what ``KafkaFeed`` calls for every message) hostile bytes and
hostile-but-valid JSON: deep nesting, huge and non-finite numbers, lone surrogates, wrong shapes and types,
duplicate keys, unknown schema versions, enormous arrays within the size limit. A rejected message leaves the
store exactly as it was, and an accepted record still renders in every view. CI runs a fixed number of
examples, derandomized (a fixed seed).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import synthetic
from tickscope.dashboard.live_store import Store

NOW_TS = 1_795_000_000_000
CI = settings(max_examples=150, derandomize=True, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
RECORD = json.loads(synthetic.record_json("FUZZ", NOW_TS, 1.1, NOW_TS))
ALERT = json.loads(synthetic.alert_json("al-x", "attribution_drift", "FUZZ", ["a" * 32], NOW_TS, NOW_TS))
TICK = {"symbol": "FUZZ", "ts": NOW_TS, "price": 1.1}
TEMPLATES = {"ticks": TICK, "records": RECORD, "alerts": ALERT}

HOSTILE_VALUES = st.one_of(
    st.sampled_from([2**70, -(2**64), 2**64, 10**400, float("nan"), float("inf"), -float("inf"), 1e308, -0.0,
                     True, None, "", "\ud800", "EURUSD\n", "x" * 5000, [], {}, [[]], [None], [1.0] * 7]),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=40),
    st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=8),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                 max_leaves=20),
)


def _text(obj) -> bytes:
    """JSON text as a hostile producer might write it: NaN/Infinity tokens allowed, lone surrogates escaped."""
    return json.dumps(obj, allow_nan=True).encode("utf-8")


def _deep(depth: int, kind: str) -> bytes:
    return (b"[" * depth + b"]" * depth) if kind == "list" else (b'{"a":' * depth + b"1" + b"}" * depth)


@st.composite
def hostile_json(draw, kind: str) -> bytes:
    template = dict(TEMPLATES[kind])
    how = draw(st.sampled_from(["field", "drop", "deep", "deep_field", "duplicate", "schema", "enormous", "bytes"]))
    field = draw(st.sampled_from(sorted(template)))
    if how == "field":
        template[field] = draw(HOSTILE_VALUES)
    elif how == "drop":
        template.pop(field)
    elif how == "deep":
        return _deep(draw(st.integers(100, 100_000)), draw(st.sampled_from(["list", "dict"])))
    elif how == "deep_field":
        depth = draw(st.integers(50, 5_000))
        text = _text(dict(template, **{field: 0}))
        return text.replace(f'"{field}": 0'.encode(), f'"{field}": '.encode() + _deep(depth, "list"), 1)
    elif how == "duplicate":
        text = _text(template)
        return text[:-1] + f', "{field}": {json.dumps(draw(HOSTILE_VALUES), allow_nan=True)}}}'.encode()
    elif how == "schema":
        template["schema_version"] = draw(st.sampled_from([0, 2, -1, 2**64, 10**30, "1", 1.5]))
    elif how == "enormous":
        n = draw(st.integers(1_000, 20_000))
        template[field] = [[0.0] * 6] * n if field in ("window", "attributions") else [0.0] * n
    else:
        return draw(st.binary(max_size=3000))
    return _text(template)


def _state(s: Store):
    return (s.symbols(), {sym: s.prices(sym) for sym in s.symbols()}, s.records(), s.alerts(), s.version,
            s.records_version, s.alerts_version, s.arrival_seq)


def _seeded() -> Store:
    s = Store(max_points=1000)
    s.add_raw("ticks", _text(dict(TICK, ts=NOW_TS - 10_000)), b"FUZZ")
    s.add_raw("records", synthetic.record_json("FUZZ", NOW_TS - 20_000, 1.1, NOW_TS))
    s.add_raw("alerts", synthetic.alert_json("al-0", "rank_change", "*", ["b" * 32], NOW_TS, NOW_TS))
    return s


def _renders(s: Store, kind: str) -> None:
    """Every view that would show the newest item builds without raising."""
    from tickscope.dashboard.views import alerts_view, desk_view, signal_view

    if kind == "records":
        rec = s.records()[-1]
        signal_view.explanation_view(s, rec["signal_id"], rec["symbol"], None, locate=lambda v: None)
    if kind == "alerts":
        alerts_view.alerts_update(s, None, now_ms=NOW_TS)
    sym = s.symbols()[0]
    desk_view.desk_update(s, sym, None, None, None)


@pytest.mark.parametrize("kind", ["ticks", "records", "alerts"])
def test_hostile_input_is_rejected_or_accepted_never_raised(kind):
    @CI
    @given(raw=st.one_of(hostile_json(kind), st.binary(max_size=2000)), key=st.one_of(st.none(), st.binary(max_size=8),
                                                                                       st.just(b"FUZZ")))
    def check(raw, key):
        s = _seeded()
        before = _state(s)
        rejected_before = s.snapshot_status()[1].get(f"{kind}_rejected", 0)
        kept = s.add_raw(kind, raw, key)  # must not raise
        rejected = s.snapshot_status()[1].get(f"{kind}_rejected", 0) - rejected_before
        if kept:
            assert rejected == 0
            _renders(s, kind)
        else:
            assert _state(s) == before, "a message that was not kept changed the store"
            if rejected:
                assert s.dead_letters[-1].reason

    check()


@pytest.mark.parametrize("raw,reason", [
    (b"[" * 100_000 + b"]" * 100_000, "invalid_record"),
    (_text(dict(RECORD, symbol="\ud800")), "invalid_record"),  # pydantic refuses a lone surrogate itself
    (_text(dict(RECORD, symbol="EURUSD\n")), "bad_symbol"),
    (_text(dict(RECORD, ts=2**70)), "implausible_time"),
    (_text(dict(RECORD, schema_version=2**64)), "unknown_schema_version"),
    (_text(dict(RECORD, score=float("nan"))), "not_finite"),
    (_text(dict(RECORD, feature_attributions=[0.1] * 5)), "bad_shape"),
    (_text(dict(RECORD, segments=[[0, 99]] * 8)), "bad_shape"),
    (_text(dict(RECORD, quality={"stability": float("inf")})), "not_finite"),
    (b"x" * 2_000_000, "too_large"),
])
def test_known_hostile_records_are_rejected_by_reason(raw, reason):
    s = _seeded()
    before = _state(s)
    assert not s.add_raw("records", raw, None)
    assert _state(s) == before
    assert s.snapshot_status()[1][f"records_rejected_{reason}"] == 1


def test_an_alert_for_all_symbols_and_a_clean_record_are_accepted():
    s = Store()
    assert s.add_raw("records", synthetic.record_json("FUZZ", NOW_TS, 1.1, NOW_TS))
    assert s.add_raw("alerts", synthetic.alert_json("al-1", "rank_change", "*", [], NOW_TS, NOW_TS))
    assert s.add_raw("ticks", _text(TICK), b"FUZZ")
    assert not s.add_raw("ticks", _text(dict(TICK, symbol="FUZZ\n")), None)  # whole-match symbol rule
