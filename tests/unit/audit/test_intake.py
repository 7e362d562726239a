"""The archiver's boundary: every message becomes an archived record or a rejection with a reason, never an
exception, and a rejection leaves the log as it was. Property tests with a fixed seed and example count."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.archives import real_records, signer_in
from tickscope.audit.archive_store import Incoming, open_store
from tickscope.audit.intake import MAX_RECORD_BYTES, Accepted, intake
from tickscope.contracts.dead_letters import Source
from tickscope.contracts.records import DeadLetter

SRC = Source("explanations", 3, 41)
FUZZ = settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
FUZZ_STORE = settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def good_value() -> dict:
    return json.loads(real_records()[0].to_json())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
hostile_scalars = st.sampled_from([float("nan"), float("inf"), -float("inf"), 2**70, -(2**64), 2**53, "\ud800",
                                   "a\udfffb", "", "x" * 5000, True, None, [], {}, "<script>alert(1)</script>",
                                   "=HYPERLINK(\"x\")", 1e308, -0.0])


@st.composite
def mutated_records(draw) -> bytes:
    """A real record with one field replaced by something hostile, or its text altered."""
    value = good_value()
    field = draw(st.sampled_from(sorted(value) + ["unknown_field"]))
    kind = draw(st.sampled_from(["scalar", "json", "nest", "array", "dup", "schema"]))
    if kind == "scalar":
        value[field] = draw(hostile_scalars)
    elif kind == "json":
        value[field] = draw(json_values)
    elif kind == "nest":
        depth = draw(st.integers(1, 3000))
        value[field] = json.loads("[" * min(depth, 900) + "]" * min(depth, 900)) if depth < 900 else None
        if depth >= 900:
            return json.dumps(value).replace('"unknown_field": null', "").encode()[:-1] + (
                ', "deep": ' + "[" * depth + "]" * depth + "}").encode()
    elif kind == "array":
        n = draw(st.integers(0, 60_000))
        value[field] = [draw(st.floats(allow_nan=False, width=32))] * n
    elif kind == "dup":
        text = json.dumps(value)
        return (text[:-1] + f', "{field}": {json.dumps(draw(json_values))}' + "}").encode()
    else:
        value["schema_version"] = draw(st.integers(-(2**70), 2**70))
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


messages = st.one_of(st.binary(max_size=4096), mutated_records(),
                     st.integers(1, 200_000).map(lambda n: b"[" * n),
                     json_values.map(lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass")))
keys = st.one_of(st.none(), st.binary(max_size=40), st.just(good_value()["signal_id"].encode()),
                 st.just(good_value()["symbol"].encode()))


@FUZZ
@given(raw=messages, key=keys)
def test_every_message_is_archived_or_rejected_never_raised(raw, key):
    out = intake(raw, key, SRC)
    assert isinstance(out, (Accepted, DeadLetter))
    if isinstance(out, DeadLetter):
        assert out.reason and out.stage == "archiver"
        assert (out.source_topic, out.source_partition, out.source_offset) == ("explanations", 3, 41)
    else:
        out.body.decode("utf-8")  # what is stored is valid UTF-8 JSON, parseable as the same record
        assert json.loads(out.body) == out.value and len(raw) <= MAX_RECORD_BYTES


def test_the_hostile_records_of_the_review_are_rejected_with_reasons():
    v = good_value()
    cases = {b"[" * 100_000: "too_deep",
             json.dumps({**v, "symbol": "EUR\ud800"}).encode(): "bad_string",
             json.dumps({**v, "ts": 2**70}).encode(): "out_of_range",
             json.dumps({**v, "schema_version": 2**64}).encode(): "out_of_range",
             json.dumps({**v, "schema_version": 7}).encode(): "unknown_schema_version",
             json.dumps({**v, "score": float("nan")}).encode(): "non_finite",
             json.dumps({**v, "score": "0.5"}).encode(): "invalid",
             json.dumps({**v, "window": v["window"][:-1]}).encode(): "bad_shape",
             json.dumps({**v, "model_version": "../../etc/passwd"}).encode(): "bad_model_version",
             json.dumps({**v, "symbol": "EURUSD\n"}).encode(): "bad_symbol",
             json.dumps(v)[:-1].encode() + b', "score": 9}': "duplicate_key",
             b"x" * (MAX_RECORD_BYTES + 1): "too_large"}
    for raw, reason in cases.items():
        out = intake(raw, None, SRC)
        assert isinstance(out, DeadLetter) and out.reason == reason, (raw[:60], out)
    assert isinstance(intake(real_records()[0].to_json(), None, SRC), Accepted)


def test_the_key_is_the_symbol_or_for_older_records_the_signal_id():
    v = good_value()
    raw = json.dumps(v).encode()
    assert isinstance(intake(raw, v["symbol"].encode(), SRC), Accepted)
    assert isinstance(intake(raw, v["signal_id"].encode(), SRC), Accepted)
    for other in (b"GOOG", v["symbol"].encode() + b" ", v["signal_id"][:-1].encode()):
        out = intake(raw, other, SRC)
        assert isinstance(out, DeadLetter) and out.reason == "key_mismatch", other


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "archive.sqlite"
    s = open_store(path, read_only=False)
    yield s, signer_in(path.parent)
    s.close()


@FUZZ_STORE
@given(raw=messages, key=keys)
def test_a_rejected_message_leaves_the_log_as_it_was(store, raw, key):
    s, signer = store
    size, root, rejected = s.count(), (s.frontier.root() if s.frontier else None), len(s.rejected())
    res = s.append_batch([Incoming(raw, key, "explanations/0@7")], {("explanations", 0): 8}, signer, 1)
    assert res.appended + res.rejected + res.duplicates + res.conflicts == 1
    if res.rejected:
        assert s.count() == size and (s.frontier.root() if size else root) == root
        assert len(s.rejected()) == rejected + 1 and s.rejected()[-1]["source"] == "explanations/0@7"
    if res.appended:
        assert s.count() == size + 1 and res.head is not None and res.head.tree_size == size + 1


def test_a_record_of_a_model_without_attention_is_archived_but_a_short_attention_is_not():
    v = good_value()
    assert isinstance(intake(json.dumps({**v, "attention": None, "attention_shap_spearman": None}).encode(),
                             None, SRC), Accepted)
    out = intake(json.dumps({**v, "attention": v["attention"][:-1]}).encode(), None, SRC)
    assert isinstance(out, DeadLetter) and out.reason == "bad_shape"
