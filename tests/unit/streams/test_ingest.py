"""The ingest stage: valid ticks through, bad ones rejected with a stable reason."""

from __future__ import annotations

import json

import pytest

from tickscope.contracts.dead_letters import Rejected
from tickscope.contracts.records import Tick
from tickscope.streams.ingest import MIN_TS_MS, parse_ts, validate

NOW = 1_800_000_000_000
def raw(**fields) -> bytes:
    body = {"symbol": "EURUSD", "ts": 1_600_000_000_000, "price": 1.1}
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


def test_valid_tick_round_trips():
    tick = validate(raw(size=3.0, extra="ignored"), b"EURUSD", 4096, NOW)
    assert tick == Tick(symbol="EURUSD", ts=1_600_000_000_000, price=1.1, size=3.0)


def test_iso_ts_with_offset_is_accepted_and_converted_to_utc_ms():
    assert parse_ts("2020-09-13T12:26:40+00:00") == 1_600_000_000_000
    assert parse_ts("2020-09-13T14:26:40+02:00") == 1_600_000_000_000
    assert parse_ts("2020-09-13T12:26:40Z") == 1_600_000_000_000


@pytest.mark.parametrize(
    "body, key, reason",
    [
        (b"\xff\xfe", b"EURUSD", "undecodable"),
        (b"[1, 2]", b"EURUSD", "not_object"),
        (raw(symbol="no spaces"), None, "bad_symbol"),
        (raw(symbol="X" * 33), None, "bad_symbol"),
        (raw(), b"GBPUSD", "key_mismatch"),
        (raw(ts=...), b"EURUSD", "missing_ts"),
        (raw(ts="2020-01-01T00:00:00"), b"EURUSD", "bad_ts"),
        (raw(ts=True), b"EURUSD", "bad_ts"),
        (raw(ts=MIN_TS_MS - 1), b"EURUSD", "implausible_ts"),
        (raw(ts=NOW + 2 * 86_400_000), b"EURUSD", "implausible_ts"),
        (raw(price=0), b"EURUSD", "bad_price"),
        (raw(price=-1.0), b"EURUSD", "bad_price"),
        (raw(price="1.1"), b"EURUSD", "bad_price"),
        (raw(price=...), b"EURUSD", "missing_price"),
        (b'{"symbol":"EURUSD","ts":1600000000000,"price":NaN}', b"EURUSD", "bad_price"),
        (raw(size=-1), b"EURUSD", "bad_size"),
        (raw(symbol="EURUSD", pad="x" * 5000), b"EURUSD", "too_large"),
    ],
)
def test_bad_input_is_rejected_with_a_stable_reason(body, key, reason):
    with pytest.raises(Rejected) as info:
        validate(body, key, 4096, NOW)
    assert info.value.reason == reason


