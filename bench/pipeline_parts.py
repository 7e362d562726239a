"""The pieces ``tickscope bench pipeline`` and ``tickscope bench memory`` are made of.

Real market data (EURUSD, GOOG, S&P 500, NASDAQ closes) cycled over S symbols; real broker and worker
processes; rates read from the workers' own Prometheus counters; memory from /proc (VmHWM = peak RSS).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.request
from pathlib import Path

SOURCES = ("eurusd", "goog", "sp500", "nasdaq")


def symbol_series(symbols: int, rows_per_symbol: int) -> list[tuple[str, list]]:
    """S symbols, each a different stretch of a real series, ``rows_per_symbol`` rows each (time order)."""
    from tickscope.marketdata.sources import load_source

    data = {s: load_source(s) for s in SOURCES}
    out = []
    for i in range(symbols):
        rows = data[SOURCES[i % len(SOURCES)]]
        length = min(len(rows), rows_per_symbol)
        start = (i * 37) % max(1, len(rows) - length + 1)
        out.append((f"{SOURCES[i % len(SOURCES)].upper()}-{i:04d}", rows[start:start + length]))
    return out


def preload_ticks(bootstrap: str, series, first: int, last: int) -> int:
    """Rows [first, last) of every symbol to ``ticks``, symbols interleaved, each symbol in order."""
    from kafka import KafkaProducer

    from tickscope.marketdata.feed import tick_json

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024, acks=1)
    n = 0
    for k in range(first, last):
        for symbol, rows in series:
            if k < len(rows):
                producer.send("ticks", key=symbol.encode(), value=tick_json(symbol, rows[k]))
                n += 1
    producer.flush()
    producer.close()
    return n


def metrics_text(ports: list[int]) -> str:
    return "\n".join(urllib.request.urlopen(f"http://127.0.0.1:{p}/metrics", timeout=5).read().decode()
                     for p in ports)


def total(text: str, name: str) -> float:
    """Sum of a metric's samples over labels and processes."""
    return sum(float(v) for v in re.findall(rf"^{name}(?:\{{[^}}]*\}})? ([0-9.e+]+)$", text, re.M))


def drain(ports: list[int], counter: str, target: float, done=None, timeout_s: float = 900,
          on_edge=None) -> float:
    """Rate of ``counter`` (summed over ``ports``) from its first increase until it reaches ``target`` and
    ``done(text)`` holds: per second, on the wall clock, sampled every 50 ms. ``on_edge(seen)`` is called at
    the first and at the last sample (to read CPU clocks over exactly the timed span)."""
    first = last = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = metrics_text(ports)
        seen, now = total(text, counter), time.monotonic()
        if seen > 0 and first is None:
            if seen >= target:
                raise RuntimeError(f"{counter} reached {target} before it could be timed: use a larger backlog")
            first = (now, seen)
            if on_edge is not None:
                on_edge(seen)
        if seen >= target and (done is None or done(text)):
            last = (now, seen)
            if on_edge is not None:
                on_edge(seen)
            break
        time.sleep(0.05)
    if first is None or last is None:
        raise RuntimeError(f"{counter} did not reach {target} in {timeout_s:.0f} s (ports {ports})")
    return (last[1] - first[1]) / max(1e-9, last[0] - first[0])


def histogram(text: str, name: str) -> dict[str, float]:
    """A histogram's samples in one process's metrics text: {"count": n, "sum": s, "<= LE": cumulative n}."""
    out = {"count": total(text, f"{name}_count"), "sum": total(text, f"{name}_sum")}
    for le, n in re.findall(rf'^{name}_bucket\{{le="([^"]+)"\}} ([0-9.e+]+)$', text, re.M):
        out[f"<= {le}"] = float(n)
    return out


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, seconds (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_getmany_rate(bootstrap: str, topic: str, messages: int, max_records: int = 10_000) -> float:
    """Messages/s an aiokafka consumer reads (getmany, no processing): the ceiling of any reader here."""

    async def read() -> float:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                    enable_auto_commit=False, max_partition_fetch_bytes=1 << 20)
        await consumer.start()
        try:
            seen, first, started = 0, 0, None
            while seen < messages:
                batch = await consumer.getmany(timeout_ms=500, max_records=max_records)
                n = sum(len(v) for v in batch.values())
                if started is None and n:
                    started, first = time.perf_counter(), n  # timed from the end of the first fetch
                seen += n
            if seen - first < messages / 2:
                raise RuntimeError(f"a backlog of {messages} is too small to time: {first} came in the first fetch")
            return (seen - first) / (time.perf_counter() - started)
        finally:
            await consumer.stop()

    return asyncio.run(read())


def percentiles(values: list[float], *qs: float) -> list[float | None]:
    import numpy as np

    return [round(float(np.percentile(values, q)), 1) if values else None for q in qs]
