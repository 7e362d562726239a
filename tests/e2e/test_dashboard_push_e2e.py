"""Push in headless Chromium: signals reach two browsers without a single poll, and a click shows the record.

Own broker (free port) and a real ``tickscope dashboard`` process in its default push mode; synthetic
schema-valid records (``bench.synthetic``) of a symbol no other test uses, and a calibration reference for
their model version holding the shipped model's numbers (so the quality lines get bands). What is asserted is behaviour,
never a duration: every published signal appears in both browsers; after the page loaded the browser's own
network log shows no ``_dash-update-component`` request and the server's ASGI counter agrees (while its
WebSocket counter grows); both pages stream from the one topic reader; the chart grows by ``extendData``
without gaps or repeats and says "showing last N" when it holds fewer points than arrived; clicking a row
shows that record's numbers. Screenshots of the desk and the signal view go to docs/screenshots/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bench import dashboard_parts, synthetic
from bench.dashboard_parts import dashboard_status
from tests.e2e.dashboard_support import click_signal_row, own_broker, require_chromium
from tests.support.browser import DOC_SHOTS, GD, element_text, update_posts, wait_until

pytestmark = pytest.mark.e2e

SYMBOL = "PUSHE2E"
PRELOAD_TICKS, PRELOAD_SIGNALS, LIVE_SIGNALS, RATE = 1500, 12, 30, 5.0
BROWSER_POINTS = 1000
SEEN_JS = """
window.__seen = window.__seen || {};
const mark = () => document.querySelectorAll('#signals-table td[data-dash-column="signal_id"]').forEach(td => {
  const s = td.textContent.trim(); if (s && !(s in window.__seen)) window.__seen[s] = Date.now(); });
new MutationObserver(mark).observe(document.getElementById('signals-table'),
                                   {subtree: true, childList: true, characterData: true});
mark();
return true;
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_chromium()
    from kafka import KafkaProducer

    from tickscope.transport.broker import stop_process

    work = tmp_path_factory.mktemp("dash-push")
    with own_broker(work) as bootstrap:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1)
        now = int(time.time() * 1000)
        start = now - PRELOAD_TICKS * 1000
        for i in range(PRELOAD_TICKS):
            producer.send("ticks", key=SYMBOL.encode(),
                          value=synthetic.tick_json(SYMBOL, start + i * 1000, 1.1 + i * 1e-5))
        for i in range(PRELOAD_SIGNALS):
            ts = start + (i + 1) * 100_000
            producer.send("explanations", value=synthetic.record_json(SYMBOL, ts, 1.1, now))
        producer.flush()
        _write_reference(work)
        proc, url = dashboard_parts.start_dashboard(bootstrap, work, 10_000, "push", BROWSER_POINTS)
        drivers = [dashboard_parts.make_driver(work / f"profile-{i}", network_log=True) for i in range(2)]
        try:
            yield {"url": url, "producer": producer, "drivers": drivers}
        finally:
            for d in drivers:
                d.quit()
            producer.close()
            stop_process(proc)


def _write_reference(data_dir: Path) -> None:
    """A calibration reference for the synthetic model version, with the shipped model's numbers, where the
    dashboard looks for references of unshipped versions ($TICKSCOPE_DATA_DIR/models)."""
    from tickscope.detectors.reference import reference_path
    from tickscope.models.registry import default_version

    shipped = json.loads(reference_path(default_version()).read_text(encoding="utf-8"))
    ref = {k: shipped[k] for k in ("faithfulness", "attention_shap_spearman", "stability")}
    path = reference_path(synthetic.MODEL_VERSION, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(ref, model_version=synthetic.MODEL_VERSION)), encoding="utf-8")


def _price_x(driver) -> list[int]:
    return driver.execute_script(f"const gd = {GD}('price-graph'); const t = gd.data.find(t => t.name === 'price');"
                                 "return Array.from(t.x);")


def _publish(producer, n: int) -> dict[str, dict]:
    """``n`` records and ticks at ``RATE``/s, paced; returns signal_id -> record."""
    sent = {}
    for _ in range(n):
        ts = int(time.time() * 1000)
        raw = synthetic.record_json(SYMBOL, ts, 1.2, ts)
        producer.send("ticks", key=SYMBOL.encode(), value=synthetic.tick_json(SYMBOL, ts, 1.2))
        producer.send("explanations", value=raw)
        rec = json.loads(raw)
        sent[rec["signal_id"]] = rec
        producer.flush()
        time.sleep(1.0 / RATE)
    return sent


def test_pushed_signals_reach_two_browsers_without_a_poll(stack):
    url, drivers = stack["url"], stack["drivers"]
    for d in drivers:
        d.get(url)
    for d in drivers:
        wait_until("the preloaded signals",
                   lambda d=d: element_text(d, "signal-count") == f"{PRELOAD_SIGNALS} signals", 60)
        wait_until("the chart", lambda d=d: len(_price_x(d)) == BROWSER_POINTS, 60)
        wait_until("the page-side observer", lambda d=d: d.execute_script(SEEN_JS), 10)
    wait_until("both pages streaming", lambda: dashboard_status(url)["pages_streaming"] == 2, 30)
    assert dashboard_status(url)["store_subscribers"] == 2  # both pages wait on the one reader's store
    time.sleep(1.0)
    for d in drivers:
        update_posts(d)  # drain: the log from here on is "after load"
    before = dashboard_status(url)["traffic"]
    assert before["callback_posts"] == 0 and before["ws_connections"] >= 2

    sent = _publish(stack["producer"], LIVE_SIGNALS)
    for d in drivers:
        wait_until("every pushed signal on screen",
                   lambda d=d: set(sent) <= set(d.execute_script("return window.__seen;")), 60)
    after = dashboard_status(url)["traffic"]
    assert [update_posts(d) for d in drivers] == [[], []], "a page polled"
    assert after["callback_posts"] == 0 and after["ws_messages"] > before["ws_messages"]

    wait_until("the chart to catch up", lambda: all(_price_x(d)[-1] >= max(r["ts"] for r in sent.values())
                                                    for d in drivers), 30)
    for d in drivers:
        x = _price_x(d)
        assert len(x) == BROWSER_POINTS and all(b > a for a, b in zip(x, x[1:])), "extendData left a gap or repeat"
        note = element_text(d, "cap-note")
        assert note == f"showing last {BROWSER_POINTS:,} of {PRELOAD_TICKS + LIVE_SIGNALS:,} price points received"
        assert element_text(d, "push-state") == "push: live"
    DOC_SHOTS.mkdir(parents=True, exist_ok=True)
    drivers[0].save_screenshot(str(DOC_SHOTS / "desk.png"))


def test_a_click_shows_the_records_numbers_without_a_poll(stack):

    d = stack["drivers"][0]
    sent = _publish(stack["producer"], 3)
    target = next(iter(sent))
    wait_until("the target row", lambda: target in d.execute_script("return window.__seen;"), 30)
    update_posts(d)

    wait_until("the row to be clickable", lambda: click_signal_row(d, target), 15)
    wait_until("the selected signal", lambda: element_text(d, "selected-signal-id") == target
               and element_text(d, "selection-mode") == "(selected)", 15)
    rec = sent[target]
    summary = element_text(d, "explanation-summary")
    for expected in (format(rec["score"], ".5f"), format(rec["base_value"], ".5f"), format(rec["threshold"], ".5f"),
                     format(rec["additivity_error"], ".2e"), rec["model_version"][:12], str(rec["explainer"]["seed"])):
        assert expected in summary, (expected, summary)
    wf = d.execute_script("const g = document.querySelector('#waterfall-graph .js-plotly-plot');"
                          "return g && g.data ? {x: Array.from(g.data[0].x), y: Array.from(g.data[0].y)} : null;")
    assert wf["y"][0] == pytest.approx(rec["base_value"]) and wf["y"][-1] == pytest.approx(rec["score"])
    quality = element_text(d, "quality-table")
    assert "times more than random cells" in quality and "under a 1% nudge" in quality
    assert "attention" in quality and "rank correlation" in quality
    bands = d.execute_script("return Array.from(document.querySelectorAll('#quality-table .band'))"
                             ".map(e => e.textContent);")
    assert len(bands) == 5 and set(bands[:3]) <= {"typical", "unusual", "alarming"}, bands  # from the reference
    assert update_posts(d) == [] and dashboard_status(stack["url"])["traffic"]["callback_posts"] == 0
    d.execute_script("document.getElementById('explanation-panel').scrollIntoView({block: 'start'});")
    time.sleep(1.0)
    d.save_screenshot(str(DOC_SHOTS / "signal.png"))
