"""``tickscope bench pipeline``: every stage's rate through a real broker, side by side in one run.

Method (printed with the figures), for 100 and for 1,000 symbols, each phase on a fresh embedded broker:
1. Ceilings: a backlog of real market ticks (EURUSD, GOOG, S&P 500, NASDAQ closes, cycled over the symbols,
   each symbol in time order, one tick per message) is read by a bare aiokafka consumer (getmany, nothing
   else) and drained by a Faust agent that does nothing (``bench/noop_worker.py``).
2. Detect alone: ``tickscope worker --agents detect`` drains the same backlog; rate = ticks read per second
   from the first to the last, read from its own counter, with every signal it fires published to `signals`
   and acknowledged before the next batch.
3. Explain alone: ``tickscope worker --agents explain`` drains the signals phase 2 published; rate = signals
   explained and published per second. Side by side, in this process: the bare explainer on the same signals
   (``explain_signal`` in a loop, one torch thread) -- the ratio is the worker's overhead.
4. End to end: the `tickscope up` layout (one detect process, one explain + alert process per remaining core)
   drains the backlog; rate = ticks/s from detect's first batch until every tick is read and every signal is
   explained (the explain processes are started first, so the clock starts before detect reads anything).
5. Latency: the same processes are fed at half that rate for 30 s with ts = the wall clock at send; an
   independent consumer reads `explanations`: tick -> the archive record's Kafka timestamp (its publish by the
   worker's producer), p50/p99, and the legs tick -> scored -> explained -> published from the record.
6. Memory: each worker process's peak RSS (VmHWM).
In phase 5 the detect process's checkpoint times (its tickscope_checkpoint_seconds histogram) are read.
In phase 2 the worker's and the broker's CPU clocks (/proc/PID/stat) are read at the first and last sample:
ticks per CPU-second of the worker, and how many cores each kept busy, show where a missed rate went.
Targets: detect >= 50,000 ticks/s per process; each explain process >= 90% of the bare explainer's rate;
p99 tick -> archive <= 250 ms; <= 1 GiB per process with 1,000 symbols. A shared 2-core machine: compare the
ratios measured in one run, not absolute figures of different runs.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path

from bench.launch import start_worker
from bench.pipeline_parts import (
    cpu_seconds,
    drain,
    histogram,
    metrics_text,
    peak_rss_mb,
    percentiles,
    preload_ticks,
    raw_getmany_rate,
    symbol_series,
    total,
)
from tickscope.transport.broker import free_port, start_broker, stop_process

CASES = ((100, 2000), (1000, 400))  # (symbols, backlog ticks per symbol)
LATENCY_S = 30.0
LATENCY_ROWS = 800  # rows per symbol after the backlog, fed at half rate


class Stack:
    """A fresh broker and the worker processes started on it; stopped together."""

    def __init__(self, name: str):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tickscope-bench-{name}-"))
        self.bootstrap = f"127.0.0.1:{free_port()}"
        self.broker = start_broker(self.bootstrap, log_path=self.tmp / "broker.log")
        self.procs: list = []
        self.ports: list[int] = []

    def worker(self, name: str, agents: str | None = None, module: str = "tickscope", **env) -> None:
        port = free_port()
        if agents is not None:
            env["TICKSCOPE_WORKER_AGENTS"] = agents
        proc, _ = start_worker(self.bootstrap, self.tmp / name, name=name, module=module,
                               TICKSCOPE_METRICS_PORT=port, **env)
        self.procs.append(proc)
        self.ports.append(port)

    def rss(self) -> list[float]:
        return [round(peak_rss_mb(p.pid), 1) for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            stop_process(p, 15)
        stop_process(self.broker)


def ceilings(series, per_symbol: int) -> dict:
    stack = Stack("ceiling")
    try:
        backlog = preload_ticks(stack.bootstrap, series, 0, per_symbol)
        raw = raw_getmany_rate(stack.bootstrap, "ticks", backlog)
        stack.worker("noop", module="bench.noop_worker")
        noop = drain(stack.ports, "tickscope_ticks_in_total", backlog)
        return {"backlog": backlog, "raw_getmany_msgs_per_s": round(raw), "noop_faust_agent_per_s": round(noop)}
    finally:
        stack.stop()


def stages_alone(series, per_symbol: int) -> dict:
    """Detect alone, then explain alone on the signals detect published, and the bare explainer beside it."""
    stack = Stack("stages")
    try:
        backlog = preload_ticks(stack.bootstrap, series, 0, per_symbol)
        stack.worker("detect", agents="detect")
        clocks = []  # (ticks seen, worker CPU s, broker CPU s) at the first and the last sample
        detect = drain(stack.ports, "tickscope_ticks_in_total", backlog, on_edge=lambda seen: clocks.append(
            (seen, cpu_seconds(stack.procs[0].pid), cpu_seconds(stack.broker.pid))))
        ticks = clocks[1][0] - clocks[0][0]
        worker_cpu, broker_cpu = clocks[1][1] - clocks[0][1], clocks[1][2] - clocks[0][2]
        signals = int(total(metrics_text(stack.ports), "tickscope_signals_total"))
        stack.worker("explain", agents="explain")
        explain = drain(stack.ports[1:], "tickscope_explanations_total", signals)
        bare = bare_explainer_rate(stack.bootstrap, min(signals, 150))
        return {"detect_ticks_per_s": round(detect), "signals": signals,
                "detect_ticks_per_worker_cpu_s": round(ticks / max(worker_cpu, 1e-9)),
                "detect_cpu_cores": {"worker": round(worker_cpu * detect / ticks, 2),
                                     "broker": round(broker_cpu * detect / ticks, 2)},
                "explain_signals_per_s": round(explain, 1),
                "bare_explainer_signals_per_s": round(bare, 1), "explain_vs_bare": round(explain / bare, 3),
                "rss_mb": {"detect": stack.rss()[0], "explain": stack.rss()[1]}}
    finally:
        stack.stop()


def bare_explainer_rate(bootstrap: str, n: int) -> float:
    """Signals/s of ``explain_signal`` alone over the first ``n`` signals on the topic (one torch thread)."""
    import torch
    from kafka import KafkaConsumer

    from tickscope.contracts.records import Signal
    from tickscope.explainer.baseline_shapley import ExplainConfig
    from tickscope.models.registry import load
    from tickscope.streams.explain import Explaining, explain_signal

    consumer = KafkaConsumer("signals", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=3000, group_id=None)
    signals = [Signal.from_json(m.value) for _, m in zip(range(n), consumer)]
    consumer.close()
    torch.set_num_threads(1)
    model = load()
    e = Explaining.for_model(model, ExplainConfig())
    explain_signal(signals[0], model.net, e.baseline, e.baseline_hash, e.config, 0)  # warm-up
    started = time.perf_counter()
    for s in signals:
        explain_signal(s, model.net, e.baseline, e.baseline_hash, e.config, 0)
    return len(signals) / (time.perf_counter() - started)


def end_to_end(series, per_symbol: int) -> dict:
    from tickscope.cli.up_command import explain_processes, worker_layout

    stack = Stack("e2e")
    try:
        backlog = preload_ticks(stack.bootstrap, series, 0, per_symbol)
        # Explain processes first, detect last: timing starts at detect's first batch, so every signal the
        # backlog raises is explained inside the timed span (detect started first would read part of the
        # backlog before the clock starts and the rate would count only the rest of it).
        layout = worker_layout(explain_processes())
        for name, agents in layout[1:] + layout[:1]:
            stack.worker(name, agents=agents)
        detect_port = stack.ports[-1:]

        def explained(text: str) -> bool:
            return total(text, "tickscope_explanations_total") >= total(text, "tickscope_signals_total")

        rate = drain(stack.ports, "tickscope_ticks_in_total", backlog, done=explained)
        before = histogram(metrics_text(detect_port), "tickscope_checkpoint_seconds")
        publish, arrival, legs = latency(stack.bootstrap, series, per_symbol, rate / 2, LATENCY_S)
        after = histogram(metrics_text(detect_port), "tickscope_checkpoint_seconds")
        return {"checkpoints": checkpoint_summary(before, after), "processes": len(stack.procs),
                "ticks_per_s": round(rate),
                "p50_p99_ms": percentiles(publish, 50, 99), "latency_signals": len(publish),
                "arrival_p50_p99_ms": percentiles(arrival, 50, 99), "legs_p50_p99_ms": legs,
                "rss_mb": stack.rss()[-1:] + stack.rss()[:-1]}  # detect first
    finally:
        stack.stop()


def checkpoint_summary(before: dict, after: dict) -> dict:
    """The detect process's checkpoints during the half-rate phase: how many, mean ms, and how many took
    longer than 100 and 250 ms (ticks that arrive meanwhile wait: a source of the tick -> scored tail)."""
    n = after["count"] - before["count"]
    slower = {le: n - (after[f"<= {le}"] - before[f"<= {le}"]) for le in ("0.1", "0.25")}
    return {"count": int(n), "mean_ms": round(1000 * (after["sum"] - before["sum"]) / max(n, 1), 1),
            "over_100_ms": int(slower["0.1"]), "over_250_ms": int(slower["0.25"])}


def latency(bootstrap: str, series, per_symbol: int, rate: float, seconds: float):
    """Feed at ``rate`` ticks/s stamped with the wall clock; per archive record: publish - tick ts (ms),
    arrival at an independent consumer - tick ts, and the legs."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from tickscope.contracts.times import now_ms
    from tickscope.marketdata.feed import Pacer, tick_json
    from tickscope.marketdata.sources import TickRow

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    tps = [TopicPartition("explanations", p) for p in consumer.partitions_for_topic("explanations") or [0]]
    consumer.assign(tps)
    consumer.seek_to_end(*tps)
    published, arrived, legs, stop = [], [], [], threading.Event()
    started = now_ms()

    def read():
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=100).values():
                at = now_ms()
                for r in batch:
                    rec = json.loads(r.value)
                    if rec["ts"] >= started:
                        published.append(r.timestamp - rec["ts"])
                        arrived.append(at - rec["ts"])
                        legs.append((rec["scored_at"] - rec["ts"], rec["produced_at"] - rec["scored_at"],
                                     r.timestamp - rec["produced_at"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=1, acks=1)
    pacer, k, end = Pacer(rate), per_symbol, time.monotonic() + seconds
    while time.monotonic() < end and k < per_symbol + LATENCY_ROWS:
        for symbol, rows in series:
            if k < len(rows):
                producer.send("ticks", key=symbol.encode(), value=tick_json(symbol, TickRow(now_ms(), rows[k].price,
                                                                                            None)))
                pacer.tick()
        k += 1
    producer.flush()
    time.sleep(3)
    stop.set()
    reader.join()
    consumer.close()
    names = ("tick_to_scored", "scored_to_explained", "explained_to_published")
    return published, arrived, {n: percentiles([leg[i] for leg in legs], 50, 99) for i, n in enumerate(names)}


def run_case(symbols: int, per_symbol: int) -> dict:
    series = symbol_series(symbols, per_symbol + LATENCY_ROWS)
    return {"symbols": symbols, **ceilings(series, per_symbol), **stages_alone(series, per_symbol),
            "end_to_end": end_to_end(series, per_symbol)}


def run_cli(args) -> int:
    if not args.json:
        print(__doc__.split("Method (printed with the figures), ")[1].strip(), "\n", flush=True)
    results = []
    for symbols, per_symbol in CASES:
        r = run_case(symbols, per_symbol)
        results.append(r)
        if not args.json:
            print(render(r), flush=True)
    if args.json:
        print(json.dumps({"cases": results}))
    return 0


def render(r: dict) -> str:
    e = r["end_to_end"]
    return (f"{r['symbols']:>5} symbols, backlog {r['backlog']:,} ticks\n"
            f"  ceilings: aiokafka getmany {r['raw_getmany_msgs_per_s']:,} msg/s; do-nothing Faust agent "
            f"{r['noop_faust_agent_per_s']:,} msg/s\n"
            f"  detect alone: {r['detect_ticks_per_s']:,} ticks/s (target 50,000), {r['signals']} signals, "
            f"peak RSS {r['rss_mb']['detect']} MB\n"
            f"    where the time goes: {r['detect_ticks_per_worker_cpu_s']:,} ticks per CPU-second of the worker; "
            f"cores busy while draining: worker {r['detect_cpu_cores']['worker']}, broker "
            f"{r['detect_cpu_cores']['broker']} (of 2 on this machine)\n"
            f"  explain alone: {r['explain_signals_per_s']} signals/s per process vs the bare explainer "
            f"{r['bare_explainer_signals_per_s']} ({100 * r['explain_vs_bare']:.0f}%; target >= 90%), "
            f"peak RSS {r['rss_mb']['explain']} MB\n"
            f"  end to end ({e['processes']} processes): {e['ticks_per_s']:,} ticks/s with every signal explained; "
            f"tick -> archive publish at half rate p50/p99 {e['p50_p99_ms']} ms over {e['latency_signals']} "
            f"signals (target p99 <= 250); legs p50/p99 {e['legs_p50_p99_ms']}; arrival at a consumer "
            f"{e['arrival_p50_p99_ms']}; peak RSS per process {e['rss_mb']} MB (target <= 1024)\n"
            f"    detect checkpoints (window state + offsets, nothing read meanwhile) during the half-rate phase: "
            f"{e['checkpoints']}")
