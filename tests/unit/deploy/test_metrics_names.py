"""The helpers that read metric names from tickscope.metrics and from PromQL."""

from __future__ import annotations

from tests.support.deploy_files import (
    METRICS,
    promql_metric_names,
)


def test_exported_metric_names_include_type_suffixes():
    assert "tickscope_ticks_in_total" in METRICS
    assert "tickscope_ticks_in" not in METRICS
    assert {"tickscope_explain_seconds_bucket", "tickscope_explain_seconds_sum",
            "tickscope_explain_seconds_count"} <= METRICS
    assert "tickscope_explain_seconds" not in METRICS
    assert "tickscope_consumer_lag" in METRICS


def test_promql_metric_name_extraction():
    expr = ('histogram_quantile(0.99, sum by (le) (rate(tickscope_explain_seconds_bucket{job="x"}[5m]))) > 1e-3 '
            'and on (instance) (time() - tickscope_worker_up offset 5m) or up{job="a b"} '
            'unless absent(foo_bar[$__rate_interval])')
    assert promql_metric_names(expr) == {"tickscope_explain_seconds_bucket", "tickscope_worker_up", "up", "foo_bar"}


# -------------------------------------------------------------- Dockerfile


