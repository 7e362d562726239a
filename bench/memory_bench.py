"""``tickscope bench memory``: memory stays bounded however many distinct symbols stream through.

Method (printed with the figures): two runs side by side, each on a fresh embedded broker, each 1,000,000
tick messages: (a) one million distinct symbols of one tick each, (b) the same number of ticks over 1,000
symbols (real prices, each symbol in time order). A ``tickscope worker --agents detect`` (per-symbol state
capped by TICKSCOPE_MAX_SYMBOLS, least recently seen evicted) and a ``tickscope dashboard`` (its own cap)
read the stream; their resident memory (VmRSS) is sampled every 0.5 s and reported at each tenth of the
stream read, with the peak (VmHWM) and the evictions counted by the worker. Flat means: the million-symbol
run ends within a few per cent of where it stood after its first tenth, and not far above the 1,000-symbol run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.pipeline_bench import Stack
from bench.pipeline_parts import metrics_text, peak_rss_mb, symbol_series, total

TICKS = 1_000_000
TENTHS = [i / 10 for i in range(1, 11)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def preload(bootstrap: str, distinct: bool) -> int:
    from kafka import KafkaProducer

    from tickscope.marketdata.feed import tick_json
    from tickscope.marketdata.sources import TickRow

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, batch_size=1 << 20, acks=1)
    if distinct:
        base = 1_600_000_000_000
        for i in range(TICKS):
            symbol = f"S{i:07d}"
            producer.send("ticks", key=symbol.encode(), value=tick_json(symbol, TickRow(base + i, 100.0 + i % 7, 1.0)))
    else:
        series = symbol_series(1000, TICKS // 1000)
        for k in range(TICKS // 1000):
            for symbol, rows in series:
                row = rows[k % len(rows)]
                producer.send("ticks", key=symbol.encode(),
                              value=tick_json(symbol, TickRow(row.ts + (k // len(rows)) * 10**10, row.price, row.size)))
    producer.flush()
    producer.close()
    return TICKS


def run(distinct: bool) -> dict:
    stack = Stack("memory")
    try:
        preload(stack.bootstrap, distinct)
        stack.worker("detect", agents="detect")
        dashboard = start_dashboard(stack)
        worker = stack.procs[0]
        curve_worker, curve_dashboard, read = [], [], 0.0
        for tenth in TENTHS:
            while read < tenth * TICKS:
                time.sleep(0.5)
                read = total(metrics_text(stack.ports[:1]), "tickscope_ticks_in_total")
            curve_worker.append(round(rss_mb(worker.pid), 1))
            curve_dashboard.append(round(rss_mb(dashboard.pid), 1) if dashboard else None)
        evictions = total(metrics_text(stack.ports[:1]), "tickscope_symbol_evictions_total")
        return {"distinct_symbols": TICKS if distinct else 1000, "worker_rss_mb_by_tenth": curve_worker,
                "worker_peak_mb": round(peak_rss_mb(worker.pid), 1), "worker_evictions": int(evictions),
                "dashboard_rss_mb_by_tenth": curve_dashboard,
                "dashboard_peak_mb": round(peak_rss_mb(dashboard.pid), 1) if dashboard else None}
    finally:
        stack.stop()


def start_dashboard(stack: Stack):
    """A ``tickscope dashboard`` reading the stack's topics (its memory is measured too)."""
    from bench.launch import worker_env
    from tickscope.cli.supervisor import spawn
    from tickscope.transport.broker import free_port

    env = worker_env(stack.bootstrap, stack.tmp / "dashboard")
    (stack.tmp / "dashboard").mkdir(exist_ok=True)
    proc = spawn(["dashboard", "--host", "127.0.0.1", "--port", str(free_port())], env,
                 stack.tmp / "dashboard" / "dashboard.log")
    stack.procs.append(proc)
    return proc


def run_cli(args) -> int:
    results = [run(distinct=True), run(distinct=False)]
    if args.json:
        print(json.dumps({"runs": results}))
        return 0
    print(" ".join(__doc__.split("Method (printed with the figures): ")[1].split()), "\n")
    for r in results:
        print(f"{r['distinct_symbols']:>9,} distinct symbols: worker RSS MB at each tenth "
              f"{r['worker_rss_mb_by_tenth']} (peak {r['worker_peak_mb']}, {r['worker_evictions']:,} evictions); "
              f"dashboard {r['dashboard_rss_mb_by_tenth']} (peak {r['dashboard_peak_mb']})")
    return 0
