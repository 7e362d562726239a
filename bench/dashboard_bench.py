"""``tickscope bench dashboard``: archive publish -> on screen at 50 signals/s with 100k price points, push vs poll.

Method (printed with the figures). Two phases in one run, push (the default) then poll (``--poll``), each:
1. Start the embedded broker on a free port, create ``ticks``/``explanations``/``alerts``, and start
   ``tickscope dashboard`` as its own process (it reads the topics like in production).
2. Preload ``points`` ticks of one symbol (1 s apart, ending now) and wait until the dashboard holds
   them all; open the page in headless Chromium and wait until the price chart holds what the browser
   keeps (``browser_points``, the product default; the page says "showing last N").
3. Publish, for ``seconds``, one synthetic schema-valid archive record and one tick per 1/``rate`` s
   (wall-clock paced). A script in the page stamps ``Date.now()`` the first time each signal_id is on
   screen: a row of the signals table (MutationObserver) or a marker on the price chart
   (``plotly_afterplot``). Latency = that stamp - the wall time just before ``producer.send`` (same host,
   same clock): p50, p99, max over every published signal.
4. During step 3: bytes the server sent per second (HTTP bodies + WebSocket payloads, counted by the
   dashboard's ASGI counter, before compression), callback POSTs, the browser's long tasks (Long Tasks
   API) and the gap between animation frames.
5. With the chart full: time five ``Plotly.relayout`` zooms and an autorange reset.
6. In-process (no browser): time and JSON size of the desk's full rebuild with ``points`` points and
   1000 signals, and of one incremental update.
"""


from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import synthetic
from bench.dashboard_parts import (
    CHROMEDRIVER,
    CHROMIUM,
    GD,
    INSTRUMENT_JS,
    ZOOM_JS,
    create_topics,
    dashboard_status,
    make_driver,
    pct,
    preload_ticks,
    publish_stream,
    start_dashboard,
    wait_for,
)

SYMBOL = "BENCH"


def full_rebuild_inprocess(points: int, signals: int = 1000) -> dict:
    """Desk callback time and JSON size of a full rebuild (page load / symbol switch), no browser."""
    from plotly.io.json import to_json_plotly

    from tickscope.dashboard.live_store import Store
    from tickscope.dashboard.views import desk_view as desk

    store = Store(max_points=points)
    now = int(time.time() * 1000)
    for i in range(points):
        store.add_point(SYMBOL, now - (points - i) * 1000, 1.1 + 1e-5 * (i % 977))
    for i in range(signals):
        ts = now - (points - i * (points // signals)) * 1000
        store.add_record_raw(synthetic.record_json(SYMBOL, ts, 1.1, produced_at=ts))
    times, size = [], 0
    for _ in range(5):
        t0 = time.perf_counter()
        out = desk.desk_update(store, SYMBOL, None, None, None)
        size = len(to_json_plotly(out["figure"]))
        times.append((time.perf_counter() - t0) * 1000)
    cursor = out["cursor"]
    inc = []
    for i in range(20):  # one poll's worth of new data (250 ms at 50/s)
        for _ in range(13):
            ts = now + i * 1000 + _
            store.add_point(SYMBOL, ts, 1.1)
        t0 = time.perf_counter()
        o = desk.desk_update(store, SYMBOL, None, cursor, None)
        inc_size = len(to_json_plotly(o["extend"]))
        inc.append((time.perf_counter() - t0) * 1000)
        cursor = o["cursor"]
    return {"full_ms_median": round(statistics.median(times), 1), "full_json_bytes": size,
            "incremental_ms_median": round(statistics.median(inc), 2), "incremental_json_bytes": inc_size}


def _phase(mode: str, points: int, rate: float, seconds: float, browser_points: int, shots: Path | None,
           log) -> dict:
    """One mode, measured from a fresh broker and dashboard (steps 1-5 of the method)."""
    from kafka import KafkaProducer

    from tickscope.transport.broker import free_port, start_broker, stop_process

    work = Path(tempfile.mkdtemp(prefix=f"tickscope-bench-dashboard-{mode}-"))
    broker = dash_proc = driver = None
    shown = min(points, browser_points) if points else 0
    result: dict = {"mode": mode}
    try:
        bootstrap = f"127.0.0.1:{free_port()}"
        broker = start_broker(bootstrap, log_path=work / "broker.log")
        create_topics(bootstrap)
        dash_proc, url = start_dashboard(bootstrap, work, max(points, 1000), mode, browser_points)
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
        t0 = time.perf_counter()
        price = preload_ticks(producer, SYMBOL, points, int(time.time() * 1000) - 5000) if points else 1.1
        wait_for(lambda: (dashboard_status(url) or {}).get("counters", {}).get("ticks", 0) >= points, 300,
                 "the preload")
        log(f"{mode}: preloaded {points} ticks in {time.perf_counter() - t0:.1f} s")
        driver = make_driver(work / "profile")
        t0 = time.perf_counter()
        driver.get(url)
        length = (f"const gd = {GD}; if (!gd || !gd._fullData) return 0; "
                  "const t = gd._fullData.find(f => f.name === 'price'); return t ? t._length : 0;")
        wait_for(lambda: driver.execute_script(length) >= shown, 120, "the chart to hold its points", 0.05)
        result["page_load_to_chart_s"] = round(time.perf_counter() - t0, 2)
        wait_for(lambda: driver.execute_script(INSTRUMENT_JS), 10, "instrumentation")
        time.sleep(1.0)  # the page's first callbacks settle
        before = (dashboard_status(url) or {}).get("traffic", {})
        t_start = time.monotonic()
        sent = publish_stream(producer, SYMBOL, rate, seconds, price)
        time.sleep(3.0)
        elapsed = time.monotonic() - t_start
        after = (dashboard_status(url) or {}).get("traffic", {})
        seen = driver.execute_script("window.__stopFrames = true; return window.__seen;")
        longs = driver.execute_script("return window.__long;")
        gaps = driver.execute_script("return window.__gaps;")
        lat = [seen[s] - t for s, t in sent.items() if s in seen]
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        result.update({
            "published": len(sent), "on_screen": len(lat),
            "latency_ms": {"p50": pct(lat, 0.5), "p90": pct(lat, 0.9), "p99": pct(lat, 0.99), "max": pct(lat, 1.0)},
            "server_bytes_per_s": round((delta.get("http_bytes", 0) + delta.get("ws_bytes", 0)) / elapsed),
            "traffic_during_stream": delta,
            "browser_long_tasks": {"count": len(longs), "total_ms": round(sum(longs)), "max_ms": pct(longs, 1.0),
                                   "share": round(sum(longs) / (elapsed * 1000), 2)},
            "frame_gap_ms": {"p50": pct(gaps, 0.5), "p99": pct(gaps, 0.99), "max": pct(gaps, 1.0)},
            "cap_note": driver.execute_script("return document.getElementById('cap-note').textContent;"),
            "push_acks_ms": (dashboard_status(url) or {}).get("push_acks"),
        })
        zoom = driver.execute_async_script(ZOOM_JS)
        result["relayout_ms"] = {"zoom": [round(z, 1) for z in zoom["zoom_ms"]], "reset": round(zoom["reset_ms"], 1),
                                 "points_on_chart": driver.execute_script(length)}
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(shots / f"bench_{mode}.png"))
        producer.close()
        return result
    finally:
        if driver is not None:
            driver.quit()
        if dash_proc is not None:
            stop_process(dash_proc)
        if broker is not None:
            stop_process(broker)
        shutil.rmtree(work, ignore_errors=True)


def run_bench(points: int = 100_000, rate: float = 50.0, seconds: float = 20.0, shots: Path | None = None,
              browser_points: int | None = None, modes: tuple[str, ...] = ("push", "poll"), log=print) -> dict:
    """Both modes side by side (same load, fresh processes each), then the in-process rebuild."""
    from tickscope.settings import get_settings

    browser_points = browser_points or get_settings().dashboard_browser_points
    result: dict = {"points": points, "browser_points": min(points, browser_points), "rate_per_s": rate,
                    "seconds": seconds, "phases": {}}
    for mode in modes:
        result["phases"][mode] = _phase(mode, points, rate, seconds, browser_points, shots, log)
    result["inprocess_rebuild"] = full_rebuild_inprocess(points)
    return result


def _phase_lines(mode: str, r: dict) -> list[str]:
    lat = r["latency_ms"]
    t = r["traffic_during_stream"]
    return [
        f"{mode}: {r['on_screen']}/{r['published']} on screen; p50 {lat['p50']} ms, p90 {lat['p90']} ms, "
        f"p99 {lat['p99']} ms, max {lat['max']} ms",
        f"{mode}: server sent {r['server_bytes_per_s']} B/s (HTTP {t.get('http_bytes', 0)} B, WebSocket "
        f"{t.get('ws_bytes', 0)} B in {t.get('ws_messages', 0)} messages, {t.get('callback_posts', 0)} callback "
        f"POSTs); browser long tasks {r['browser_long_tasks']}; frame gap {r['frame_gap_ms']}",
        f"{mode}: page load to chart {r['page_load_to_chart_s']} s; zoom with {r['relayout_ms']['points_on_chart']} "
        f"points {r['relayout_ms']['zoom']} ms, reset {r['relayout_ms']['reset']} ms; note {r['cap_note']!r}",
    ] + ([f"{mode}: push -> page acknowledged (ms): {json.dumps(r['push_acks_ms'])}"] if r.get("push_acks_ms") else [])


def text_report(r: dict) -> str:
    lines = ["tickscope bench dashboard", __doc__.split("Method", 1)[1].split("\n", 1)[1].rstrip(), "",
             f"{r['rate_per_s']:.0f} signals/s for {r['seconds']:.0f} s, {r['points']} price points in the store, "
             f"{r['browser_points']} kept in the browser"]
    for mode, phase in r["phases"].items():
        lines += _phase_lines(mode, phase)
    phases = r["phases"]
    if "push" in phases and "poll" in phases and phases["poll"]["latency_ms"]["p99"]:
        ratio = phases["push"]["latency_ms"]["p99"] / phases["poll"]["latency_ms"]["p99"]
        lines.append(f"push p99 / poll p99 = {ratio:.2f} (target: push p99 <= 500 ms)")
    lines.append(f"in-process desk update: {json.dumps(r['inprocess_rebuild'])}")
    return "\n".join(lines)


def run_cli(args) -> int:
    import sys

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        print("tickscope bench dashboard: needs /usr/bin/chromium and /usr/bin/chromedriver", file=sys.stderr)
        return 2
    quiet = bool(getattr(args, "json", False))
    r = run_bench(log=(lambda *a: print(*a, file=sys.stderr)) if quiet else print)
    print(json.dumps(r, indent=2) if quiet else text_report(r))
    return 0
