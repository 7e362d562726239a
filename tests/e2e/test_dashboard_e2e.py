"""The dashboard against the real pipeline: Tansu broker + tickscope worker + real EURUSD ticks + headless Chromium.

What it proves: ticks published to ``ticks`` reach the price graph; every signal the worker
explains on ``explanations`` reaches the page (arrival read by an independent kafka-python
consumer, first appearance stamped in the page by a MutationObserver / plotly_afterplot hook),
pushed, with no poll request after load; selecting one (table row, then its marker on the chart)
renders that signal's explanation, and the shown signal id and numbers match the record read
independently from the topic. How fast is for ``tickscope bench dashboard``, not for a test.

The session's broker and worker are shared with the integration tests, which feed EURUSD: this test
feeds the same real EURUSD bars under a symbol of its own (``SYMBOL``), so the order of the tiers
does not matter (a worker that already saw EURUSD ticks would drop them as stale).

Screenshots go to tests/e2e/screenshots/ (gitignored).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import require
from tests.support.processes import spawn
from tests.support.topics import feed_ticks, read_topic
from tickscope.transport.broker import free_port, stop_process

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
N_TICKS = 600
SYMBOL = "EURUSD.E2E"

GD = "(function(id){const el=document.getElementById(id); if(!el) return null; " \
     "return el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot');})"


def _status(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url + "_tickscope/status", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def _wait(what: str, fn, timeout_s: float, interval_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as exc:  # stale elements while the page re-renders: try again
            last = exc
        else:
            if last:
                return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def dashboard(broker, worker, tmp_path_factory):
    """A real ``python -m tickscope dashboard`` process on a free loopback port."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("dashboard")
    env = dict(worker.env)
    for k in ("TICKSCOPE_DASHBOARD_TOKEN", "TICKSCOPE_DASHBOARD_HOST"):
        env.pop(k, None)
    log = workdir / "dashboard.log"
    proc = spawn(["dashboard", "--port", str(port), "--host", "127.0.0.1"], env, log)
    url = f"http://127.0.0.1:{port}/"

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"dashboard exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        return _status(url)

    _wait("the dashboard to serve", up, 60)
    yield url
    stop_process(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        require(False, "needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)")
    from bench.dashboard_bench import make_driver

    profile = tmp_path_factory.mktemp("chromium-profile")
    driver = make_driver(profile, network_log=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _shot(driver, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def _text(driver, id_: str) -> str:
    return driver.execute_script(f"const e=document.getElementById('{id_}'); return e ? e.textContent : null;")


class ArrivalClock(threading.Thread):
    """Independent consumer: wall time (ms) each signal_id arrives on ``explanations`` from now on."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.bootstrap, self.arrived, self.stop_event = bootstrap, {}, threading.Event()
        self.ready = threading.Event()

    def run(self):
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
        try:
            while not self.stop_event.is_set():
                parts = consumer.partitions_for_topic("explanations")
                if parts:
                    tps = [TopicPartition("explanations", p) for p in parts]
                    consumer.assign(tps)
                    consumer.seek_to_end(*tps)
                    for tp in tps:
                        consumer.position(tp)
                    break
                time.sleep(0.2)
            self.ready.set()
            while not self.stop_event.is_set():
                for batch in consumer.poll(timeout_ms=50).values():
                    now = time.time() * 1000
                    for r in batch:
                        self.arrived.setdefault(json.loads(r.value)["signal_id"], now)
        finally:
            consumer.close()


def _explained_records(bootstrap: str, ids: set[str] | None = None, timeout_s: float = 60.0) -> dict[str, dict]:
    """``SYMBOL``'s archive records read straight from ``explanations`` (independent of the dashboard)."""
    def enough(recs):
        got = {json.loads(r.value)["signal_id"] for r in recs}
        return bool(got) if ids is None else ids <= got

    out: dict[str, dict] = {}
    for r in read_topic(bootstrap, "explanations", until=enough, timeout_s=timeout_s):
        rec = json.loads(r.value)
        if rec.get("symbol") == SYMBOL:
            out.setdefault(rec["signal_id"], rec)
    return out


def _table_rows(driver) -> list[tuple[str, str]]:
    """(symbol, signal_id) of the table rows on the current page, top to bottom."""
    return [tuple(r) for r in driver.execute_script(
        "return Array.from(document.querySelectorAll('#signals-table tbody tr')).map(tr => ["
        "(tr.querySelector('td[data-dash-column=\"symbol\"]') || {}).textContent,"
        "(tr.querySelector('td[data-dash-column=\"signal_id\"]') || {}).textContent]).filter(r => r[1]);")]


def _shown_symbol(driver) -> str | None:
    title = driver.execute_script(f"const gd = {GD}('price-graph'); "
                                  "return gd && gd.layout && gd.layout.title ? gd.layout.title.text : null;")
    return title.removesuffix(" price (UTC)") if title and title.endswith(" price (UTC)") else None


def _choose_symbol(driver, symbol: str) -> None:
    """Pick ``symbol`` in the dropdown (other tests of the session may have fed other symbols)."""
    from selenium.webdriver.common.by import By

    if _shown_symbol(driver) == symbol:
        return
    driver.find_element(By.ID, "symbol-dropdown").click()
    time.sleep(0.5)
    options = [e for e in driver.find_elements(By.CSS_SELECTOR, "[role=option]") if e.text.strip() == symbol]
    if options:
        options[0].click()


def _update_posts(driver) -> list[str]:
    """Callback requests (polls) the page made since the last call, from the browser's own network log."""
    out = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent" and "_dash-update-component" in msg["params"]["request"]["url"]:
            out.append(msg["params"]["request"]["method"])
    return out


def _table_ids(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#signals-table td[data-dash-column=\"signal_id\"]'))"
        ".map(td => td.textContent.trim());")


def _assert_explanation(driver, rec: dict) -> None:
    """The explanation panel shows ``rec``: id, numbers, and the three graphs drawn from it."""
    sid = rec["signal_id"]
    assert _text(driver, "selected-signal-id") == sid
    summary = _text(driver, "explanation-summary")
    for expected in (sid, format(rec["score"], ".5f"), format(rec["base_value"], ".5f"),
                     format(rec["additivity_error"], ".2e"), rec["model_version"][:12], rec["explainer"]["method"],
                     str(rec["explainer"]["seed"])):
        assert expected in summary, (expected, summary)
    if rec["attention_shap_spearman"] is not None:
        assert format(rec["attention_shap_spearman"], ".3f") in summary

    heat = driver.execute_script(f"""
        const gd = {GD}('shap-heatmap'); if (!gd || !gd.data || !gd.data.length) return null;
        return {{type: gd.data[0].type, y: gd.data[0].y, z: gd.data[0].z, zmid: gd.data[0].zmid,
                 images: gd.querySelectorAll('g.hm image').length}};""")
    assert heat is not None and heat["type"] == "heatmap" and heat["images"] >= 1, heat
    assert heat["y"] == rec["feature_names"] and heat["zmid"] == 0
    T, F = len(rec["attributions"]), len(rec["feature_names"])
    assert len(heat["z"]) == F and all(len(row) == T for row in heat["z"])
    for f in range(F):
        for t in range(T):
            assert heat["z"][f][t] == pytest.approx(rec["attributions"][t][f], rel=1e-9, abs=1e-12)

    att = driver.execute_script(f"""
        const gd = {GD}('attention-graph'); if (!gd || !gd.data) return null;
        const line = gd.data.find(t => t.type === 'scatter'), bars = gd.data.find(t => t.type === 'bar');
        return {{y: line && Array.from(line.y), n_bars: bars && Array.from(bars.y).length,
                 lines: gd.querySelectorAll('.scatterlayer .trace path.js-line').length,
                 bar_points: gd.querySelectorAll('.barlayer .point').length}};""")
    assert att is not None and att["lines"] >= 1 and att["bar_points"] == len(rec["segments"]), att
    assert att["y"] == pytest.approx(rec["attention"], rel=1e-9)

    bars = driver.execute_script(f"""
        const gd = {GD}('feature-bar'); if (!gd || !gd.data) return null;
        return {{x: Array.from(gd.data[0].x), y: Array.from(gd.data[0].y),
                 points: gd.querySelectorAll('.barlayer .point').length}};""")
    assert bars is not None and bars["points"] == len(rec["feature_names"]), bars
    assert dict(zip(bars["y"], bars["x"])) == pytest.approx(dict(zip(rec["feature_names"],
                                                                     rec["feature_attributions"])))


def _marker_positions(driver) -> list[dict]:
    """Screen offsets (relative to the plot div) of every signal marker on the price graph."""
    return driver.execute_script(f"""
        const gd = {GD}('price-graph'); const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis;
        const r = gd.getBoundingClientRect(), out = [];
        for (const t of gd._fullData) {{
          if (!t.customdata || !t.name.endsWith('signal')) continue;
          for (let i = 0; i < t.x.length; i++)
            out.push({{sid: t.customdata[i][0], px: xa._offset + xa.l2p(Number(t.x[i])),
                       py: ya._offset + ya.l2p(Number(t.y[i])), w: r.width, h: r.height}});
        }}
        return out;""")


def test_dashboard_shows_prices_signals_and_explanations(broker, worker, dashboard, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from bench.dashboard_bench import INSTRUMENT_JS

    clock = ArrivalClock(broker)
    clock.start()
    assert clock.ready.wait(60)
    browser.get(dashboard)
    _wait("the page and its instrumentation", lambda: browser.execute_script(INSTRUMENT_JS), 30)
    browser.get_log("performance")  # drain: the log from here on is "after load"
    sent = feed_ticks(broker, source="eurusd", symbol=SYMBOL, limit=N_TICKS)
    assert sent == N_TICKS
    _wait("the symbol in the dropdown", lambda: _status(dashboard) and SYMBOL in _status(dashboard)["symbols"], 60)
    _wait("the symbol to be shown", lambda: _choose_symbol(browser, SYMBOL) or _shown_symbol(browser) == SYMBOL,
          30, 1.0)
    n_points = _wait("price points on the price graph", lambda: browser.execute_script(f"""
        const gd = {GD}('price-graph'); if (!gd || !gd.data) return 0;
        const t = (gd._fullData || []).find(f => f.name === 'price'); return t && t._length >= 100 ? t._length : 0;
    """), 120)
    assert n_points >= 100  # real EURUSD bars reached the chart, pushed as they arrived
    _wait("a signal of the symbol in the table", lambda: any(sym == SYMBOL for sym, _ in _table_rows(browser)),
          300, 1.0)
    _wait("a signal marker on the chart", lambda: len(_marker_positions(browser)) > 0, 30)
    assert int(_text(browser, "signal-count").split()[0]) >= 1
    _shot(browser, "01_signals")

    # Every signal that reached the topic (independent consumer) reached the page, pushed: no poll request.
    def all_on_screen():
        on_topic = {json.loads(r.value)["signal_id"]: json.loads(r.value)["symbol"]
                    for r in read_topic(broker, "explanations", timeout_s=5)}
        mine = {sid for sid in clock.arrived if on_topic.get(sid) == SYMBOL}
        seen = browser.execute_script("return window.__seen;")
        return mine and mine <= set(seen)

    _wait("every signal of the symbol on screen", all_on_screen, 120, 2.0)
    clock.stop_event.set()
    assert _update_posts(browser) == [], "the page polled"
    assert _status(dashboard)["traffic"]["callback_posts"] == 0

    # Pick a signal from the table that the topic independently confirms; prefer one that is not
    # already shown by default (the newest), so selecting it visibly changes the panel.
    assert len(_table_ids(browser)) == len(set(_table_ids(browser))), "a signal is listed twice"
    shown_ids = [sid for sym, sid in _table_rows(browser) if sym == SYMBOL]
    records = _explained_records(broker, ids={shown_ids[0]}, timeout_s=60)
    default_id = _text(browser, "selected-signal-id")
    candidates = [s for s in shown_ids if s in records]
    assert candidates, (shown_ids, list(records))
    target = next((s for s in candidates if s != default_id), candidates[0])

    def click_row():
        for td in browser.find_elements(By.CSS_SELECTOR, '#signals-table td[data-dash-column="signal_id"]'):
            if td.text.strip() == target:
                td.click()
                return True
        return False

    _wait("the target row to be clickable", click_row, 15)
    _wait("the explanation of the clicked row", lambda: _text(browser, "selected-signal-id") == target
          and _text(browser, "selection-mode") == "(selected)", 15)
    _wait("the explanation graphs", lambda: browser.execute_script(
        f"const gd={GD}('shap-heatmap'); return !!(gd && gd.querySelector('g.hm image'));"), 15)
    time.sleep(0.5)
    _assert_explanation(browser, records[target])
    _shot(browser, "02_selected_from_table")

    # Click a marker on the price chart: choose the marker farthest from any other, not the selected one.
    markers = [m for m in _marker_positions(browser) if m["sid"] in records]
    others = [m for m in markers if m["sid"] != target]
    if others:
        def isolation(m):
            return min([((m["px"] - o["px"]) ** 2 + (m["py"] - o["py"]) ** 2) ** 0.5
                        for o in markers if o is not m] or [1e9])
        pick = max(others, key=isolation)
        gd = browser.find_element(By.CSS_SELECTOR, "#price-graph .js-plotly-plot")
        (ActionChains(browser).move_to_element_with_offset(gd, int(pick["px"] - pick["w"] / 2),
                                                           int(pick["py"] - pick["h"] / 2))
         .pause(0.4).click().perform())
        _wait("the explanation of the clicked marker", lambda: _text(browser, "selected-signal-id") == pick["sid"], 15)
        time.sleep(1.5)  # let the three graphs re-render
        _assert_explanation(browser, records[pick["sid"]])
        _shot(browser, "03_selected_from_chart")

    # Box-zoom into the chart with the mouse; the zoom must survive the figure being rebuilt (uirevision).
    gd = browser.find_element(By.CSS_SELECTOR, "#price-graph .js-plotly-plot")
    box = browser.execute_script(f"""
        const gd = {GD}('price-graph'), s = gd._fullLayout._size, r = gd.getBoundingClientRect();
        return {{l: s.l, t: s.t, w: s.w, h: s.h, W: r.width, H: r.height}};""")
    xrange = f"const xa = {GD}('price-graph')._fullLayout.xaxis; return xa.range.map(xa.r2l);"
    before = browser.execute_script(xrange)
    x0 = box["l"] + 0.3 * box["w"] - box["W"] / 2
    y0 = box["t"] + 0.5 * box["h"] - box["H"] / 2
    (ActionChains(browser).move_to_element_with_offset(gd, int(x0), int(y0)).click_and_hold()
     .move_by_offset(int(0.15 * box["w"]), 1).move_by_offset(int(0.15 * box["w"]), 1).release().perform())

    def zoomed():
        r = browser.execute_script(xrange)
        return r if r[1] - r[0] < 0.5 * (before[1] - before[0]) else None

    zoom = _wait("the box zoom to apply", zoomed, 5)
    time.sleep(1.0)

    # Back to "follow newest": the default selection is the newest signal (this rebuilds the price figure).
    browser.find_element(By.ID, "follow-latest").click()
    _wait("follow-newest mode", lambda: _text(browser, "selection-mode") == "(newest)", 15)
    newest_row = next(sid for sym, sid in _table_rows(browser) if sym == SYMBOL)  # newest first
    assert _text(browser, "selected-signal-id") == newest_row
    time.sleep(2.5)  # a few refresh ticks
    kept = browser.execute_script(xrange)
    assert kept == pytest.approx(zoom, abs=1.0), "zoom was lost on update"
    _shot(browser, "04_zoomed_following_newest")

    # Once the worker is idle, the count on screen equals the distinct signals on the topic
    # (at-least-once delivery may repeat a record; the dashboard shows each signal once).
    def counts_agree():
        on_topic = {json.loads(r.value)["signal_id"] for r in read_topic(broker, "explanations", timeout_s=5)}
        return int(_text(browser, "signal-count").split()[0]) == len(on_topic)
    _wait("the signal count to match the topic", counts_agree, 90, 2.0)

    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe
    assert browser.find_elements(By.CSS_SELECTOR, ".dash-fe-error__title, .dash-debug-menu__error") == []
    _shot(browser, "05_final")

    stats = _status(dashboard)
    print(f"dashboard counters {stats['counters']}; traffic {stats['traffic']}")
    assert stats["traffic"]["callback_posts"] == 0 and stats["traffic"]["ws_messages"] > 0
