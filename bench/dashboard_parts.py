"""The browser and process plumbing ``tickscope bench dashboard`` is made of, shared with the dashboard e2e tests.

Why a module of its own: the e2e tests (tests/e2e/test_dashboard_*_e2e.py) start the same ``tickscope dashboard``
child, the same headless Chromium and the same topics as the benchmark, so they import these pieces from here
instead of from the benchmark; and the benchmark module keeps only its method and its figures. Times are wall
clock: ``wait_for`` timeouts and intervals in seconds, ``publish_stream``'s publish stamps in epoch ms.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from bench import synthetic

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
GD = ("(function(){const el=document.getElementById('price-graph'); if(!el) return null; "
      "return el.querySelector('.js-plotly-plot');})()")

INSTRUMENT_JS = """
window.__seen = {}; window.__long = []; window.__gaps = [];
const mark = (sid) => { if (sid && !(sid in window.__seen)) window.__seen[sid] = Date.now(); };
const table = document.getElementById('signals-table');
const scanTable = () => table.querySelectorAll('td[data-dash-column="signal_id"]').forEach(
    td => mark(td.textContent.trim()));
new MutationObserver(scanTable).observe(table, {subtree: true, childList: true, characterData: true});
const gd = %s;
gd.on('plotly_afterplot', () => {
  for (const t of gd.data.slice(0, 2)) {
    const cd = t.customdata || [];
    for (let i = cd.length - 1; i >= 0 && i >= cd.length - 3000; i--) mark(cd[i][0]);
  }
});
try { new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration)))
  .observe({type: 'longtask'}); } catch (e) {}
let last = performance.now();
const frame = (t) => {
  window.__gaps.push(t - last); last = t; if (!window.__stopFrames) requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
return true;
""" % GD

ZOOM_JS = """
const done = arguments[arguments.length - 1];
const gd = %s, xa = gd._fullLayout.xaxis, [lo, hi] = xa.range.map(xa.r2l), out = [];
const frame = () => new Promise(r => requestAnimationFrame(() => r()));
(async () => {
  for (let k = 1; k <= 5; k++) {
    const span = (hi - lo) / (2 ** k), t0 = performance.now();
    await Plotly.relayout(gd, {'xaxis.range': [hi - span, hi]}); await frame();
    out.push(performance.now() - t0);
  }
  const t0 = performance.now();
  await Plotly.relayout(gd, {'xaxis.autorange': true, 'yaxis.autorange': true}); await frame();
  done({zoom_ms: out, reset_ms: performance.now() - t0});
})();
""" % GD


def pct(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1, nearest rank) of ``values`` rounded to 0.1, or None when there are none."""
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))], 1)


def dashboard_status(url: str) -> dict | None:
    """The dashboard's ``/_tickscope/status`` JSON (counters, traffic), or None while it does not answer."""
    try:
        with urllib.request.urlopen(url + "_tickscope/status", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


def wait_for(fn, timeout_s: float, what: str, interval_s: float = 0.25):
    """``fn()``'s first truthy result, polled every ``interval_s`` s; RuntimeError after ``timeout_s`` s."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as exc:  # noqa: BLE001 - page still rendering
            last = exc
        else:
            if last:
                return last
        time.sleep(interval_s)
    raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


def start_dashboard(bootstrap: str, workdir: Path, max_points: int, mode: str = "push",
                    browser_points: int | None = None):
    """A ``tickscope dashboard`` child on a free loopback port (``mode`` push or poll); returns (process, url)."""
    from bench.launch import worker_env
    from tickscope.cli.supervisor import spawn
    from tickscope.transport.broker import free_port

    port = free_port()
    env = worker_env(bootstrap, workdir, TICKSCOPE_DASHBOARD_MAX_POINTS=max_points)
    for k in ("TICKSCOPE_DASHBOARD_TOKEN", "TICKSCOPE_DASHBOARD_HOST", "TICKSCOPE_DASHBOARD_POLL"):
        env.pop(k, None)
    if browser_points is not None:
        env["TICKSCOPE_DASHBOARD_BROWSER_POINTS"] = str(browser_points)
    args = ["dashboard", "--host", "127.0.0.1", "--port", str(port)] + (["--poll"] if mode == "poll" else [])
    proc = spawn(args, env, workdir / f"dashboard-{mode}.log", cwd=Path(__file__).resolve().parents[1])
    url = f"http://127.0.0.1:{port}/"
    wait_for(lambda: proc.poll() is None and dashboard_status(url), 60, "the dashboard to serve")
    return proc, url


def create_topics(bootstrap: str, partitions: int = 4) -> None:
    """``ticks``, ``explanations`` and ``alerts`` on the broker, those that do not exist yet."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        existing = set(admin.list_topics())
        new = [NewTopic(t, partitions, 1) for t in ("ticks", "explanations", "alerts") if t not in existing]
        if new:
            admin.create_topics(new)
    finally:
        admin.close()


def make_driver(profile: Path, network_log: bool = False):
    """Headless Chromium; ``network_log`` adds the DevTools performance log (every request the page makes)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1500,1400"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", **({"performance": "ALL"} if network_log else {})})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(120)
    return driver


def preload_ticks(producer, symbol: str, n: int, end_ts: int) -> float:
    """``n`` seeded random-walk ticks 1 s apart, the last 1 s before ``end_ts`` (epoch ms); returns its price."""
    import numpy as np

    rng = np.random.default_rng(7)
    prices = 1.1 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    for i in range(n):
        producer.send("ticks", key=symbol.encode(), value=synthetic.tick_json(symbol, end_ts - (n - i) * 1000,
                                                                              float(prices[i])))
    producer.flush()
    return float(prices[-1])


def publish_stream(producer, symbol: str, rate: float, seconds: float, price: float) -> dict[str, float]:
    """Ticks and records at ``rate``/s each, wall-clock paced; returns signal_id -> publish wall ms."""
    import numpy as np

    from tickscope.contracts.ids import signal_id_for

    rng = np.random.default_rng(11)
    sent: dict[str, float] = {}
    n = int(rate * seconds)
    last = 0
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        price *= float(np.exp(rng.normal(0, 2e-4)))
        now = last = max(int(time.time() * 1000), last + 1)  # distinct ts: distinct signal ids and ticks
        producer.send("ticks", key=symbol.encode(), value=synthetic.tick_json(symbol, now, price))
        value = synthetic.record_json(symbol, now, price, produced_at=now, drift=min(1.0, i / max(n, 1) * 2))
        sid = signal_id_for(symbol, now, synthetic.MODEL_VERSION)
        sent[sid] = time.time() * 1000
        producer.send("explanations", key=sid.encode(), value=value)
    producer.flush()
    return sent

