"""Records archived by the code before the volatility model shipped still replay bit for bit.

``tests/support/data/first_model_records.jsonl``: four archive records of the first model (4af871cc...) on the
real EURUSD series, written by tickscope at commit 5d6332a (before the model spec, two-sided thresholds and
attention-optional explanations). The current code must re-create every field but the wall-clock ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.models import first_version
from tickscope.audit.replay import ModelCache, replay_one

RECORDS = Path(__file__).resolve().parents[2] / "support" / "data" / "first_model_records.jsonl"


def test_records_written_before_this_code_replay_bit_for_bit():
    records = [json.loads(line) for line in RECORDS.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4 and {r["model_version"] for r in records} == {first_version()}
    cache = ModelCache()
    outcomes = [replay_one(i, r, cache, keep=True) for i, r in enumerate(records)]
    assert [o.status for o in outcomes] == ["reproduced"] * 4, [o.details for o in outcomes]
    assert all(o.score_delta == 0.0 for o in outcomes)
    tampered = dict(records[0], threshold=-records[0]["threshold"])  # the side check sees a wrong threshold
    assert replay_one(9, tampered, cache).status == "different"
