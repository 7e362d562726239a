"""What the dashboard's browser tests share: their own broker, the Chromium check, clicking a table row, and
what tests/e2e/test_dashboard_e2e.py reads besides the page's plain text: the topic, the desk's table and charts.

Why a module of its own: the test walks the desk like a user (table row, chart marker, box zoom) and checks
each shown explanation against the record read independently from ``explanations``; the readers of the
table, the price chart's markers and the three explanation graphs, and the independent consumer that stamps
each signal's arrival (wall ms), are long and would bury the test's steps. Its asserts are rewritten by
pytest (tests/e2e/conftest.py registers this module), so a failing comparison shows both sides.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import require
from tests.support.browser import GD, element_text
from tests.support.topics import read_topic


def require_chromium() -> None:
    """Skip on a developer's machine without Chromium; fail under CI, whose .ci/run installs it."""
    from bench.dashboard_parts import CHROMEDRIVER, CHROMIUM

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        require(False, f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")


@contextmanager
def own_broker(work: Path):
    """A Tansu broker on a free port with the dashboard's topics, stopped on exit; yields its bootstrap."""
    from bench.dashboard_parts import create_topics
    from tickscope.transport.broker import free_port, start_broker, stop_process

    bootstrap = f"127.0.0.1:{free_port()}"
    broker = start_broker(bootstrap, log_path=work / "broker.log")
    try:
        create_topics(bootstrap)
        yield bootstrap
    finally:
        stop_process(broker)


def click_signal_row(driver, signal_id: str) -> bool:
    """Click the signals-table cell showing ``signal_id``; False while no such row is on the page."""
    from selenium.webdriver.common.by import By

    for td in driver.find_elements(By.CSS_SELECTOR, '#signals-table td[data-dash-column="signal_id"]'):
        if td.text.strip() == signal_id:
            td.click()
            return True
    return False


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


def explained_records(bootstrap: str, symbol: str, ids: set[str] | None = None,
                      timeout_s: float = 60.0) -> dict[str, dict]:
    """``symbol``'s archive records read straight from ``explanations`` (independent of the dashboard)."""
    def enough(recs):
        got = {json.loads(r.value)["signal_id"] for r in recs}
        return bool(got) if ids is None else ids <= got

    out: dict[str, dict] = {}
    for r in read_topic(bootstrap, "explanations", until=enough, timeout_s=timeout_s):
        rec = json.loads(r.value)
        if rec.get("symbol") == symbol:
            out.setdefault(rec["signal_id"], rec)
    return out


def table_rows(driver) -> list[tuple[str, str]]:
    """(symbol, signal_id) of the table rows on the current page, top to bottom."""
    return [tuple(r) for r in driver.execute_script(
        "return Array.from(document.querySelectorAll('#signals-table tbody tr')).map(tr => ["
        "(tr.querySelector('td[data-dash-column=\"symbol\"]') || {}).textContent,"
        "(tr.querySelector('td[data-dash-column=\"signal_id\"]') || {}).textContent]).filter(r => r[1]);")]


def shown_symbol(driver) -> str | None:
    """The symbol the price graph shows, read from its title, or None before it has one."""
    title = driver.execute_script(f"const gd = {GD}('price-graph'); "
                                  "return gd && gd.layout && gd.layout.title ? gd.layout.title.text : null;")
    return title.removesuffix(" price (UTC)") if title and title.endswith(" price (UTC)") else None


def choose_symbol(driver, symbol: str) -> None:
    """Pick ``symbol`` in the dropdown (other tests of the session may have fed other symbols)."""
    from selenium.webdriver.common.by import By

    if shown_symbol(driver) == symbol:
        return
    driver.find_element(By.ID, "symbol-dropdown").click()
    time.sleep(0.5)
    options = [e for e in driver.find_elements(By.CSS_SELECTOR, "[role=option]") if e.text.strip() == symbol]
    if options:
        options[0].click()


def table_ids(driver) -> list[str]:
    """Every signal id listed in the table on the current page, top to bottom (repeats kept)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#signals-table td[data-dash-column=\"signal_id\"]'))"
        ".map(td => td.textContent.trim());")


def assert_explanation(driver, rec: dict) -> None:
    """The explanation panel shows ``rec``: id, numbers, and the three graphs drawn from it."""
    sid = rec["signal_id"]
    assert element_text(driver, "selected-signal-id") == sid
    summary = element_text(driver, "explanation-summary")
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


def marker_positions(driver) -> list[dict]:
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
