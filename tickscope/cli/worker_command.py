"""``tickscope worker``: run the Faust worker (agents detect, explain, alert; TICKSCOPE_WORKER_AGENTS picks some)."""

from __future__ import annotations

import gc
import sys


def add_parser(sub):
    p = sub.add_parser("worker", help="run the streaming worker (Faust): ticks -> explained signals",
                       description="Processes running the same agents share their topics' partitions, so "
                                   "`tickscope worker --agents explain,alert` started N times explains with N "
                                   "processes.")
    p.add_argument("--agents", default=None, metavar="LIST",
                   help="agents to run, comma separated: detect, explain, alert (env TICKSCOPE_WORKER_AGENTS, "
                        "default all three)")
    p.add_argument("--model", default=None, metavar="VERSION",
                   help="model version (sha256) to serve (env TICKSCOPE_MODEL_VERSION, default the shipped DEFAULT; "
                        "tickscope model list)")
    p.add_argument("--loglevel", default="info", help="debug, info, warning (default info)")
    return p


def run(args) -> int:
    import torch
    from prometheus_client import start_http_server

    from tickscope import metrics, models
    from tickscope.settings import get_settings
    from tickscope.streams.worker import create_app
    from tickscope.transport.topics import ensure_topics

    settings = get_settings()
    if args.agents is not None:
        settings = settings.model_copy(update={"worker_agents": args.agents})
    if args.model is not None:
        settings = settings.model_copy(update={"model_version": args.model})
    try:
        agents = settings.agent_set
    except ValueError as exc:
        print(f"tickscope worker: {exc}", file=sys.stderr)
        return 2
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(settings.torch_threads)
    try:
        model = models.load(settings.model_version)
    except models.ModelError as exc:
        print(f"tickscope worker: {exc}", file=sys.stderr)
        return 2
    try:
        ensure_topics(settings)
    except RuntimeError as exc:
        print(f"tickscope worker: {exc}", file=sys.stderr)
        return 2
    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    metrics.UP.set(1)
    lower, upper = model.thresholds
    print(f"tickscope worker: agents {','.join(sorted(agents))}, model {model.version[:12]} "
          f"thresholds ({lower:.4f}, {upper:.4f}), "
          f"bootstrap {settings.kafka_bootstrap}, metrics :{settings.metrics_port}", flush=True)
    from faust import Worker

    app = create_app(settings, model)
    # Everything loaded so far (torch, faust, the model) lives as long as the process: move it out of the
    # collector's generations so a full collection does not walk it (measured: full collections of 110-120 ms
    # without this, 6-7 ms with it, in the bench pipeline's worker processes).
    gc.collect()
    gc.freeze()
    Worker(app, loglevel=args.loglevel).execute_from_commandline()
    return 0
