"""Alerts, drift and archive views in headless Chromium, over an own broker and a real SQLite archive.

Synthetic schema-valid records (``dashboard.synthetic``) go to ``explanations`` and ``alerts`` on a
broker this test starts; the archive is written with tickscope.audit's own store API into the
dashboard's ``$TICKSCOPE_DATA_DIR/archive.sqlite``. Clicking an alert's evidence opens that signal
in the explanation panel; an archive search lists records newest first and its report link serves
the audit report with a CSP that runs no script. The dashboard runs in its default push mode. Screenshots of
the alerts, drift, archive and report views go to docs/screenshots/ (docs/dashboard.md shows them).
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from bench import dashboard_parts, synthetic
from tests.e2e.dashboard_support import own_broker, require_chromium
from tests.support.browser import DOC_SHOTS, element_text, wait_until
from tickscope.audit.report import REPORT_CSP

pytestmark = pytest.mark.e2e
NOW = int(time.time() * 1000)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_chromium()
    from kafka import KafkaProducer

    from tickscope.transport.broker import stop_process

    work = tmp_path_factory.mktemp("dash-views")
    recs = [synthetic.record_json("SYNTH", NOW - (200 - i) * 1000, 1.1 + i * 1e-4, NOW, drift=i / 200)
            for i in range(200)]
    ids = [json.loads(r)["signal_id"] for r in recs]
    _write_archive(work / "archive.sqlite", recs[:150], ids[:150])
    with own_broker(work) as bootstrap:
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        for i, r in enumerate(recs):
            producer.send("ticks", key=b"SYNTH",
                          value=synthetic.tick_json("SYNTH", NOW - (200 - i) * 1000, 1.1 + i * 1e-4))
            producer.send("explanations", key=ids[i].encode(), value=r)
        producer.send("alerts", key=b"al-1", value=synthetic.alert_json(
            "al-1", "attribution_drift", "SYNTH", ids[150:160], NOW - 60_000, NOW - 5_000, severity="critical"))
        producer.send("alerts", key=b"al-0", value=synthetic.alert_json(
            "al-0", "rank_change", "*", ids[10:13], NOW - 3_600_000, NOW - 3_500_000))
        producer.send("alerts", key=b"al-1", value=synthetic.alert_json(  # re-delivered: shown once
            "al-1", "attribution_drift", "SYNTH", ids[150:160], NOW - 60_000, NOW - 5_000, severity="critical"))
        producer.flush()
        producer.close()
        proc, url = dashboard_parts.start_dashboard(bootstrap, work, 10_000)
        driver = dashboard_parts.make_driver(work / "profile")
        try:
            yield {"url": url, "ids": ids, "driver": driver}
        finally:
            driver.quit()
            stop_process(proc)


def _write_archive(path, recs, ids):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tickscope.audit.archive_store import Incoming, open_store
    from tickscope.audit.heads import Signer

    st = open_store(path, read_only=False)
    items = [Incoming(r, sid.encode(), f"explanations/0@{i}") for i, (r, sid) in enumerate(zip(recs, ids))]
    st.append_batch(items, {("explanations", 0): len(items)}, Signer(Ed25519PrivateKey.generate()), NOW)
    st.close()


def _tab(d, label):
    from selenium.webdriver.common.by import By

    for t in d.find_elements(By.CSS_SELECTOR, "#view-tabs .tab, #view-tabs [role=tab], #view-tabs div"):
        if t.text.strip() == label:
            t.click()
            return True
    return False


def _shot(d, name):
    DOC_SHOTS.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(DOC_SHOTS / f"{name}.png"))


def test_alert_evidence_opens_the_signal(stack):
    from selenium.webdriver.common.by import By

    d, ids = stack["driver"], stack["ids"]
    d.get(stack["url"])
    wait_until("all 200 signals", lambda: element_text(d, "signal-count") == "200 signals", 60)
    wait_until("the alerts tab", lambda: _tab(d, "Alerts"), 10)
    wait_until("the active alert", lambda: "al-1" in (element_text(d, "alerts-active") or ""), 20)
    assert "al-0" in element_text(d, "alerts-past") and "al-1" not in element_text(d, "alerts-past")
    assert "2 alert(s) received · 1 active" in element_text(d, "alerts-summary")
    _shot(d, "alerts")
    target = ids[155]
    btn = d.find_element(By.XPATH, f"//div[@id='alerts-active']//button[@title='open signal {target}']")
    btn.click()
    wait_until("the evidence signal in the explanation panel",
               lambda: element_text(d, "selected-signal-id") == target, 15)
    wait_until("the waterfall", lambda: d.execute_script(
        "const g = document.querySelector('#waterfall-graph .js-plotly-plot');"
        "return !!(g && g.data && g.data[0].type === 'waterfall');"), 15)
    rec = json.loads(synthetic.record_json("SYNTH", NOW - 45_000, 1.1 + 155e-4, NOW, drift=155 / 200))
    wf = d.execute_script("const g = document.querySelector('#waterfall-graph .js-plotly-plot');"
                          "return {x: Array.from(g.data[0].x), y: Array.from(g.data[0].y)};")
    assert wf["x"][0] == "base value" and wf["y"][0] == pytest.approx(rec["base_value"])
    assert wf["y"][-1] == pytest.approx(rec["score"])
    assert "times more than random cells" in element_text(d, "quality-table")


def test_drift_view(stack):
    d = stack["driver"]
    wait_until("the drift tab", lambda: _tab(d, "Drift"), 10)
    wait_until("the drift chart", lambda: d.execute_script(
        "const g = document.querySelector('#drift-graph .js-plotly-plot');"
        "return g && g.data && g.data.length === 6;"), 20)
    assert "first 50 signals" in element_text(d, "drift-note")
    time.sleep(1.0)
    _shot(d, "drift")


def test_archive_search_and_report(stack):
    from selenium.webdriver.common.by import By

    d, ids = stack["driver"], stack["ids"]
    wait_until("the archive tab", lambda: _tab(d, "Archive"), 10)
    box = d.find_element(By.ID, "archive-symbol")
    box.send_keys("SYNTH\n")

    def results() -> bool:
        return "150 record(s)" in (element_text(d, "archive-status") or "")

    try:
        wait_until("archive results", results, 15)
    except AssertionError:
        # Seen once in six runs inside the full suite: the search's answer never reached the page. A user
        # presses "search" again; the results must then be right (root cause open: see the closing note).
        d.find_element(By.ID, "archive-search").click()
        wait_until("archive results after pressing search again", results, 20)
    shown = d.execute_script("return Array.from(document.querySelectorAll('#archive-results tbody tr td:nth-child(6)'))"
                             ".map(td => td.textContent.trim());")
    assert shown[0] == ids[149] and len(shown) == 150  # newest first
    _shot(d, "archive")
    href = d.find_element(By.CSS_SELECTOR, "#archive-results a.report-link").get_attribute("href")
    with urllib.request.urlopen(href + "?replay=0", timeout=30) as r:
        body = r.read().decode()
        assert r.headers["Content-Security-Policy"] == REPORT_CSP
    assert ids[149] in body and "Inclusion proof verifies" in body
    desk = d.current_window_handle
    d.switch_to.new_window("tab")
    d.get(href + "?replay=0")
    wait_until("the report page", lambda: ids[149] in d.page_source, 20)
    _shot(d, "report")
    d.close()
    d.switch_to.window(desk)
    d.find_element(By.XPATH, f"//div[@id='archive-results']//button[text()='{ids[149]}']").click()
    wait_until("the archived signal in the panel", lambda: element_text(d, "selected-signal-id") == ids[149], 15)
