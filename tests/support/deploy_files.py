"""The deployment files and what the static checks of them share (tests/unit/deploy).

Metric names in Prometheus rules and Grafana queries are checked against the
metrics ``tickscope.metrics`` actually defines; settings names against
``tickscope.settings``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

import tickscope.metrics as tickscope_metrics
from tickscope.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_FILE = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS_FILE = DEPLOY / "prometheus" / "alerts.yml"
ALERTS_TEST_FILE = DEPLOY / "prometheus" / "tests" / "alerts_test.yml"
GRAFANA_DIR = DEPLOY / "grafana"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "tickscope.json"
K8S_DIR = DEPLOY / "k8s"
DOCS_FILE = ROOT / "docs" / "deployment.md"

WORKERS = ("worker-1", "worker-2")
WORKER_JOB = "tickscope-worker"
NAMESPACE = "tickscope"
# Series Prometheus generates itself for every scrape target.
SYNTHETIC_SERIES = {"up"}
PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}
SETTING_ENV = {f"TICKSCOPE_{name.upper()}" for name in Settings.model_fields}
FIELD_DEFAULT = {name: field.default for name, field in Settings.model_fields.items()}
TOPICS = [FIELD_DEFAULT[k] for k in ("topic_ticks", "topic_dlq", "topic_signals", "topic_explanations", "topic_alerts")]


def exported_metric_names() -> set[str]:
    """Series names the worker exposes, from the prometheus_client objects of tickscope/metrics.py."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "stateset": ("",),
        "enum": ("",),
    }
    names: set[str] = set()
    for obj in vars(tickscope_metrics).values():
        if isinstance(obj, MetricWrapperBase):
            for family in obj.describe():
                names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


METRICS = exported_metric_names()


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords and label names removed)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # range selectors, subqueries, Grafana $__rate_interval
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.$])([A-Za-z_:][\w:]*)", s):
        name = m.group(1)
        if name.lower() in PROMQL_WORDS or s[m.end():].lstrip().startswith("("):
            continue
        names.add(name)
    return names


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def env_dict(env) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_text(cmd) -> str:
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd or "")


def dashboard_exprs() -> list[tuple[str, str]]:
    dash = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    out = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            out.append((f"{panel['title']}/{target['refId']}", target["expr"]))
    return out


def alert_rules() -> list[dict]:
    return [rule for group in load_yaml(ALERTS_FILE)["groups"] for rule in group["rules"]]


def k8s_docs() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        with path.open(encoding="utf-8") as f:
            docs.extend((path.name, d) for d in yaml.safe_load_all(f) if d)
    return docs


def k8s_object(kind: str, name: str) -> dict:
    found = [d for _, d in k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name} in deploy/k8s, found {len(found)}"
    return found[0]


def duration_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a Prometheus duration: {text!r}"
    return sum(int(n) * units[u] for n, u in parts)


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=120)
