"""deploy/grafana: the datasource and the dashboard's queries."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.deploy_files import (
    DASHBOARD_FILE,
    GRAFANA_DIR,
    METRICS,
    SYNTHETIC_SERIES,
    dashboard_exprs,
    load_yaml,
    promql_metric_names,
)


def test_grafana_datasource_points_at_prometheus(services):
    ds = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    prom = [d for d in ds if d["type"] == "prometheus"]
    assert len(prom) == 1 and prom[0]["uid"] == "prometheus"
    assert prom[0]["url"] == "http://prometheus:9090"
    assert "prometheus" in services


def test_grafana_dashboard_parses_and_uses_the_datasource():
    dash = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    assert dash["uid"] and dash["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        assert panel["targets"], panel["title"]
        for ds in [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]:
            assert ds == {"type": "prometheus", "uid": "prometheus"}, panel["title"]


@pytest.mark.parametrize("where,expr", dashboard_exprs(), ids=[w for w, _ in dashboard_exprs()])
def test_grafana_queries_use_only_exported_metrics(where, expr):
    names = promql_metric_names(expr)
    assert names, f"{where}: no metric in {expr!r}"
    unknown = names - METRICS - SYNTHETIC_SERIES
    assert not unknown, f"{where} queries undefined metrics {sorted(unknown)}"


def test_grafana_dashboard_has_the_required_panels():
    exprs = [e for _, e in dashboard_exprs()]
    used = set().union(*(promql_metric_names(e) for e in exprs))
    assert {"tickscope_ticks_in_total", "tickscope_dlq_total", "tickscope_signals_total",
            "tickscope_explain_seconds_bucket", "tickscope_end_to_end_seconds_bucket",
            "tickscope_consumer_lag", "tickscope_worker_up"} <= used
    assert any("tickscope_dlq_total" in e and re.search(r"by \([^)]*reason", e) for e in exprs)
    for q in ("0.5", "0.99"):
        assert any(f"histogram_quantile({q}," in e and "tickscope_explain_seconds_bucket" in e for e in exprs)
        assert any(f"histogram_quantile({q}," in e and "tickscope_end_to_end_seconds_bucket" in e for e in exprs)


# -------------------------------------------------------------- Kubernetes


