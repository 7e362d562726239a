"""docker-compose.yml: Apache Kafka in KRaft mode, the workers, dashboard, feed, Prometheus, Grafana."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.deploy_files import (
    FIELD_DEFAULT,
    GRAFANA_DIR,
    PROMETHEUS_FILE,
    ROOT,
    SETTING_ENV,
    TOPICS,
    WORKERS,
    command_text,
    env_dict,
    k8s_docs,
    load_yaml,
)


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


def _container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


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


def test_tickscope_commands_parse_with_the_real_cli(services):
    from tickscope.cli import build_parser

    parser = build_parser()
    available = next(a for a in parser._actions if a.dest == "command").choices
    commands = _tickscope_commands(services)
    assert commands, "compose and the Kubernetes manifests run no tickscope command"
    for where, cmd in commands:
        argv = [_interpolate(a) for a in cmd[1:]]
        assert argv and argv[0] in available, f"{where} runs `tickscope {' '.join(argv)}`: no such command"
        parser.parse_args(argv)  # SystemExit on an unknown option


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


