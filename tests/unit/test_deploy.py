"""Static checks of the deployment files: Dockerfile, docker-compose.yml, deploy/**.

No Docker engine or cluster is needed. Metric names in Prometheus rules and
Grafana queries are checked against the metrics streams/metrics.py actually
defines; settings names against tickscope/settings.py. When ``promtool`` is on
PATH (Debian/Ubuntu package ``prometheus``) the Prometheus files are also
checked and the alert rules unit-tested with it; ``kubectl kustomize`` renders
the Kubernetes manifests when ``kubectl`` is present.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support import require
import yaml
from prometheus_client.metrics import MetricWrapperBase

import streams.metrics as tickscope_metrics
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


# ------------------------------------------------------------------ helpers


def exported_metric_names() -> set[str]:
    """Series names the worker exposes, from the prometheus_client objects of streams/metrics.py."""
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


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        require(False, "promtool not on PATH (Debian/Ubuntu: apt-get install prometheus)")
    return path


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------ the helpers


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


def test_dockerfile():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms, "no FROM"
    bases = {args.get(f[2:-1], f) if f.startswith("${") else f for f in froms}
    assert bases == {"python:3.11-slim"}

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    torch_pin = next(d for d in pyproject["project"]["dependencies"] if d.replace(" ", "").startswith("torch=="))
    assert args.get("TORCH_VERSION") == torch_pin.split("==", 1)[1], "Dockerfile torch differs from pyproject pin"
    assert args.get("TORCH_INDEX_URL") == "https://download.pytorch.org/whl/cpu"
    assert re.search(r"pip install --index-url \$\{TORCH_INDEX_URL\} torch==\$\{TORCH_VERSION\}", text)
    assert re.search(r"pip install \.(\s|$)", text)

    final = text[text.rindex("\nFROM "):]
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "final stage must run as a non-root user"
    cmds = re.findall(r"^CMD\s+(.+)$", final, re.M)
    assert cmds and json.loads(cmds[-1]) == ["tickscope", "worker"]
    exposed = {p for line in re.findall(r"^EXPOSE\s+(.+)$", final, re.M) for p in line.split()}
    assert {str(FIELD_DEFAULT["metrics_port"]), str(FIELD_DEFAULT["dashboard_port"])} <= exposed


def test_dockerignore_keeps_the_packages():
    lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    patterns = [ln for ln in lines if ln and not ln.startswith("#")]
    assert patterns[0] == "*", "expected a whitelist (.dockerignore starting with '*')"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    for pkg in packages + ["pyproject.toml"]:
        assert f"!{pkg}/" in patterns or f"!{pkg}" in patterns, f"{pkg} is not in the Docker build context"
    excluded = [p for p in patterns if not p.startswith("!")]
    assert not any(("safetensors" in p or "artifacts" in p or p.startswith("models")) for p in excluded), \
        "model artifacts must stay in the build context"
    assert not any(p.startswith("!") and ("venv" in p or ".git" in p or ".env" in p) for p in patterns)


# ----------------------------------------------------------------- compose


def test_compose_has_the_services(services):
    expected = {"kafka", "topic-init", *WORKERS, "dashboard", "feed", "prometheus", "grafana"}
    assert expected <= set(services), f"missing: {expected - set(services)}"
    assert not any("zookeeper" in name or "zookeeper" in str(svc.get("image", "")) for name, svc in services.items())


def test_kafka_runs_in_kraft_mode(services):
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = env_dict(kafka["environment"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node_id = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{node_id}@kafka:9093"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    listeners = env["KAFKA_LISTENERS"].split(",")
    assert "CONTROLLER://:9093" in listeners and "PLAINTEXT://:9092" in listeners
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "CONTROLLER" not in env["KAFKA_ADVERTISED_LISTENERS"]
    protocol_map = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    for listener in listeners + env["KAFKA_ADVERTISED_LISTENERS"].split(","):
        assert listener.split("://")[0] in protocol_map
    assert re.fullmatch(r"(\$\{KAFKA_CLUSTER_ID:-)?[A-Za-z0-9_-]{22}\}?", env["CLUSTER_ID"])
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_DEFAULT_REPLICATION_FACTOR"):
        assert env[key] == "1", key
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "true"
    assert "kafka-broker-api-versions.sh" in command_text(kafka["healthcheck"]["test"])


def test_topic_init_creates_every_topic(services):
    init = services["topic-init"]
    script = command_text(init["command"])
    assert "--create" in script and "--if-not-exists" in script
    for topic in TOPICS:
        assert re.search(rf"(?<![\w.]){re.escape(topic)}(?![\w.])", script), f"topic-init does not create {topic}"
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert str(init.get("restart", "no")) == "no"


def test_workers_share_a_group_and_point_at_kafka(services):
    envs = []
    for name in WORKERS:
        svc = services[name]
        assert command_text(svc["command"]) == "tickscope worker"
        env = env_dict(svc["environment"])
        assert env["TICKSCOPE_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert svc["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"
        assert str(env.get("TICKSCOPE_METRICS_PORT", FIELD_DEFAULT["metrics_port"])) in command_text(
            svc["healthcheck"]["test"])
        envs.append(env)
    assert len({e.get("TICKSCOPE_APP_ID", FIELD_DEFAULT["app_id"]) for e in envs}) == 1, "workers must share a group"
    partitions = {e["TICKSCOPE_TOPIC_PARTITIONS"] for e in envs}
    assert len(partitions) == 1
    kafka_env = env_dict(services["kafka"]["environment"])
    assert kafka_env["KAFKA_NUM_PARTITIONS"] in partitions
    assert env_dict(services["topic-init"]["environment"])["PARTITIONS"] in partitions


def test_dashboard_service(services):
    dash = services["dashboard"]
    assert command_text(dash["command"]) == "tickscope dashboard"
    env = env_dict(dash["environment"])
    assert env["TICKSCOPE_DASHBOARD_HOST"] == "0.0.0.0"
    assert env["TICKSCOPE_DASHBOARD_TOKEN"].startswith("${TICKSCOPE_DASHBOARD_TOKEN"), "token must come from env/.env"
    assert env["TICKSCOPE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert any(str(p).endswith(":8050:8050") or str(p) == "8050:8050" for p in dash["ports"])


def test_feed_service(services):
    cmd = command_text(services["feed"]["command"])
    assert cmd.startswith("tickscope feed")
    for flag in ("--source", "--symbol", "--speed"):
        assert flag in cmd
    assert env_dict(services["feed"]["environment"])["TICKSCOPE_KAFKA_BOOTSTRAP"] == "kafka:9092"


def _interpolate(arg: str) -> str:
    """Compose-style ${VAR:-default} -> default (the value used when .env does not set VAR)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", arg)


def _tickscope_commands(services) -> list[tuple[str, list[str]]]:
    cmds = [(f"compose:{name}", svc["command"]) for name, svc in services.items()
            if isinstance(svc.get("command"), list) and svc["command"][:1] == ["tickscope"]]
    for _, doc in k8s_docs():
        if doc["kind"] == "Deployment":
            c = _container(doc)
            cmds.append((f"k8s:{doc['metadata']['name']}", c["command"] + c.get("args", [])))
    return cmds


def test_tickscope_commands_parse_with_the_real_cli(services):
    from tickscope.cli import build_parser

    parser = build_parser()
    available = next(a for a in parser._actions if a.dest == "command").choices
    checked = 0
    for where, cmd in _tickscope_commands(services):
        argv = [_interpolate(a) for a in cmd[1:]]
        if argv[0] not in available:
            continue  # subcommand not built yet
        parser.parse_args(argv)  # SystemExit on an unknown option
        checked += 1
    if not checked:
        pytest.skip("no tickscope subcommand used by the deployment is available yet")


def test_compose_healthchecks_and_dependencies(services):
    for name, svc in services.items():
        if name not in ("topic-init", "feed"):
            assert "healthcheck" in svc, f"{name} has no healthcheck"
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            condition = spec["condition"]
            assert condition in ("service_started", "service_healthy", "service_completed_successfully")
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy, it has no healthcheck"


def test_compose_bind_mounts_exist(services):
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: bind mount source {source} missing"


def test_compose_tickscope_env_names_are_settings(services):
    for name, svc in services.items():
        for key in env_dict(svc.get("environment")):
            if key.startswith("TICKSCOPE_"):
                assert key in SETTING_ENV, f"{name}: {key} is not a field of tickscope.settings.Settings"


def test_prometheus_and_grafana_services(services):
    prom = services["prometheus"]
    assert prom["image"].startswith("prom/prometheus:")
    mounts = {v.split(":")[0]: v.split(":")[1] for v in prom["volumes"] if v.startswith(".")}
    assert mounts["./deploy/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    config_dir = Path("/etc/prometheus")
    for rule_file in load_yaml(PROMETHEUS_FILE)["rule_files"]:
        # rule_files resolve relative to the config file, in the container as here
        assert mounts[f"./deploy/prometheus/{rule_file}"] == str(config_dir / rule_file)
    graf = services["grafana"]
    assert graf["image"].startswith("grafana/grafana:")
    gmounts = {v.split(":")[0]: v.split(":")[1] for v in graf["volumes"] if v.startswith(".")}
    assert gmounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "tickscope.yml")["providers"][0]
    assert gmounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert env_dict(graf["environment"])["GF_SECURITY_ADMIN_PASSWORD"].startswith("${")


# -------------------------------------------------------------- Prometheus


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
    assert not unknown, f"{rule['alert']} uses metrics streams/metrics.py does not define: {sorted(unknown)}"
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


# ----------------------------------------------------------------- Grafana


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


def test_k8s_manifests_parse_with_expected_objects():
    docs = k8s_docs()
    assert docs
    for filename, doc in docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), filename
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{filename}: {doc['kind']} not in {NAMESPACE}"
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in docs}
    assert {
        ("Namespace", NAMESPACE),
        ("ConfigMap", "tickscope-config"),
        ("Secret", "tickscope-kafka"),
        ("Secret", "tickscope-dashboard"),
        ("Deployment", "tickscope-worker"),
        ("Deployment", "tickscope-dashboard"),
        ("Service", "tickscope-dashboard"),
        ("HorizontalPodAutoscaler", "tickscope-worker"),
        ("PodMonitor", "tickscope-worker"),
    } <= kinds


def test_k8s_settings_names_are_real():
    config = k8s_object("ConfigMap", "tickscope-config")["data"]
    for key in config:
        assert key in SETTING_ENV, f"ConfigMap key {key} is not a tickscope setting"
    assert "TICKSCOPE_KAFKA_SASL_PASSWORD" not in config, "the SASL password belongs in a Secret"
    assert "TICKSCOPE_DASHBOARD_TOKEN" not in config, "the dashboard token belongs in a Secret"
    assert "TICKSCOPE_KAFKA_SASL_PASSWORD" in k8s_object("Secret", "tickscope-kafka")["stringData"]
    assert "TICKSCOPE_DASHBOARD_TOKEN" in k8s_object("Secret", "tickscope-dashboard")["stringData"]
    for _, doc in k8s_docs():
        if doc["kind"] == "Deployment":
            for c in doc["spec"]["template"]["spec"]["containers"]:
                for e in c.get("env", []):
                    if e["name"].startswith("TICKSCOPE_"):
                        assert e["name"] in SETTING_ENV, e["name"]


def _container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _port(container: dict, ref) -> int:
    if isinstance(ref, int):
        return ref
    return next(p["containerPort"] for p in container["ports"] if p["name"] == ref)


def _check_pod_basics(deployment: dict) -> None:
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    c = _container(deployment)
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    volumes = {v["name"] for v in pod.get("volumes", [])}
    for mount in c.get("volumeMounts", []):
        assert mount["name"] in volumes
    refs = [e for e in c.get("envFrom", [])]
    for ref in refs:
        if "configMapRef" in ref:
            k8s_object("ConfigMap", ref["configMapRef"]["name"])
        if "secretRef" in ref:
            k8s_object("Secret", ref["secretRef"]["name"])
    cafile = k8s_object("ConfigMap", "tickscope-config")["data"].get("TICKSCOPE_KAFKA_SSL_CAFILE")
    if cafile:
        assert any(cafile.startswith(m["mountPath"].rstrip("/") + "/") for m in c["volumeMounts"])


def test_k8s_worker_deployment():
    worker = k8s_object("Deployment", "tickscope-worker")
    config = k8s_object("ConfigMap", "tickscope-config")["data"]
    partitions = int(config["TICKSCOPE_TOPIC_PARTITIONS"])
    metrics_port = int(config.get("TICKSCOPE_METRICS_PORT", FIELD_DEFAULT["metrics_port"]))
    assert 1 <= worker["spec"]["replicas"] <= partitions, "more workers than partitions would sit idle"
    _check_pod_basics(worker)
    c = _container(worker)
    assert c["command"] == ["tickscope", "worker"]
    for probe in ("livenessProbe", "readinessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == "/metrics" and _port(c, get["port"]) == metrics_port, probe
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == metrics_port
    text = (K8S_DIR / "worker.yaml").read_text(encoding="utf-8")
    assert "partition" in text.lower(), "worker.yaml should explain scaling by partitions"


def test_k8s_hpa_is_capped_by_partitions():
    hpa = k8s_object("HorizontalPodAutoscaler", "tickscope-worker")
    partitions = int(k8s_object("ConfigMap", "tickscope-config")["data"]["TICKSCOPE_TOPIC_PARTITIONS"])
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tickscope-worker"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions


def test_k8s_dashboard_and_service():
    dash = k8s_object("Deployment", "tickscope-dashboard")
    _check_pod_basics(dash)
    c = _container(dash)
    assert c["command"] == ["tickscope", "dashboard"]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    assert env["TICKSCOPE_DASHBOARD_HOST"] == "0.0.0.0"
    assert {"secretRef": {"name": "tickscope-dashboard"}} in c["envFrom"], "the token Secret must not be optional"
    svc = k8s_object("Service", "tickscope-dashboard")
    labels = dash["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    for port in svc["spec"]["ports"]:
        assert _port(c, port["targetPort"]) == int(env.get("TICKSCOPE_DASHBOARD_PORT", FIELD_DEFAULT["dashboard_port"]))


def test_k8s_podmonitor_selects_the_workers():
    pm = k8s_object("PodMonitor", "tickscope-worker")
    worker = k8s_object("Deployment", "tickscope-worker")
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert pm["spec"]["selector"]["matchLabels"].items() <= labels.items()
    port_names = {p["name"] for p in _container(worker)["ports"]}
    for endpoint in pm["spec"]["podMetricsEndpoints"]:
        assert endpoint["port"] in port_names
        jobs = [r.get("replacement") for r in endpoint.get("relabelings", []) if r.get("targetLabel") == "job"]
        assert jobs == [WORKER_JOB], "alert rules select job=tickscope-worker"


def test_k8s_kustomization():
    kust = load_yaml(K8S_DIR / "kustomization.yaml")
    assert kust["namespace"] == NAMESPACE
    for res in kust["resources"]:
        assert (K8S_DIR / res).is_file(), res
    assert "secret.example.yaml" not in kust["resources"], "example secrets must not be applied"


def test_k8s_kustomize_renders():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        require(False, "kubectl not on PATH; `kubectl kustomize deploy/k8s` not checked")
    result = run_tool(kubectl, "kustomize", str(K8S_DIR))
    assert result.returncode == 0, result.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(result.stdout) if d}
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"} <= kinds


# -------------------------------------------------------------------- docs


def test_docs_and_env_example_name_real_settings():
    for path in (DOCS_FILE, DEPLOY / "env.example"):
        for name in set(re.findall(r"TICKSCOPE_[A-Z0-9_]+", path.read_text(encoding="utf-8"))):
            assert name in SETTING_ENV, f"{path.relative_to(ROOT)} mentions {name}, not a tickscope setting"


# ---------------------------------------------------------------- promtool


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
