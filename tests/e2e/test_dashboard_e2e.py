"""The dashboard against the real pipeline: Tansu broker + tickscope worker + real EURUSD ticks + headless Chromium.

What it proves: ticks published to ``ticks`` reach the price graph; every signal the worker
explains on ``explanations`` reaches the page (arrival read by an independent kafka-python
consumer, first appearance stamped in the page by a MutationObserver / plotly_afterplot hook),
pushed, with no poll request after load; selecting one (table row, then its marker on the chart)
renders that signal's explanation, and the shown signal id and numbers match the record read
independently from the topic. How fast is for ``tickscope bench dashboard``, not for a test.

The session's broker and worker are shared with the integration tests, which feed EURUSD: this test
feeds the same real EURUSD bars under a symbol of its own (``SYMBOL``), with their timestamps shifted to end
now, so the order of the tiers does not matter: a worker that already saw EURUSD ticks would drop them as
stale, and the desk's table shows the newest 50 signals of all symbols.

Screenshots go to tests/e2e/screenshots/ (gitignored).
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from bench.dashboard_parts import dashboard_status
from tests.e2e.dashboard_support import (
    ArrivalClock,
    assert_explanation,
    choose_symbol,
    click_signal_row,
    explained_records,
    marker_positions,
    require_chromium,
    shown_symbol,
    table_ids,
    table_rows,
)
from tests.support.browser import GD, element_text, save_screenshot, update_posts, wait_until
from tests.support.processes import spawn
from tests.support.topics import feed_ticks, read_topic
from tickscope.transport.broker import free_port, stop_process

pytestmark = pytest.mark.e2e

N_TICKS = 600
SYMBOL = "EURUSD.E2E"


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
        return dashboard_status(url)

    wait_until("the dashboard to serve", up, 60)
    yield url
    stop_process(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_chromium()
    from bench.dashboard_parts import make_driver

    profile = tmp_path_factory.mktemp("chromium-profile")
    driver = make_driver(profile, network_log=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_dashboard_shows_prices_signals_and_explanations(broker, worker, dashboard, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from bench.dashboard_parts import INSTRUMENT_JS

    clock = ArrivalClock(broker)
    clock.start()
    assert clock.ready.wait(60)
    browser.get(dashboard)
    wait_until("the page and its instrumentation", lambda: browser.execute_script(INSTRUMENT_JS), 30)
    browser.get_log("performance")  # drain: the log from here on is "after load"
    sent = feed_ticks(broker, source="eurusd", symbol=SYMBOL, limit=N_TICKS, end_now=True)  # newest in the table
    assert sent == N_TICKS
    wait_until("the symbol in the dropdown",
               lambda: dashboard_status(dashboard) and SYMBOL in dashboard_status(dashboard)["symbols"], 60)
    wait_until("the symbol to be shown", lambda: choose_symbol(browser, SYMBOL) or shown_symbol(browser) == SYMBOL,
               30, 1.0)
    n_points = wait_until("price points on the price graph", lambda: browser.execute_script(f"""
        const gd = {GD}('price-graph'); if (!gd || !gd.data) return 0;
        const t = (gd._fullData || []).find(f => f.name === 'price'); return t && t._length >= 100 ? t._length : 0;
    """), 120)
    assert n_points >= 100  # real EURUSD bars reached the chart, pushed as they arrived
    wait_until("a signal of the symbol in the table", lambda: any(sym == SYMBOL for sym, _ in table_rows(browser)),
               300, 1.0)
    wait_until("a signal marker on the chart", lambda: len(marker_positions(browser)) > 0, 30)
    assert int(element_text(browser, "signal-count").split()[0]) >= 1
    save_screenshot(browser, "01_signals")

    # Every signal that reached the topic (independent consumer) reached the page, pushed: no poll request.
    def all_on_screen():
        on_topic = {json.loads(r.value)["signal_id"]: json.loads(r.value)["symbol"]
                    for r in read_topic(broker, "explanations", timeout_s=5)}
        mine = {sid for sid in clock.arrived if on_topic.get(sid) == SYMBOL}
        seen = browser.execute_script("return window.__seen;")
        return mine and mine <= set(seen)

    wait_until("every signal of the symbol on screen", all_on_screen, 120, 2.0)
    clock.stop_event.set()
    assert update_posts(browser) == [], "the page polled"
    assert dashboard_status(dashboard)["traffic"]["callback_posts"] == 0

    # Pick a signal from the table that the topic independently confirms; prefer one that is not
    # already shown by default (the newest), so selecting it visibly changes the panel.
    assert len(table_ids(browser)) == len(set(table_ids(browser))), "a signal is listed twice"
    shown_ids = [sid for sym, sid in table_rows(browser) if sym == SYMBOL]
    records = explained_records(broker, SYMBOL, ids={shown_ids[0]}, timeout_s=60)
    default_id = element_text(browser, "selected-signal-id")
    candidates = [s for s in shown_ids if s in records]
    assert candidates, (shown_ids, list(records))
    target = next((s for s in candidates if s != default_id), candidates[0])

    wait_until("the target row to be clickable", lambda: click_signal_row(browser, target), 15)
    wait_until("the explanation of the clicked row", lambda: element_text(browser, "selected-signal-id") == target
               and element_text(browser, "selection-mode") == "(selected)", 15)
    wait_until("the explanation graphs", lambda: browser.execute_script(
        f"const gd={GD}('shap-heatmap'); return !!(gd && gd.querySelector('g.hm image'));"), 15)
    time.sleep(0.5)
    assert_explanation(browser, records[target])
    save_screenshot(browser, "02_selected_from_table")

    # Click a marker on the price chart: choose the marker farthest from any other, not the selected one.
    markers = [m for m in marker_positions(browser) if m["sid"] in records]
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
        wait_until("the explanation of the clicked marker",
                   lambda: element_text(browser, "selected-signal-id") == pick["sid"], 15)
        time.sleep(1.5)  # let the three graphs re-render
        assert_explanation(browser, records[pick["sid"]])
        save_screenshot(browser, "03_selected_from_chart")

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

    zoom = wait_until("the box zoom to apply", zoomed, 5)
    time.sleep(1.0)

    # Back to "follow newest": the default selection is the newest signal (this rebuilds the price figure).
    browser.find_element(By.ID, "follow-latest").click()
    wait_until("follow-newest mode", lambda: element_text(browser, "selection-mode") == "(newest)", 15)
    newest_row = next(sid for sym, sid in table_rows(browser) if sym == SYMBOL)  # newest first
    assert element_text(browser, "selected-signal-id") == newest_row
    time.sleep(2.5)  # a few refresh ticks
    kept = browser.execute_script(xrange)
    assert kept == pytest.approx(zoom, abs=1.0), "zoom was lost on update"
    save_screenshot(browser, "04_zoomed_following_newest")

    # Once the worker is idle, the count on screen equals the distinct signals on the topic
    # (at-least-once delivery may repeat a record; the dashboard shows each signal once).
    def counts_agree():
        on_topic = {json.loads(r.value)["signal_id"] for r in read_topic(broker, "explanations", timeout_s=5)}
        return int(element_text(browser, "signal-count").split()[0]) == len(on_topic)
    wait_until("the signal count to match the topic", counts_agree, 90, 2.0)

    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe
    assert browser.find_elements(By.CSS_SELECTOR, ".dash-fe-error__title, .dash-debug-menu__error") == []
    save_screenshot(browser, "05_final")

    stats = dashboard_status(dashboard)
    print(f"dashboard counters {stats['counters']}; traffic {stats['traffic']}")
    assert stats["traffic"]["callback_posts"] == 0 and stats["traffic"]["ws_messages"] > 0
