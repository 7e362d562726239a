"""``tickscope bench archive``: verify-only time against archive size, and replay-and-verify at 1 and N jobs.

Why: verify must stay linear in the number of records; replay is parallel over
cores (records are independent), and the figure to reach is N jobs >= 0.9 x N x
the one-job figure. The method is printed with the figures (METHOD); both replay
figures are measured side by side in one run.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

SIZES = (1000, 5000, 20000)
REPLAY_RECORDS = 200
TARGET_SPEEDUP_SHARE = 0.9
METHOD = (
    "verify-only: SQLite archives of N records (real explained EURUSD records, copied with shifted ts and matching "
    "signal ids, so bodies are full-size), appended 500 per transaction through the archiver's own intake (RFC 8785, "
    "schema checks) with one signed head each (the append is timed too: one archiver's write rate without Kafka); "
    "time.perf_counter around open(read-only) + verify_store with the "
    "pinned key and the archive's heads as witness (re-hash every record, log root after each, every head signature, "
    "stored consistency proof and witness head, an inclusion proof per record); best of 3. replay: R real records "
    "(real signals from the detector on packaged series, explained by the worker's path and archived), replayed in "
    "log order (schema check, allowlist, full re-explanation, score check, RFC 8785 comparison) with torch on one "
    "thread per job: at 1 job in this process, then at N jobs (N = the cores this process may use) in a pool of "
    "spawned processes started and warmed (model loaded, 2N records replayed) before the clock starts; all R must "
    "reproduce. replay-and-verify records/s = 1 / (1/replay + 1/verify-only at the largest size). Wall time on a "
    "shared machine: the figures are provisional."
)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _real_records(n: int):
    """n real archive records: packaged series through the worker's own detect and explain stages, offline."""
    import torch

    from tickscope.marketdata.sources import load_source
    from tickscope.models.registry import load
    from tickscope.streams.offline import detect, explain_all, tick_messages

    torch.set_num_threads(1)
    model = load()
    signals = []
    for name, sym in (("eurusd", "EURUSD"), ("goog", "GOOG"), ("sp500", "SP500"), ("nasdaq", "NASDAQ")):
        signals += detect(tick_messages(sym, load_source(name)), model).signals
        if len(signals) >= n:
            break
    return explain_all(signals[:n], model)


def _signer(data_dir: Path):
    from tickscope.audit.heads import KEY_FILE, load_signer

    return load_signer(None, data_dir / "keys" / KEY_FILE, archive_empty=True)


def _build(path: Path, values: list[dict], n: int, data_dir: Path, shift: bool = True) -> None:
    from tickscope.audit.archive_store import Incoming, open_store
    from tickscope.contracts.ids import signal_id_for

    signer = _signer(data_dir)
    store = open_store(path, read_only=False)
    store.register_key(signer, 1)
    batch = []
    for i in range(n):
        v = dict(values[i % len(values)])
        if shift:
            v["ts"] = v["ts"] + (i // len(values)) * 1000
            v["signal_id"] = signal_id_for(v["symbol"], v["ts"], v["model_version"])
        batch.append(Incoming(json.dumps(v).encode(), None, f"explanations/0@{i}"))
        if len(batch) == 500 or i == n - 1:
            store.append_batch(batch, {("explanations", 0): i + 1}, signer, 1_700_000_000_000 + i)
            batch = []
    store.close()


def _verify_seconds(path: Path, key: bytes) -> tuple[float, object]:
    from tickscope.audit.archive_store import open_store
    from tickscope.audit.verify import verify_store
    from tickscope.audit.witness import WitnessRead

    best, res = None, None
    for _ in range(3):
        t0 = time.perf_counter()
        with open_store(path, read_only=True) as store:
            res = verify_store(store, key, witness=WitnessRead(heads=store.heads(), source="archive"))
        dt = time.perf_counter() - t0
        assert res.ok, res.problems[:3]
        best = dt if best is None else min(best, dt)
    return best, res


def _replay_rates(records: list, jobs: int) -> dict:
    from tickscope.audit.replay import ModelCache, replay_body
    from tickscope.audit.replay_pool import WarmPool

    items = [(r.seq, r.body) for r in records]
    models = ModelCache()
    replay_body(items[0][0], items[0][1], models)  # warm-up: model load
    t0 = time.perf_counter()
    one = [replay_body(seq, body, models) for seq, body in items]
    t1 = time.perf_counter() - t0
    pool = WarmPool(jobs, sorted({r.model_version for r in records}))
    try:
        pool.replay(items[: 2 * jobs])  # every process started and its model loaded
        t0 = time.perf_counter()
        many = pool.replay(items)
        tn = time.perf_counter() - t0
    finally:
        pool.close()
    return {"records": len(items), "jobs": jobs, "reproduced_1": sum(o.reproduced for o in one),
            "reproduced_n": sum(o.reproduced for o in many), "seconds_1": t1, "seconds_n": tn,
            "records_per_s_1": len(items) / t1, "records_per_s_n": len(items) / tn,
            "same_outcomes": [o.status for o in one] == [o.status for o in many]}


def bench_archive(sizes=SIZES, replay_n: int = REPLAY_RECORDS, jobs: int | None = None) -> dict:
    from tickscope.audit.archive_store import open_store

    jobs = jobs or cores()
    templates = [json.loads(t.to_json()) for t in _real_records(max(replay_n, 20))]
    out: dict = {"verify": {}, "method": METHOD}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        key = _signer(tmpdir).public_raw
        for n in sizes:
            path = tmpdir / f"a{n}.sqlite"
            t0 = time.perf_counter()
            _build(path, templates, n, tmpdir)
            append_s = time.perf_counter() - t0
            best, res = _verify_seconds(path, key)
            out["verify"][str(n)] = {"append_records_per_s": n / append_s, "seconds": best,
                                     "records_per_s": n / best, "us_per_record": best / n * 1e6,
                                     "heads": res.heads, "bytes": path.stat().st_size}
        replay_path = tmpdir / "replay.sqlite"
        _build(replay_path, templates[:replay_n], min(replay_n, len(templates)), tmpdir, shift=False)
        with open_store(replay_path, read_only=True) as store:
            records = list(store.records())
        out["replay"] = _replay_rates(records, jobs)
    v, r = out["verify"], out["replay"]
    largest = v[str(sizes[-1])]["records_per_s"]
    out["verify_records_per_s_at_largest"] = largest
    out["verify_linearity"] = v[str(sizes[-1])]["us_per_record"] / v[str(sizes[0])]["us_per_record"]
    out["replay_and_verify_records_per_s_1"] = 1 / (1 / r["records_per_s_1"] + 1 / largest)
    out["replay_and_verify_records_per_s_n"] = 1 / (1 / r["records_per_s_n"] + 1 / largest)
    out["speedup"] = r["records_per_s_n"] / r["records_per_s_1"]
    out["target_speedup"] = TARGET_SPEEDUP_SHARE * r["jobs"]
    return out


def render(r: dict) -> str:
    lines = ["verify-only (whole archive, one core, witness and every proof):"]
    for n, m in r["verify"].items():
        lines.append(f"  {int(n):>6} records: {m['seconds']:.3f} s  ({m['records_per_s']:,.0f} records/s, "
                     f"{m['us_per_record']:.0f} us/record, {m['heads']} heads, {m['bytes'] / 1e6:.1f} MB)")
    lines.append(f"  us/record at the largest size / at the smallest: {r['verify_linearity']:.2f} (1.0 = linear)")
    appends = ", ".join(f"{int(n):,}: {m['append_records_per_s']:,.0f}" for n, m in r["verify"].items())
    lines.append(f"append through the archiver's intake (what one archiver can write, Kafka aside), records/s: "
                 f"{appends}")
    p = r["replay"]
    lines.append(f"replay (full re-explanation), {p['records']} records, side by side:")
    lines.append(f"  1 job : {p['records_per_s_1']:7.1f} records/s replay, "
                 f"{r['replay_and_verify_records_per_s_1']:7.1f} replay-and-verify "
                 f"({p['reproduced_1']}/{p['records']} reproduced)")
    lines.append(f"  {p['jobs']} jobs: {p['records_per_s_n']:7.1f} records/s replay, "
                 f"{r['replay_and_verify_records_per_s_n']:7.1f} replay-and-verify ({p['reproduced_n']}/{p['records']} "
                 f"reproduced; same outcomes as 1 job: {p['same_outcomes']})")
    verdict = "meets" if r["speedup"] >= r["target_speedup"] else "MISSES"
    lines.append(f"  speed-up {r['speedup']:.2f}x at {p['jobs']} jobs; target >= {r['target_speedup']:.2f}x "
                 f"(0.9 x N): {verdict}")
    lines.append("method: " + r["method"])
    return "\n".join(lines)


def run_cli(args) -> int:
    r = bench_archive()
    print(json.dumps(r, indent=2) if getattr(args, "json", False) else render(r))
    return 0
