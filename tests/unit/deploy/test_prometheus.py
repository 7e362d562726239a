"""deploy/prometheus: scrape config and alert rules, checked with promtool."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import tickscope.metrics as tickscope_metrics
from tests.support.deploy_files import (
    ALERTS_FILE,
    ALERTS_TEST_FILE,
    FIELD_DEFAULT,
    METRICS,
    PROMETHEUS_FILE,
    SYNTHETIC_SERIES,
    WORKER_JOB,
    WORKERS,
    alert_rules,
    dashboard_exprs,
    duration_seconds,
    env_dict,
    load_yaml,
    promql_metric_names,
    run_tool,
)


def test_prometheus_scrapes_every_worker(services):
    config = load_yaml(PROMETHEUS_FILE)
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_FILE.parent / rule_file).is_file()
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    job = jobs[WORKER_JOB]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {t for sc in job["static_configs"] for t in sc["targets"]}
    expected = set()
    for name in WORKERS:
        port = env_dict(services[name]["environment"]).get("TICKSCOPE_METRICS_PORT", FIELD_DEFAULT["metrics_port"])
        expected.add(f"{name}:{port}")
    assert targets == expected


def test_prometheus_scrapes_the_dashboard_through_its_token_gate(services):
    """The reader's gap and rejection counters reach the alert rules: basic auth with the dashboard token,
    handed to Prometheus as a compose secret taken from the same variable the dashboard reads."""
    from tests.support.deploy_files import COMPOSE_FILE

    jobs = {job["job_name"]: job for job in load_yaml(PROMETHEUS_FILE)["scrape_configs"]}
    job = jobs["tickscope-dashboard"]
    port = env_dict(services["dashboard"]["environment"])["TICKSCOPE_DASHBOARD_PORT"]
    assert {t for sc in job["static_configs"] for t in sc["targets"]} == {f"dashboard:{port}"}
    secret = job["basic_auth"]["password_file"]
    assert secret.startswith("/run/secrets/") and secret.rsplit("/", 1)[1] in services["prometheus"]["secrets"]
    declared = load_yaml(COMPOSE_FILE)["secrets"][secret.rsplit("/", 1)[1]]
    assert declared == {"environment": "TICKSCOPE_DASHBOARD_TOKEN"}
    assert "TICKSCOPE_DASHBOARD_TOKEN" in str(services["dashboard"]["environment"])


def test_alert_rules_are_complete():
    rules = alert_rules()
    assert len({r["alert"] for r in rules}) == len(rules), "duplicate alert names"
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule.get("alert")
        assert duration_seconds(rule["for"]) > 0
        assert rule["labels"]["severity"] in ("info", "warning", "critical")
        assert rule["annotations"].get("summary") and rule["annotations"].get("description")


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_alert_exprs_use_only_exported_metrics(rule):
    names = promql_metric_names(rule["expr"])
    assert names, f"{rule['alert']}: no metric found in expr"
    unknown = names - METRICS - SYNTHETIC_SERIES
    assert not unknown, f"{rule['alert']} uses metrics tickscope/metrics.py does not define: {sorted(unknown)}"
    assert names & METRICS, f"{rule['alert']} uses no tickscope metric"
    for job in re.findall(r'job="([^"]*)"', rule["expr"]):
        assert job == WORKER_JOB


def test_alerts_cover_the_failure_modes():
    by_metric: dict[str, list[str]] = {}
    for rule in alert_rules():
        for name in promql_metric_names(rule["expr"]):
            by_metric.setdefault(name, []).append(rule["expr"])
    assert "tickscope_consumer_lag" in by_metric
    assert "tickscope_dlq_total" in by_metric
    assert any("histogram_quantile(0.99" in e for e in by_metric["tickscope_explain_seconds_bucket"])
    assert "up" in by_metric and any("absent(" in e for e in by_metric["tickscope_worker_up"])
    assert any("time()" in e for e in by_metric["tickscope_worker_last_progress_timestamp_seconds"])
    assert any("increase(" in e for e in by_metric["tickscope_input_gap_messages_total"])


# ----------------------------------------------------------------- Grafana


def test_promtool_check_config(promtool):
    result = run_tool(promtool, "check", "config", str(PROMETHEUS_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules(promtool):
    result = run_tool(promtool, "check", "rules", str(ALERTS_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_alert_unit_tests(promtool):
    result = run_tool(promtool, "test", "rules", str(ALERTS_TEST_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parses_grafana_queries(promtool, tmp_path):
    # Grafana's interval variables are not PromQL; substitute before parsing.
    rules = []
    for i, (_, expr) in enumerate(dashboard_exprs()):
        expr = re.sub(r"\$__(rate_interval|interval|range)", "1m", expr)
        rules.append({"record": f"grafana:query_{i}", "expr": expr})
    path = tmp_path / "grafana_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}), encoding="utf-8")
    result = run_tool(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_lints_the_exported_metrics(promtool):
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    for obj in vars(tickscope_metrics).values():
        if isinstance(obj, MetricWrapperBase):
            registry.register(obj)
    result = subprocess.run([promtool, "check", "metrics"], input=generate_latest(registry),
                            capture_output=True, timeout=60)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
