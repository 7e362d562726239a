"""Re-create archived explanations and check them bit for bit.

``tickscope.streams.explain.explain_signal`` is the one place that turns a
Signal into an ArchiveRecord the way the worker's explain stage does (seed
from the signal id, the model's baseline, ``explain`` then ``archive_record``). ``recreate`` rebuilds the
Signal and the ExplainConfig from an archived record and calls it, so a change
to the explainer or the record builder is followed by replay automatically.

What "reproduced" means: the canonical JSON of every field of the archived
record except the wall-clock ones (``produced_at``, ``scored_at``) equals that
of the re-created record, bit for bit. Fields the archived record does not have
(optional fields added by a later version) are not compared; a field it has
that the re-created record lacks is a difference.

The score is checked separately, bit for bit too: the detector gates on and
archives the window scored alone (``tickscope.streams.score.score_one``), never a
micro-batch score, so recomputing it from the archived window gives the same
float. The explanation is computed with one fixed batch shape per record, so
it is bit-exact as well.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from tickscope.contracts.canonical import canonical_json
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.records import ARCHIVE_SCHEMA_VERSION, WALL_CLOCK_FIELDS, ArchiveRecord, Signal
from tickscope.explainer.baseline_shapley import METHOD, ExplainConfig, baseline_sha256
from tickscope.streams.explain import explain_signal


class ReplayError(Exception):
    """A record that cannot be replayed at all; the message names it and says why."""


@dataclass
class ModelCache:
    """Model versions loaded by hash, once each, with their baseline and its hash."""

    loaded: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)

    def get(self, version: str):
        if version in self.failed:
            raise self.failed[version]
        if version not in self.loaded:
            from tickscope.models.registry import ModelError, load

            try:
                model = load(version)
            except ModelError as exc:
                self.failed[version] = ReplayError(f"model version {version} cannot be loaded: {exc}")
                raise self.failed[version] from exc
            baseline = model.baseline.numpy()
            self.loaded[version] = (model, baseline, baseline_sha256(baseline))
        return self.loaded[version]


def explain_config(params: dict) -> tuple[ExplainConfig, str]:
    """ExplainConfig and baseline hash from a record's explainer.params."""
    params = dict(params)
    baseline_hash = params.pop("baseline_sha256", None)
    try:
        return ExplainConfig(**params), baseline_hash
    except TypeError as exc:
        raise ReplayError(f"explainer params {sorted(params)} are not understood by this tickscope's "
                          f"ExplainConfig ({exc}); replay with the tickscope version that wrote the record") from exc


def recreate(obj: dict, models: ModelCache) -> ArchiveRecord:
    """Re-create one archived record from its window, model version and explainer parameters."""
    if int(obj.get("schema_version", 0)) > ARCHIVE_SCHEMA_VERSION:
        raise ReplayError(f"schema_version {obj['schema_version']} is newer than this tickscope understands "
                          f"({ARCHIVE_SCHEMA_VERSION}); upgrade tickscope to replay it")
    model, baseline, baseline_hash = models.get(obj["model_version"])
    explainer = obj.get("explainer") or {}
    if explainer.get("method") != METHOD:
        raise ReplayError(f"explainer method {explainer.get('method')!r} is not this tickscope's {METHOD!r}")
    config, recorded_hash = explain_config(explainer.get("params") or {})
    if recorded_hash != baseline_hash:
        raise ReplayError(f"the record's baseline_sha256 {recorded_hash} is not the baseline of model "
                          f"{obj['model_version'][:12]} ({baseline_hash})")
    fields = {k: obj[k] for k in Signal.model_fields if k in obj and k != "schema_version"}
    signal = Signal.model_validate(fields)
    return explain_signal(signal, model.net, baseline, baseline_hash, config, produced_at=int(obj["produced_at"]))


def differing_fields(archived: dict, recreated: ArchiveRecord) -> list[str]:
    """Fields (except wall-clock ones) whose canonical JSON differs; see the module docstring."""
    new = json.loads(recreated.to_json())
    out = []
    for k in sorted(archived):
        if k in WALL_CLOCK_FIELDS:
            continue
        if k not in new:
            out.append(f"{k} (not re-created)")
        elif canonical_json({"v": archived[k]}) != canonical_json({"v": new[k]}):
            out.append(k)
    return out


def score_check(obj: dict, model) -> tuple[float, list[str]]:
    """Recompute the score from the archived window; (|delta|, problems)."""
    import torch

    from tickscope.streams.gate import significance
    from tickscope.streams.score import score_one

    torch.set_num_threads(1)
    value = score_one(model.net, np.asarray(obj["window"], dtype=np.float32))
    archived = float(obj["score"])
    delta = abs(value - archived)
    problems = []
    if value != archived:
        problems.append(f"score {value!r} recomputed from the window, archived {archived!r}")
    side = model.signal_threshold(obj["direction"])  # the side a signal crossed (one threshold for old models)
    if float(obj["threshold"]) != side:
        problems.append(f"threshold {obj['threshold']} is not model {model.version[:12]}'s {side} "
                        f"for a {obj['direction']} signal")
    direction = significance(value, model.thresholds, 0)
    if direction is None:
        problems.append(f"recomputed score {value:.6g} does not pass the thresholds {model.thresholds}")
    elif obj["direction"] != direction:
        problems.append(f"direction {obj['direction']} disagrees with the recomputed score {value:.6g}")
    if signal_id_for(obj["symbol"], obj["ts"], obj["model_version"]) != obj["signal_id"]:
        problems.append("signal_id is not sha256(symbol|ts|model_version)")
    return delta, problems


@dataclass
class Outcome:
    seq: int
    signal_id: str
    symbol: str
    ts: int
    status: str  # reproduced | different | error
    details: list[str] = field(default_factory=list)
    score_delta: float | None = None
    recreated: ArchiveRecord | None = None

    @property
    def reproduced(self) -> bool:
        return self.status == "reproduced"


def replay_one(seq: int, obj: dict, models: ModelCache, keep: bool = False) -> Outcome:
    out = Outcome(seq, str(obj.get("signal_id")), str(obj.get("symbol")), int(obj.get("ts", 0)), "reproduced")
    try:
        rec = recreate(obj, models)
        model = models.get(obj["model_version"])[0]
        out.score_delta, problems = score_check(obj, model)
        diffs = differing_fields(obj, rec)
    except ReplayError as exc:
        out.status, out.details = "error", [str(exc)]
        return out
    except (KeyError, TypeError, ValueError) as exc:  # a record missing fields it needs
        out.status, out.details = "error", [f"record cannot be replayed: {type(exc).__name__}: {exc}"]
        return out
    if diffs or problems:
        out.status = "different"
        out.details = ([f"differs in: {', '.join(diffs)}"] if diffs else []) + problems
    if keep:
        out.recreated = rec
    return out


@dataclass
class ReplaySummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def reproduced(self) -> int:
        return sum(o.reproduced for o in self.outcomes)

    @property
    def errors(self) -> int:
        return sum(o.status == "error" for o in self.outcomes)

    def line(self) -> str:
        rate = self.total / self.seconds if self.seconds > 0 else 0.0
        extra = f", {self.errors} could not be replayed" if self.errors else ""
        return f"{self.reproduced}/{self.total} reproduced{extra} ({rate:.0f} records/s)"


def replay_records(records: Iterable, total: int | None = None, progress: bool = True,
                   on_outcome: Callable[[Outcome], None] | None = None, keep: bool = False) -> ReplaySummary:
    """Replay StoredRecords (from ``Store.records``); the bar goes to stderr."""
    from tqdm import tqdm

    models = ModelCache()
    summary = ReplaySummary()
    started = time.perf_counter()
    with tqdm(total=total, unit="rec", desc="replay", disable=not progress, leave=False) as bar:
        for rec in records:
            obj = json.loads(rec.body)
            outcome = replay_one(rec.seq, obj, models, keep)
            summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            bar.update(1)
    summary.seconds = time.perf_counter() - started
    return summary


# ---- replay from raw ticks -------------------------------------------------------------------------------------

def tick_messages(path: Path, symbol: str | None) -> list:
    """Messages for SignalDetector from a JSON-lines file of tick values or a CSV (with ``symbol``)."""
    from tickscope.marketdata.feed import tick_json
    from tickscope.marketdata.sources import SourceError, read_csv
    from tickscope.streams.detect import Message

    path = Path(path)
    if not path.exists():
        raise ReplayError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        if not symbol:
            raise ReplayError(f"{path}: a CSV has no symbol column; pass --symbol")
        try:
            rows = read_csv(path)
        except SourceError as exc:
            raise ReplayError(str(exc)) from exc
        return [Message(symbol.encode(), tick_json(symbol, r), 0, i)
                for i, r in enumerate(rows, start=2)]  # offsets are CSV line numbers
    messages = []
    with path.open("rb") as fh:
        for i, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            if symbol:
                try:
                    if json.loads(line).get("symbol") != symbol:
                        continue
                except (ValueError, AttributeError):
                    pass  # let ingest name the bad line
            messages.append(Message(None, line, 0, i))
    return messages


@dataclass
class TickReplay:
    signals: list
    dead_letters: list
    accepted: int
    model_version: str
    compared_ids: set  # archive signals in the same symbols, time span and model version

    @property
    def fired_ids(self) -> set:
        return {s.signal_id for s in self.signals}

    @property
    def matches(self) -> bool:
        return self.fired_ids == self.compared_ids


def replay_ticks(messages: list, model, cooldown: int, max_message_bytes: int, batch_size: int,
                 store=None, source: str = "ticks") -> TickReplay:
    """Run the detection path offline over ``messages`` and compare the fired ids with the archive."""
    import torch

    from tickscope.contracts.times import now_ms
    from tickscope.streams.offline import detect

    torch.set_num_threads(1)
    detected = detect(messages, model, cooldown, max_message_bytes, batch_size, now_ms(), topic=source)
    compared = set()
    if store is not None:
        first_ts = _first_ts(messages)
        for sym, last_ts in detected.last_ts.items():
            for rec in store.records(symbol=sym, ts_from=first_ts.get(sym), ts_to=last_ts,
                                     model_version=model.version):
                compared.add(rec.signal_id)
    return TickReplay(detected.signals, detected.dead_letters, detected.accepted, model.version, compared)


def _first_ts(messages: list) -> dict:
    first: dict = {}
    for m in messages:
        try:
            obj = json.loads(m.value)
            ts = obj["ts"]
            if isinstance(ts, int):
                first.setdefault(obj["symbol"], ts)
                first[obj["symbol"]] = min(first[obj["symbol"]], ts)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return first
