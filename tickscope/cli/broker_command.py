"""``tickscope broker``: run the embedded Tansu broker in the foreground."""

from __future__ import annotations

import signal
import sys


def add_parser(sub):
    p = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (Tansu, memory only)")
    p.add_argument("--listen", default="127.0.0.1:9092", help="HOST:PORT to listen on (default 127.0.0.1:9092)")
    return p


def run(args) -> int:
    from tickscope.transport.broker import BrokerError, start_broker, stop_process

    try:
        proc = start_broker(args.listen)
    except BrokerError as exc:
        print(f"tickscope broker: {exc}", file=sys.stderr)
        return 2
    print(f"tickscope broker: ready on {args.listen} (Tansu, memory storage; Ctrl-C stops it)", flush=True)

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop_process(proc)
        print("tickscope broker: stopped", flush=True)
        return 0
