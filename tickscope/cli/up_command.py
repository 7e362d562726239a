"""``tickscope up``: broker (unless TICKSCOPE_KAFKA_BOOTSTRAP is set), workers, archiver, dashboard, live feeds.

Workers: one detect process, and one explain + alert process per remaining core (``worker_layout``).

Ctrl-C (or SIGTERM) stops every child cleanly and leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import sys
import time

DEFAULT_FEEDS = ("eurusd:EURUSD:8", "goog:GOOG:4", "sp500:SP500:4")


def add_parser(sub):
    p = sub.add_parser("up", help="run everything: broker, worker, dashboard and live feeds of real market data")
    p.add_argument("--feed", action="append", default=None, metavar="SOURCE:SYMBOL:SPEED",
                   help=f"a live feed (repeatable; default {' '.join(DEFAULT_FEEDS)}); speed in ticks/s")
    p.add_argument("--port", type=int, default=None, help="dashboard port (env TICKSCOPE_DASHBOARD_PORT, default 8050)")
    p.add_argument("--broker-listen", default="127.0.0.1:9092", help="embedded broker address (default 127.0.0.1:9092)")
    p.add_argument("--model", default=None, metavar="VERSION",
                   help="model version (sha256) every worker serves (env TICKSCOPE_MODEL_VERSION, default the shipped "
                        "DEFAULT; tickscope model list)")
    return p


def run(args) -> int:
    from tickscope.cli.supervisor import Supervisor
    from tickscope.settings import get_settings
    from tickscope.transport.broker import BrokerError, start_broker

    settings = get_settings()
    sup = Supervisor(settings.data_dir / "logs")
    env = dict(os.environ)
    if args.model is not None:
        model_error = _check_model(args.model)
        if model_error:
            print(f"tickscope up: {model_error}", file=sys.stderr)
            return 2
        env["TICKSCOPE_MODEL_VERSION"] = args.model  # every child (workers, dashboard) serves this version
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if "TICKSCOPE_KAFKA_BOOTSTRAP" not in os.environ:
            print(f"tickscope up: starting the embedded broker on {args.broker_listen}", flush=True)
            sup.adopt("broker", start_broker(args.broker_listen, log_path=_log(settings, "broker")))
            env["TICKSCOPE_KAFKA_BOOTSTRAP"] = args.broker_listen
        _start_children(sup, args, env, settings)
        return _watch(sup)
    except BrokerError as exc:
        print(f"tickscope up: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ntickscope up: stopping every child...", flush=True)
        return 0
    finally:
        sup.stop_all()
        print("tickscope up: stopped", flush=True)


def _check_model(version: str) -> str | None:
    """Why ``version`` cannot be served (before any child starts), or None."""
    from tickscope.models.registry import ModelError, load

    try:
        load(version)
    except ModelError as exc:
        return str(exc)
    return None


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops the stack the same way Ctrl-C does


def _log(settings, name):
    (settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    return settings.data_dir / "logs" / f"{name}.log"


def _start_children(sup, args, env, settings) -> None:
    port = args.port or settings.dashboard_port
    metrics_port = settings.metrics_port
    for offset, (name, agents) in enumerate(worker_layout(explain_processes())):
        stage_env = dict(env)  # one core per stage process
        if metrics_port:
            stage_env["TICKSCOPE_METRICS_PORT"] = str(metrics_port + offset)
        sup.start(name, ["worker", "--agents", agents], stage_env)
    sup.start("archiver", ["archiver"], env)
    print(f"tickscope up: the archive's public key will be in {_public_key_file(settings)} (written by the archiver; "
          f"check the archive with tickscope verify --public-key {_public_key_file(settings)})", flush=True)
    sup.start("dashboard", ["dashboard", "--port", str(port)], env)
    for spec in args.feed or DEFAULT_FEEDS:
        source, symbol, speed = _parse_feed(spec)
        sup.start(f"feed-{symbol}", ["feed", "--source", source, "--symbol", symbol, "--speed", speed,
                                     "--loop", "--no-progress"], env)
    print(f"tickscope up: dashboard http://{settings.dashboard_host}:{port}  "
          f"(logs in {settings.data_dir / 'logs'}; Ctrl-C stops everything)", flush=True)


def explain_processes(cores: int | None = None) -> int:
    """Explanation is the costly stage: every core but the one detect uses gets an explain process (at least one)."""
    return max(1, (cores or os.cpu_count() or 1) - 1)


def worker_layout(explainers: int) -> list[tuple[str, str]]:
    """(process name, agents): one detect process, then explain + alert processes sharing ``signals`` and
    ``explanations`` partitions (same agents, same consumer group)."""
    return [("worker-detect", "detect")] + [(f"worker-explain-{i + 1}", "alert,explain") for i in range(explainers)]


def _public_key_file(settings):
    from tickscope.audit.heads import public_key_path

    return public_key_path(settings.archive_key_path())


def _parse_feed(spec: str) -> tuple[str, str, str]:
    parts = spec.split(":")
    if len(parts) != 3:
        raise SystemExit(f"tickscope up: --feed wants SOURCE:SYMBOL:SPEED, got {spec!r}")
    return parts[0], parts[1], parts[2]


def _watch(sup) -> int:
    """Block until Ctrl-C; a child that dies takes the whole stack down with its exit code."""
    while True:
        exited = sup.first_exited()
        if exited is not None and not exited[0].startswith("feed-"):
            name, code = exited
            print(f"tickscope up: {name} exited with code {code}; see its log. Stopping.", file=sys.stderr)
            return code or 1
        time.sleep(0.5)
