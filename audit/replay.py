"""Re-create archived explanations and check them bit for bit, over every core.

``tickscope.streams.explain.explain_signal`` is the one place that turns a
Signal into an ArchiveRecord the way the worker's explain stage does (seed
from the signal id, the model's baseline, ``explain`` then ``archive_record``). ``recreate`` rebuilds the
Signal and the ExplainConfig from an archived record and calls it, so a change
to the explainer or the record builder is followed by replay automatically.

Replay shows, never runs, what the archive holds: a record is first validated
against its schema (``tickscope.audit.intake.check_record``) and its explainer
parameters against the allowlist (``tickscope.audit.replay_params``); a record
outside them is reported as not reproducible, with the reason, and never run.

What "reproduced" means: the RFC 8785 bytes of every field of the archived
record except the wall-clock ones (``produced_at``, ``scored_at``) equal those
of the re-created record. The score is checked separately, bit for bit too: the
detector archives the window scored alone (``tickscope.streams.score.score_one``).

Records are independent, so ``replay_records(..., jobs=N)`` spreads them over N
processes (spawned, one torch thread each, each with its own model cache); the
outcomes come back in log order.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from tickscope.audit.replay_params import NotReproducible, ReplayError, explain_config
from tickscope.audit.tick_replay import TickReplay, replay_ticks, tick_messages  # noqa: F401 - one import for the CLI
from tickscope.contracts.canonical import canonical_jcs, canonical_json
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.records import ARCHIVE_SCHEMA_VERSION, WALL_CLOCK_FIELDS, ArchiveRecord, Signal
from tickscope.explainer.baseline_shapley import METHOD, baseline_sha256
from tickscope.streams.explain import explain_signal


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
            except (ModelError, OSError, ValueError) as exc:
                self.failed[version] = ReplayError(f"model version {version} cannot be loaded: {exc}")
                raise self.failed[version] from exc
            baseline = model.baseline.numpy()
            self.loaded[version] = (model, baseline, baseline_sha256(baseline))
        return self.loaded[version]


def checked(obj: dict) -> dict:
    """The archived value if it is a record replay may run; ``ReplayError`` / ``NotReproducible`` otherwise."""
    from tickscope.audit.intake import check_record
    from tickscope.contracts.dead_letters import Rejected

    version = obj.get("schema_version", 0)
    if isinstance(version, int) and version > ARCHIVE_SCHEMA_VERSION:
        raise ReplayError(f"schema_version {version} is newer than this tickscope understands "
                          f"({ARCHIVE_SCHEMA_VERSION}); upgrade tickscope to replay it")
    try:
        check_record(obj)
    except Rejected as exc:
        raise NotReproducible(f"the record does not validate against its schema ({exc.reason}: {exc.detail})") from exc
    return obj


def recreate(obj: dict, models: ModelCache) -> ArchiveRecord:
    """Re-create one archived record from its window, model version and explainer parameters."""
    obj = checked(obj)
    explainer = obj["explainer"]
    if explainer["method"] != METHOD:
        raise NotReproducible(f"explainer method {explainer['method'][:40]!r} is not this tickscope's {METHOD!r}")
    config, recorded_hash = explain_config(explainer["params"], len(obj["window"]), len(obj["feature_names"]))
    model, baseline, baseline_hash = models.get(obj["model_version"])
    if recorded_hash != baseline_hash:
        raise ReplayError(f"the record's baseline_sha256 {recorded_hash} is not the baseline of model "
                          f"{obj['model_version'][:12]} ({baseline_hash})")
    if tuple(np.shape(baseline)) != (len(obj["window"]), len(obj["feature_names"])):
        raise NotReproducible(f"the window's shape is not model {obj['model_version'][:12]}'s input shape "
                              f"{tuple(np.shape(baseline))}")
    fields = {k: obj[k] for k in Signal.model_fields if k in obj and k != "schema_version"}
    signal = Signal.model_validate(fields)
    return explain_signal(signal, model.net, baseline, baseline_hash, config, produced_at=int(obj["produced_at"]))


def _same(a, b) -> bool:
    try:
        return canonical_jcs({"v": a}) == canonical_jcs({"v": b})
    except ValueError:  # a legacy record holding what RFC 8785 cannot write (NaN): compare its own form
        return canonical_json({"v": a}) == canonical_json({"v": b})


def differing_fields(archived: dict, recreated: ArchiveRecord) -> list[str]:
    """Fields (except wall-clock ones) whose canonical bytes differ; see the module docstring."""
    new = json.loads(recreated.to_json())
    out = []
    for k in sorted(archived):
        if k in WALL_CLOCK_FIELDS:
            continue
        if k not in new:
            out.append(f"{k} (not re-created)")
        elif not _same(archived[k], new[k]):
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
    status: str  # reproduced | different | not_reproducible | error
    details: list[str] = field(default_factory=list)
    score_delta: float | None = None
    recreated: ArchiveRecord | None = None

    @property
    def reproduced(self) -> bool:
        return self.status == "reproduced"


def _plain(value) -> str:
    """Text safe to print on a terminal: control characters of a hostile record shown escaped."""
    text = str(value)[:80]
    return text if text.isprintable() else text.encode("unicode_escape", "backslashreplace").decode("ascii")


def _outcome_for(seq: int, obj) -> Outcome:
    obj = obj if isinstance(obj, dict) else {}
    ts = obj.get("ts")
    return Outcome(seq, _plain(obj.get("signal_id")), _plain(obj.get("symbol")),
                   ts if isinstance(ts, int) and not isinstance(ts, bool) else 0, "reproduced")


def replay_one(seq: int, obj: dict, models: ModelCache, keep: bool = False) -> Outcome:
    out = _outcome_for(seq, obj)
    try:
        rec = recreate(obj, models)
        model = models.get(obj["model_version"])[0]
        out.score_delta, problems = score_check(obj, model)
        diffs = differing_fields(obj, rec)
    except NotReproducible as exc:
        out.status, out.details = "not_reproducible", [str(exc)]
        return out
    except ReplayError as exc:
        out.status, out.details = "error", [str(exc)]
        return out
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a record missing fields it needs
        out.status, out.details = "error", [f"record cannot be replayed: {type(exc).__name__}: {exc}"]
        return out
    if diffs or problems:
        out.status = "different"
        out.details = ([f"differs in: {', '.join(diffs)}"] if diffs else []) + problems
    if keep:
        out.recreated = rec
    return out


def replay_body(seq: int, body: bytes, models: ModelCache, keep: bool = False) -> Outcome:
    """Replay one stored body: decoded strictly (no duplicate keys, no NaN), then ``replay_one``."""
    from tickscope.audit.intake import decode_json
    from tickscope.contracts.dead_letters import Rejected

    try:
        obj = decode_json(body)
    except Rejected as exc:
        out = _outcome_for(seq, {})
        out.status, out.details = "not_reproducible", [f"the stored body is not one JSON record ({exc.reason}: "
                                                       f"{exc.detail})"]
        return out
    return replay_one(seq, obj, models, keep)


@dataclass
class ReplaySummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def reproduced(self) -> int:
        return sum(o.reproduced for o in self.outcomes)

    @property
    def errors(self) -> int:
        return sum(o.status in ("error", "not_reproducible") for o in self.outcomes)

    @property
    def not_reproducible(self) -> int:
        return sum(o.status == "not_reproducible" for o in self.outcomes)

    def line(self) -> str:
        rate = self.total / self.seconds if self.seconds > 0 else 0.0
        extra = f", {self.errors} could not be replayed" if self.errors else ""
        extra += f" ({self.not_reproducible} outside the replay allowlist)" if self.not_reproducible else ""
        return f"{self.reproduced}/{self.total} reproduced{extra} ({rate:.0f} records/s, {self.jobs} job(s))"


def replay_records(records: Iterable, total: int | None = None, progress: bool = True,
                   on_outcome: Callable[[Outcome], None] | None = None, keep: bool = False,
                   jobs: int = 1) -> ReplaySummary:
    """Replay StoredRecords (from ``Store.records``) in log order over ``jobs`` processes; the bar goes to stderr."""
    from tqdm import tqdm

    from tickscope.audit.replay_pool import replay_parallel

    records = list(records)
    jobs = max(1, min(jobs, len(records)))
    summary = ReplaySummary(jobs=jobs)
    started = time.perf_counter()
    with tqdm(total=total if total is not None else len(records), unit="rec", desc=f"replay x{jobs}",
              disable=not progress, leave=False) as bar:
        if jobs == 1:
            models = ModelCache()
            outcomes = (replay_body(rec.seq, rec.body, models, keep) for rec in records)
        else:
            outcomes = replay_parallel([(rec.seq, rec.body) for rec in records], jobs, keep,
                                       sorted({rec.model_version for rec in records})[:8])
        for outcome in outcomes:
            summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            bar.update(1)
    summary.seconds = time.perf_counter() - started
    return summary
