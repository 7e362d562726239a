"""Real broker, real worker, real EURUSD bars: archive records honour the contract."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.support.topics import feed_ticks, json_values, read_topic, send_raw
from tickscope import models
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.records import ArchiveRecord
from tickscope.features.window import FEATURE_NAMES, WINDOW_T

pytestmark = pytest.mark.integration
N_BARS = 1500
SYMBOL = "EURUSD.IT"  # this module's own symbols: the session broker and worker are shared with other tests
GOOD_SYMBOL = "GOOG.IT"


@pytest.fixture(scope="module")
def archived(broker, worker) -> list[dict]:
    model = models.load()
    sent = feed_ticks(broker, "eurusd", SYMBOL, limit=N_BARS)
    assert sent == N_BARS
    # how many signals to expect is not known up front: read until the stream goes quiet
    seen: list = []

    def quiet(records):
        seen.append(len(records))
        return len(seen) > 20 and len(records) > 0 and seen[-1] == seen[-20]

    records = read_topic(broker, "explanations", until=quiet, timeout_s=120)
    values = [v for v in json_values(records) if v["symbol"] == SYMBOL]
    assert values, f"no archive records; worker log:\n{worker.log.read_text()[-3000:]}"
    assert all(v["model_version"] == model.version for v in values)
    return values


def test_every_contract_field_is_present_and_typed(archived):
    for value in archived:
        record = ArchiveRecord.model_validate(value)
        assert record.schema_version == 1
        assert record.symbol == SYMBOL
        lower, upper = models.load(record.model_version).thresholds
        assert (record.score > upper) if record.direction == "long" else (record.score < lower)
        assert record.threshold == (upper if record.direction == "long" else lower)
        assert record.explainer.seed > 0 and record.explainer.method
        assert record.produced_at >= record.scored_at


def test_shapes_attention_and_additivity(archived):
    for value in archived:
        window, attributions = np.array(value["window"]), np.array(value["attributions"])
        assert window.shape == attributions.shape == (WINDOW_T, len(FEATURE_NAMES))
        assert value["feature_names"] == list(FEATURE_NAMES)
        assert len(value["attention"]) == WINDOW_T
        assert abs(sum(value["attention"]) - 1.0) < 1e-5
        total = value["base_value"] + attributions.sum()
        assert value["additivity_error"] == pytest.approx(abs(total - value["score"]), abs=1e-12)
        assert value["additivity_error"] <= 1e-5 * max(1.0, abs(value["score"]))
        for level in ("event_attributions", "feature_attributions"):
            assert value["base_value"] + sum(value[level]) == pytest.approx(value["score"], abs=1e-5)


def test_signal_ids_are_deterministic_and_keyed(broker, archived):
    records = read_topic(broker, "explanations", until=lambda r: len(r) >= len(archived), timeout_s=30)
    for r in records:
        value = json.loads(r.value)
        if value["symbol"] != SYMBOL:
            continue
        assert r.key.decode() == value["symbol"]  # keyed by symbol: one symbol's records in one partition, in order
        assert value["signal_id"] == signal_id_for(value["symbol"], value["ts"], value["model_version"])


def test_bad_ticks_go_to_the_dead_letter_topic_and_good_ones_still_flow(broker, worker, archived):
    bad = [
        (b"EURUSD", b"not json at all"),
        (b"EURUSD", b'{"symbol": "EURUSD", "ts": 1600000000000, "price": -1}'),
        (b"EURUSD", json.dumps({"symbol": "EURUSD", "ts": "2020-01-01T00:00:00", "price": 1.1}).encode()),
        (b"\xff", b"\xff\xfe\x00garbage"),
        (b"OTHER", b'{"symbol": "EURUSD.IT", "ts": 1600000000001, "price": 1.1}'),
        (b"bad symbol!", b'{"symbol": "bad symbol!", "ts": 1600000000000, "price": 1.1}'),
    ]
    send_raw(broker, bad)
    good = feed_ticks(broker, "goog", GOOD_SYMBOL, limit=400)
    originals = {base64.b64encode(value).decode() for _, value in bad}

    def ours(records):
        return [json.loads(r.value) for r in records if json.loads(r.value)["original_b64"] in originals]

    dlq = ours(read_topic(broker, "ticks.dlq", until=lambda r: len(ours(r)) >= len(bad), timeout_s=60))
    reasons = sorted(letter["reason"] for letter in dlq)
    assert reasons == sorted(["undecodable", "bad_price", "bad_ts", "undecodable", "key_mismatch", "bad_symbol"])
    for letter in dlq:
        assert letter["source_topic"] == "ticks" and letter["source_offset"] >= 0
    def has_good(records):
        return any(json.loads(r.value)["symbol"] == GOOD_SYMBOL for r in records)

    goog = read_topic(broker, "explanations", until=has_good, timeout_s=90)
    assert good == 400
    assert has_good(goog), "good ticks behind bad ones did not flow"
