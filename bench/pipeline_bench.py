"""``tickscope bench pipeline``: throughput, latency and memory of one worker through a real broker.

Method (printed with the figures):
1. Start the embedded broker on a free port and one ``tickscope worker`` process.
2. Throughput: preload a backlog of real market ticks (EURUSD, GOOG, S&P 500,
   NASDAQ closes, cycled over S symbols, in per-symbol time order) and time
   how fast the worker drains it, from its metrics: ticks/s = backlog / (time
   when every tick is read and every signal explained - time of the first tick read).
3. Latency: feed the same symbols at half that rate for 40 seconds with
   ts = wall-clock send time, and read the archive topic with an independent
   consumer (10 ms fetch wait): latency = the archive record's Kafka timestamp
   (set by the worker's producer when it publishes) - tick ts, i.e. tick to
   archive publish, one machine, one clock; also reported: arrival at that
   consumer - tick ts, and the legs tick -> scored -> explained -> published
   from the record's ``scored_at`` / ``produced_at``.
4. Memory: the worker's peak RSS (VmHWM), summed over its processes.
   Each case runs two layouts: all agents in one process, and ``detect`` in one
   process with ``explain`` + ``alert`` in another (TICKSCOPE_WORKER_AGENTS).
5. Ceiling, side by side in the same run: a Faust agent on the same broker that
   reads the same backlog in the same micro-batches and does nothing
   (``bench/noop_worker.py``); the worker's rate is reported as a ratio of it.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

SOURCES = ("eurusd", "goog", "sp500", "nasdaq")


LATENCY_ROWS = 1200  # rows per symbol kept for the half-rate phase (time-bound, not row-bound, at 100 symbols)


def _symbol_series(symbols: int, per_symbol: int) -> list[tuple[str, list]]:
    """Per symbol: ``per_symbol`` rows for the backlog, then up to LATENCY_ROWS for the half-rate phase."""
    from tickscope.marketdata.sources import load_source

    data = {s: load_source(s) for s in SOURCES}
    out = []
    for i in range(symbols):
        rows = data[SOURCES[i % len(SOURCES)]]
        length = min(len(rows), per_symbol + LATENCY_ROWS)
        start = (i * 37) % max(1, len(rows) - length + 1)
        out.append((f"{SOURCES[i % len(SOURCES)].upper()}-{i:04d}", rows[start : start + length]))
    return out


def _metrics_text(ports: list[int]) -> str:
    return "\n".join(urllib.request.urlopen(f"http://127.0.0.1:{p}/metrics", timeout=5).read().decode()
                     for p in ports)


def _total(text: str, name: str) -> float:
    """Sum of a metric's samples (over labels and over processes)."""
    return sum(float(v) for v in re.findall(rf"^{name}(?:\{{[^}}]*\}})? ([0-9.e+]+)$", text, re.M))


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _preload(bootstrap: str, series, per_symbol: int) -> int:
    from kafka import KafkaProducer

    from tickscope.marketdata.feed import tick_json

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024, acks=1)
    n = 0
    for k in range(per_symbol):  # interleave symbols, keep each symbol's order
        for symbol, rows in series:
            producer.send("ticks", key=symbol.encode(), value=tick_json(symbol, rows[k]))
            n += 1
    producer.flush()
    producer.close()
    return n


def _drain_rate(ports: list[int], backlog: int, timeout_s: float) -> float:
    """Ticks/s from the first tick read until every tick is read AND every signal it raised is explained:
    a rate the whole worker sustains, not just its first stage."""
    first = last = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = _metrics_text(ports)
        seen, now = _total(text, "tickscope_ticks_in_total"), time.monotonic()
        if seen > 0 and first is None:
            first = (now, seen)
        if seen >= backlog and _total(text, "tickscope_explanations_total") >= _total(text, "tickscope_signals_total"):
            last = (now, seen)
            break
        time.sleep(0.05)
    if first is None or last is None:
        raise RuntimeError(f"worker did not drain the backlog of {backlog} ticks in {timeout_s:.0f} s")
    return (last[1] - first[1]) / max(1e-9, last[0] - first[0])


def _latency(bootstrap: str, series, per_symbol: int, rate: float,
             seconds: float) -> tuple[list[float], list[float], list[tuple]]:
    """Feed at ``rate`` ticks/s with wall-clock ts; return, in ms: tick to the archive record's publish time
    (its Kafka timestamp, set by the worker's producer at send); tick to its arrival at an independent
    consumer polling with a 10 ms fetch wait; and per record the legs (tick -> scored, scored -> explained,
    explained -> published)."""
    import threading

    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from tickscope.contracts.times import now_ms
    from tickscope.marketdata.feed import Pacer, tick_json
    from tickscope.marketdata.sources import TickRow

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    tps = [TopicPartition("explanations", p) for p in consumer.partitions_for_topic("explanations") or [0]]
    consumer.assign(tps)
    consumer.seek_to_end(*tps)
    published: list[float] = []
    latencies: list[float] = []
    stages: list[tuple] = []  # (tick ts -> scored, scored -> explained, explained -> published), ms
    stop = threading.Event()
    started_ms = time.time() * 1000  # signals of the backlog (historical ts) are not counted

    def read():
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=100).values():
                arrived = time.time() * 1000
                for r in batch:
                    rec = json.loads(r.value)
                    ts = rec["ts"]
                    if ts >= started_ms:
                        published.append(r.timestamp - ts)
                        latencies.append(arrived - ts)
                        stages.append((rec["scored_at"] - ts, rec["produced_at"] - rec["scored_at"],
                                       r.timestamp - rec["produced_at"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=1, acks=1)
    pacer, k, end = Pacer(rate), per_symbol, time.monotonic() + seconds
    rows_left = min(len(rows) for _, rows in series)
    while time.monotonic() < end and k < rows_left:
        for symbol, rows in series:
            live = TickRow(ts=now_ms(), price=rows[k].price, size=None)  # stamped now: latency is measured from it
            producer.send("ticks", key=symbol.encode(), value=tick_json(symbol, live))
            pacer.tick()
        k += 1
    producer.flush()
    time.sleep(3)
    stop.set()
    reader.join()
    consumer.close()
    return published, latencies, stages


def noop_rate(symbols: int, per_symbol: int) -> float:
    """Drain rate of a do-nothing Faust agent over the same backlog, on its own fresh broker."""
    from bench.launch import start_worker
    from tickscope.transport.broker import free_port, start_broker, stop_process

    tmp = Path(tempfile.mkdtemp(prefix="tickscope-bench-noop-"))
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp / "broker.log")
    port = free_port()
    try:
        noop, _ = start_worker(listen, tmp, name="noop", module="bench.noop_worker", TICKSCOPE_METRICS_PORT=port)
        backlog = _preload(listen, _symbol_series(symbols, per_symbol), per_symbol)
        rate = _drain_rate([port], backlog, timeout_s=900)
        stop_process(noop, 15)
    finally:
        stop_process(broker)
    return rate


LATENCY_S = 40.0  # length of the half-rate phase; p99 rests on its few hundred signals

# how the worker's agents are spread over processes: one process, or detect | explain+alert (one core each)
LAYOUTS = {"one process": ["detect,explain,alert"], "two processes": ["detect", "explain,alert"]}


def run_case(symbols: int, per_symbol: int, latency_s: float, layout: str) -> dict:
    from bench.launch import start_worker
    from tickscope.transport.broker import free_port, start_broker, stop_process

    tmp = Path(tempfile.mkdtemp(prefix="tickscope-bench-"))
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp / "broker.log")
    workers, ports = [], []
    try:
        for i, agents in enumerate(LAYOUTS[layout]):
            ports.append(free_port())
            workers.append(start_worker(listen, tmp / f"w{i}", TICKSCOPE_METRICS_PORT=ports[-1],
                                        TICKSCOPE_WORKER_AGENTS=agents)[0])
        series = _symbol_series(symbols, per_symbol)
        backlog = _preload(listen, series, per_symbol)
        rate = _drain_rate(ports, backlog, timeout_s=900)
        pub, lat, stages = _latency(listen, series, per_symbol, rate / 2, latency_s)
        rss = sum(_peak_rss_mb(w.pid) for w in workers)
    finally:
        for w in workers:
            stop_process(w, 15)
        stop_process(broker)
    return {"symbols": symbols, "layout": layout, "ticks_per_s": round(rate, 1), "backlog": backlog,
            "p50_ms": round(float(np.percentile(pub, 50)), 1) if pub else None,
            "p99_ms": round(float(np.percentile(pub, 99)), 1) if pub else None,
            "arrival_p50_ms": round(float(np.percentile(lat, 50)), 1) if lat else None,
            "arrival_p99_ms": round(float(np.percentile(lat, 99)), 1) if lat else None,
            "latency_samples": len(lat), "rss_mb": round(rss, 1), "stages_p50_p99_ms": _stage_percentiles(stages)}


def _stage_percentiles(stages: list[tuple]) -> dict:
    """Where tick-to-archive latency goes: p50/p99 of each leg (wall-clock ms, one machine)."""
    if not stages:
        return {}
    legs = np.asarray(stages, dtype=np.float64)
    names = ("tick_to_scored", "scored_to_explained", "explained_to_published")
    return {n: [round(float(np.percentile(legs[:, i], 50)), 1), round(float(np.percentile(legs[:, i], 99)), 1)]
            for i, n in enumerate(names)}


def run_cli(args) -> int:
    cases = [(100, 300), (1000, 120)]
    if not args.json:
        print(__doc__.split("Method (printed with the figures):")[1].strip(), "\n", flush=True)
    results = []
    for symbols, per_symbol in cases:
        ceiling = noop_rate(symbols, per_symbol)
        for layout in LAYOUTS:
            r = run_case(symbols, per_symbol, LATENCY_S, layout)
            r.update(noop_faust_ticks_per_s=round(ceiling, 1), ratio_to_noop=round(r["ticks_per_s"] / ceiling, 3))
            results.append(r)
            if not args.json:
                _print(r)
    if args.json:
        print(json.dumps({"cases": results}))
    else:
        print("targets: >= 50,000 ticks/s, p99 <= 250 ms, RSS <= 1024 MB with 1,000 symbols")
    return 0


def _print(r: dict) -> None:
    print(f"{r['symbols']:>5} symbols, {r['layout']:<13}: {r['ticks_per_s']:>6.0f} ticks/s sustained "
          f"(backlog {r['backlog']}; do-nothing Faust agent {r['noop_faust_ticks_per_s']:.0f}, "
          f"ratio {r['ratio_to_noop']:.2f}); tick->archive publish at half rate p50 {r['p50_ms']} ms, "
          f"p99 {r['p99_ms']} ms ({r['latency_samples']} signals; arrival at a consumer p50 {r['arrival_p50_ms']}, "
          f"p99 {r['arrival_p99_ms']}; legs p50/p99 {r['stages_p50_p99_ms']}); peak RSS {r['rss_mb']} MB", flush=True)
