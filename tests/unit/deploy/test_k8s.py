"""deploy/k8s: the Kubernetes manifests, rendered with kubectl kustomize when present."""

from __future__ import annotations

import shutil

import yaml

from tests.support import require
from tests.support.deploy_files import (
    FIELD_DEFAULT,
    K8S_DIR,
    NAMESPACE,
    SETTING_ENV,
    WORKER_JOB,
    k8s_docs,
    k8s_object,
    load_yaml,
    run_tool,
)


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


