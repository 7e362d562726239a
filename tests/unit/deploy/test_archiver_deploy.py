"""Compose and Kubernetes run the archiver: its key outside the archive's volume, its witness kept forever,
its metrics scraped."""

from __future__ import annotations

from tests.support.deploy_files import (
    K8S_DIR,
    METRICS,
    PROMETHEUS_FILE,
    alert_rules,
    command_text,
    env_dict,
    k8s_object,
    load_yaml,
    promql_metric_names,
)
from tests.unit.deploy.test_k8s import _check_pod_basics, _container, _port


def test_compose_runs_the_archiver_with_its_key_outside_the_data_volume(services):
    svc = services["archiver"]
    assert command_text(svc["command"]) == "tickscope archiver"
    env = env_dict(svc["environment"])
    key, data = env["TICKSCOPE_ARCHIVE_SIGNING_KEY_FILE"], env["TICKSCOPE_DATA_DIR"]
    mounts = dict(v.split(":")[::-1] for v in svc["volumes"])
    key_mount = next(m for m in mounts if key.startswith(m.rstrip("/") + "/"))
    assert not key.startswith(data.rstrip("/") + "/") and mounts[key_mount] != mounts[data], \
        "the signing key must not live on the archive's data volume"
    assert env["TICKSCOPE_ARCHIVER_METRICS_PORT"] in command_text(svc["healthcheck"]["test"])


def test_compose_declares_the_witness_topic_with_retention_that_never_deletes(services):
    script = command_text(services["topic-init"]["command"])
    line = script[script.index("--topic archive.heads"):].split("\n\n")[0]
    for config in ("retention.ms=-1", "retention.bytes=-1"):
        assert config in script[script.index("--topic archive.heads"):script.index("--describe")], config
    assert "--partitions 1" in line


def test_prometheus_scrapes_the_archiver(services):
    jobs = {job["job_name"]: job for job in load_yaml(PROMETHEUS_FILE)["scrape_configs"]}
    targets = {t for sc in jobs["tickscope-archiver"]["static_configs"] for t in sc["targets"]}
    port = env_dict(services["archiver"]["environment"])["TICKSCOPE_ARCHIVER_METRICS_PORT"]
    assert targets == {f"archiver:{port}"}


def test_the_archiver_alerts_use_its_metrics():
    used = set().union(*(promql_metric_names(r["expr"]) for r in alert_rules()))
    archiver = {m for m in METRICS if m.startswith("tickscope_archiver_")}
    assert {"tickscope_archiver_gap_records_total", "tickscope_archiver_witness_backlog",
            "tickscope_archiver_last_progress_timestamp_seconds", "tickscope_archiver_up",
            "tickscope_archiver_rejected_total"} <= used & archiver


def test_k8s_runs_one_archiver_with_a_volume_and_the_key_from_a_secret():
    dep = k8s_object("Deployment", "tickscope-archiver")
    _check_pod_basics(dep)
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"
    c = _container(dep)
    assert c["command"] == ["tickscope", "archiver"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    key_mount = next(p for p in mounts if env["TICKSCOPE_ARCHIVE_SIGNING_KEY_FILE"].startswith(p + "/"))
    secret = volumes[mounts[key_mount]["name"]]["secret"]["secretName"]
    assert mounts[key_mount]["readOnly"] is True and k8s_object("Secret", secret)
    assert volumes[mounts["/data"]["name"]]["persistentVolumeClaim"]["claimName"] == \
        k8s_object("PersistentVolumeClaim", "tickscope-archive")["metadata"]["name"]
    assert _port(c, c["livenessProbe"]["httpGet"]["port"]) == int(env["TICKSCOPE_ARCHIVER_METRICS_PORT"])
    assert "archiver.yaml" in load_yaml(K8S_DIR / "kustomization.yaml")["resources"]
