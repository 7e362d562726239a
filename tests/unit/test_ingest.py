import json

import pytest

from streams.ingest import MIN_TS_MS, Rejected, Source, dead_letter, ingest, parse_ts, validate
from streams.records import DeadLetter, Tick

NOW = 1_800_000_000_000
SRC = Source("ticks", 3, 42)


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


def test_dead_letter_keeps_original_bytes_and_source():
    letter = ingest(b"\x00garbage", b"k", SRC, 4096)
    assert isinstance(letter, DeadLetter)
    assert letter.reason == "undecodable"
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("ticks", 3, 42)
    import base64

    assert base64.b64decode(letter.original_b64) == b"\x00garbage"
    assert json.loads(letter.to_json())["schema_version"] == 1


def test_dead_letter_of_empty_value():
    letter = dead_letter(None, None, Rejected("empty", "no value"), SRC)
    assert letter.original_b64 == "" and letter.original_key_b64 is None
