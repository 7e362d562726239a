"""``tickscope replay``: re-create archived explanations bit for bit, or re-run detection from raw ticks."""

from __future__ import annotations

import sys
from pathlib import Path

from tickscope.contracts.times import parse_time_ms


def add_parser(sub):
    p = sub.add_parser("replay", help="re-create archived explanations from window + model + seed and compare")
    add_filters(p)
    p.add_argument("--report", type=Path, default=None, metavar="OUT.html",
                   help="write a self-contained offline HTML report of the replayed records")
    p.add_argument("--ticks", type=Path, default=None, metavar="FILE",
                   help="instead: re-run detection over raw ticks (JSON lines of tick values, or a CSV with --symbol) "
                        "and compare the fired signal ids with the archive")
    p.add_argument("--model-version", default=None, help="model for --ticks (default: TICKSCOPE_MODEL_VERSION or the "
                                                          "shipped default)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="replay over N processes (default: every core this process may use)")
    p.add_argument("--quiet", action="store_true", help="print only differences and the summary line")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def add_filters(p) -> None:
    p.add_argument("--archive", default=None, help="SQLite path or postgresql:// URL (default: as the archiver)")
    p.add_argument("--symbol", default=None, help="only this symbol")
    p.add_argument("--from", dest="ts_from", default=None, metavar="T1",
                   help="from this tick time: epoch ms or ISO-8601 (naive = UTC)")
    p.add_argument("--to", dest="ts_to", default=None, metavar="T2", help="up to this tick time, inclusive")
    p.add_argument("--signal-id", default=None, help="only this signal")


parse_time = parse_time_ms  # epoch ms or ISO-8601 (no offset = UTC); None if empty


def filters(args) -> dict:
    return {"symbol": args.symbol, "ts_from": parse_time(args.ts_from), "ts_to": parse_time(args.ts_to),
            "signal_id": args.signal_id}


def run(args) -> int:
    from tickscope.audit.archive_store import ArchiveError, open_store
    from tickscope.settings import get_settings

    settings = get_settings()
    target = args.archive or settings.archive_target()
    try:
        flt = filters(args)
    except ValueError as exc:
        print(f"tickscope replay: {exc}", file=sys.stderr)
        return 2
    if args.ticks is not None:
        return _run_ticks(args, settings, target)
    try:
        store = open_store(target, read_only=True)
    except ArchiveError as exc:
        print(f"tickscope replay: {exc}", file=sys.stderr)
        return 2
    try:
        return _run_archive(args, store, flt)
    except ArchiveError as exc:
        print(f"tickscope replay: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tickscope replay: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _run_archive(args, store, flt) -> int:
    from tqdm import tqdm

    from tickscope.audit.merkle import leaf_hash
    from tickscope.audit.replay import replay_records
    from tickscope.audit.report import write_report

    try:
        records = list(store.records(**flt))
    except Exception as exc:  # noqa: BLE001 - a damaged archive file fails here; name it, no traceback
        print(f"tickscope replay: {store.where} cannot be read: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if not records:
        print(f"tickscope replay: no archived records match in {store.where}", file=sys.stderr)
        return 1
    for rec in records:  # replay what the log holds: a record that no longer hashes to its leaf is not replayed
        if leaf_hash(rec.body) != rec.leaf_hash:
            print(f"tickscope replay: record seq {rec.seq} (signal {rec.signal_id}) in {store.where} does not match "
                  "its leaf hash; run tickscope verify", file=sys.stderr)
            return 2
    errors_seen: set = set()

    def show(o):
        if o.status in ("error", "not_reproducible"):
            msg = f"record seq {o.seq} (signal {o.signal_id}): {o.details[0]}"
            key = o.details[0]
            if key not in errors_seen:
                errors_seen.add(key)
                tqdm.write(f"tickscope replay: cannot replay {msg}", file=sys.stderr)
        if o.status != "reproduced" or not args.quiet:
            extra = f" ({'; '.join(o.details)})" if o.details and o.status != "reproduced" else ""
            delta = f" score_delta={o.score_delta:.2e}" if o.score_delta is not None else ""
            tqdm.write(f"{o.status:10s} seq {o.seq} {o.signal_id} {o.symbol} {o.ts}{delta}{extra}")

    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        print("tickscope replay: --jobs must be at least 1", file=sys.stderr)
        return 2
    summary = replay_records(records, total=len(records), progress=not args.no_progress, on_outcome=show, jobs=jobs)
    print(summary.line(), flush=True)
    if args.report is not None:
        outcomes = {o.seq: o for o in summary.outcomes}
        n = write_report(args.report, store, records, outcomes, summary.line(), "tickscope replay report")
        print(f"report: {args.report} ({n} signals)")
    if summary.errors:
        return 2
    return 0 if summary.reproduced == summary.total else 1


def default_jobs() -> int:
    """Every core this process may run on."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run_ticks(args, settings, target) -> int:
    from tickscope.audit.archive_store import ArchiveError, open_store
    from tickscope.audit.replay import ReplayError, replay_ticks, tick_messages
    from tickscope.models.registry import ModelError, load

    try:
        messages = tick_messages(args.ticks, args.symbol)
        model = load(args.model_version or settings.model_version)
    except (ReplayError, ModelError) as exc:
        print(f"tickscope replay: {exc}", file=sys.stderr)
        return 2
    store = None
    try:
        store = open_store(target, read_only=True)
    except ArchiveError as exc:
        print(f"tickscope replay: no archive to compare with ({exc}); showing fired signals only", file=sys.stderr)
    try:
        result = replay_ticks(messages, model, settings.signal_cooldown_ticks, settings.max_message_bytes,
                              settings.batch_size, store, source=f"file:{args.ticks.name}")
    finally:
        if store is not None:
            store.close()
    for s in result.signals:
        mark = "" if store is None else ("  archived" if s.signal_id in result.compared_ids else "  NOT IN ARCHIVE")
        print(f"signal {s.signal_id} {s.symbol} {s.ts} {s.direction} score={s.score:.4f}{mark}")
    missing = sorted(result.compared_ids - result.fired_ids)
    for sid in missing:
        print(f"archived {sid} did not fire in this replay")
    print(f"{len(messages)} ticks ({result.accepted} accepted, {len(result.dead_letters)} rejected), "
          f"model {model.version[:12]}: {len(result.signals)} signals fired", end="")
    if store is None:
        print()
        return 0
    same = len(result.fired_ids & result.compared_ids)
    print(f"; archive has {len(result.compared_ids)} in the same symbols, span and model; {same} match")
    if result.dead_letters:
        first = result.dead_letters[0]
        print(f"first rejected tick: line {first.source_offset}: {first.reason}: {first.detail}", file=sys.stderr)
    return 0 if result.matches else 1
