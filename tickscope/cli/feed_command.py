"""``tickscope feed``: publish real market data (shipped in PyPI packages) as ticks."""

from __future__ import annotations

import sys

from tickscope.marketdata.sources import PACKAGED_SOURCES


def add_parser(sub):
    p = sub.add_parser("feed", help="publish real market data to the ticks topic")
    p.add_argument("--source", default="eurusd", help=f"{'|'.join(PACKAGED_SOURCES)} or PATH.csv (default eurusd)")
    p.add_argument("--symbol", default=None, help="symbol to publish under (default: the source name, upper case)")
    p.add_argument("--speed", type=float, default=0.0, help="ticks per second; 0 = as fast as possible (default 0)")
    p.add_argument("--limit", type=int, default=None, help="stop after this many ticks")
    p.add_argument("--loop", action="store_true", help="replay forever, shifting timestamps forward each pass")
    p.add_argument("--per-message", type=int, default=1, metavar="N",
                   help="ticks per message: above 1, each message is a JSON array of N ticks (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def run(args) -> int:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    from tqdm import tqdm

    from tickscope.marketdata.feed import publish
    from tickscope.marketdata.sources import SourceError, load_source
    from tickscope.settings import get_settings
    from tickscope.transport.topics import ensure_topics

    settings = get_settings()
    if args.per_message < 1:
        print("tickscope feed: --per-message must be at least 1", file=sys.stderr)
        return 2
    try:
        rows = load_source(args.source)
    except SourceError as exc:
        print(f"tickscope feed: {exc}", file=sys.stderr)
        return 2
    symbol = args.symbol or args.source.rsplit("/", 1)[-1].removesuffix(".csv").upper()
    try:
        ensure_topics(settings)
        producer = KafkaProducer(**settings.kafka_python_config(), acks="all", linger_ms=5)
    except (KafkaError, RuntimeError) as exc:
        print(f"tickscope feed: cannot reach Kafka at {settings.kafka_bootstrap}: {exc}", file=sys.stderr)
        return 2
    total = args.limit if args.loop else min(len(rows), args.limit or len(rows))
    with tqdm(total=total, unit="tick", desc=f"{symbol} <- {args.source}", disable=args.no_progress) as bar:
        sent = publish(producer, settings.topic_ticks, symbol, rows, args.speed, args.limit, args.loop, bar,
                       per_message=args.per_message)
    producer.close()
    print(f"tickscope feed: published {sent} ticks of {symbol} to {settings.topic_ticks}", flush=True)
    return 0
