"""Real market data from the packaged sources and from CSV files."""

from __future__ import annotations

import pytest

from tickscope.marketdata.sources import PACKAGED_SOURCES, SourceError, TickRow, load_source, read_csv


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


