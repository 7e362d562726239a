import pytest

from streams.feed import Pacer, replay, tick_json
from streams.sources import PACKAGED_SOURCES, SourceError, TickRow, load_source, read_csv


@pytest.mark.parametrize("name", PACKAGED_SOURCES)
def test_packaged_sources_load_in_time_order(name):
    rows = load_source(name)
    assert len(rows) > 100
    assert all(a.ts < b.ts for a, b in zip(rows, rows[1:]))
    assert all(r.price > 0 for r in rows)


def test_csv_with_timestamp_and_price(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("timestamp,price\n2020-01-01T00:00:00Z,1.5\n2020-01-01T00:01:00+00:00,1.6\n")
    assert read_csv(p) == [TickRow(1577836800000, 1.5, None), TickRow(1577836860000, 1.6, None)]


@pytest.mark.parametrize(
    "body, message",
    [
        ("timestamp,price\n2020-01-01,1.5\n2020-01-02,abc\n", "x.csv:3: price 'abc' is not a number"),
        ("timestamp,price\n2020-01-01,1.5\nnot-a-date,1.6\n", "x.csv:3: unparseable timestamp"),
        ("timestamp,price\n2020-01-01,1.5\n2020-01-02\n", "x.csv:3: expected at least 2 columns"),
        ("timestamp,price\n2020-01-01,-3\n", "x.csv:2: price must be finite and > 0"),
        ("when,what\n2020-01-01,1\n", "x.csv:1: header needs a timestamp column"),
        ("", "x.csv:1: empty file"),
    ],
)
def test_malformed_csv_names_the_line(tmp_path, body, message):
    p = tmp_path / "x.csv"
    p.write_text(body)
    with pytest.raises(SourceError, match=message.replace("(", r"\(")):
        read_csv(p)


def test_unknown_source_is_a_clear_error():
    with pytest.raises(SourceError, match="unknown source"):
        load_source("nope")


def test_loop_replay_shifts_timestamps_forward():
    rows = [TickRow(0, 1.0, None), TickRow(10, 2.0, None)]
    it = replay(rows, loop=True)
    ts = [next(it).ts for _ in range(6)]
    assert ts == [0, 10, 20, 30, 40, 50]


def test_tick_json_contract():
    import json

    assert json.loads(tick_json("GOOG", TickRow(5, 2.5, 10.0))) == {"symbol": "GOOG", "ts": 5, "price": 2.5, "size": 10.0}
    assert "size" not in json.loads(tick_json("GOOG", TickRow(5, 2.5, None)))


def test_pacer_zero_speed_never_sleeps():
    import time

    pacer, start = Pacer(0), time.monotonic()
    for _ in range(10_000):
        pacer.tick()
    assert time.monotonic() - start < 1.0
