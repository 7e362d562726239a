"""``tickscope dashboard``: the live desk web UI (Dash on FastAPI, served by uvicorn), fed from ``ticks``,
``explanations`` and ``alerts`` by one reader; updates are pushed over a WebSocket, or polled with ``--poll``."""

from __future__ import annotations

import os
import signal
import sys


def add_parser(sub):
    p = sub.add_parser(
        "dashboard", help="serve the live desk dashboard (prices, signals, explanations, alerts, drift, archive)",
        description="Serve the live desk dashboard. Binding beyond loopback requires TICKSCOPE_DASHBOARD_TOKEN; "
                    "then open the page once with ?token=<token> (a cookie remembers it) or use HTTP basic "
                    "auth with the token as the password.",
    )
    p.add_argument("--host", default=None,
                   help="address to bind (env TICKSCOPE_DASHBOARD_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None,
                   help="port to bind (env TICKSCOPE_DASHBOARD_PORT, default 8050)")
    p.add_argument("--render", choices=("svg", "webgl"), default=os.environ.get("TICKSCOPE_DASHBOARD_RENDER", "svg"),
                   help="draw the price line as SVG (default; fastest without a GPU, e.g. headless or remote "
                        "desktops) or WebGL (faster with a GPU); env TICKSCOPE_DASHBOARD_RENDER")
    p.add_argument("--poll", action="store_true", default=None,
                   help="poll every 250 ms over HTTP instead of pushing over a WebSocket (a fallback for proxies "
                        "that do not pass WebSockets); env TICKSCOPE_DASHBOARD_POLL")
    p.add_argument("--browser-points", type=int, default=None,
                   help="price points of the shown symbol kept in the browser; the chart says 'showing last N' "
                        "when it holds fewer than arrived (env TICKSCOPE_DASHBOARD_BROWSER_POINTS, default 20000)")
    return p


def run(args) -> int:
    import logging

    from tickscope.dashboard.app import create_app, is_loopback, serve
    from tickscope.dashboard.live_store import Store
    from tickscope.dashboard.topic_reader import KafkaFeed
    from tickscope.settings import get_settings

    settings = get_settings()
    host = args.host or settings.dashboard_host
    port = settings.dashboard_port if args.port is None else args.port
    token = settings.dashboard_token.get_secret_value() if settings.dashboard_token is not None else ""
    exposed = not is_loopback(host)
    if exposed and not token:
        print(
            f"tickscope dashboard: refusing to bind {host}: it is reachable from other machines and "
            "TICKSCOPE_DASHBOARD_TOKEN is not set. Set a token (e.g. TICKSCOPE_DASHBOARD_TOKEN=$(openssl rand "
            "-hex 16)) or bind 127.0.0.1.",
            file=sys.stderr,
        )
        return 2

    logging.basicConfig(level=os.environ.get("TICKSCOPE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # connection retries are reported in the page status

    mode = "poll" if (args.poll if args.poll is not None else settings.dashboard_poll) else "push"
    points = args.browser_points or settings.dashboard_browser_points
    store = Store(max_points=settings.dashboard_max_points, max_tick_bytes=settings.max_message_bytes,
                  max_symbols=settings.dashboard_max_symbols)
    feed = KafkaFeed(store, settings.kafka_python_config(), settings.topic_ticks, settings.topic_explanations,
                     topic_alerts=settings.topic_alerts)
    app = create_app(store, token=token if exposed else None, render=args.render, mode=mode,
                     browser_points=points)
    feed.start()

    def _stop(signum, frame):  # uvicorn stops gracefully, then re-raises SIGTERM to the handler it replaced
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    shown = f"[{host}]" if ":" in host else host
    print(f"tickscope dashboard: http://{shown}:{port}/ ({mode}; reading {settings.topic_ticks}, "
          f"{settings.topic_explanations}, {settings.topic_alerts} from {settings.kafka_bootstrap}"
          f"{'; token required' if exposed else ''})", flush=True)
    try:
        serve(app, host, port)  # uvicorn in this thread: SIGINT and SIGTERM stop it gracefully
    except KeyboardInterrupt:
        pass
    except (OSError, SystemExit) as exc:
        print(f"tickscope dashboard: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    finally:
        feed.stop()
    print("tickscope dashboard: stopped", flush=True)
    return 0
