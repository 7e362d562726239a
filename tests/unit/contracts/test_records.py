"""Wire records parse what earlier versions wrote."""

from __future__ import annotations

import json

T, F = 32, 6


def test_archive_records_without_quality_still_parse():
    from tickscope.contracts.records import ArchiveRecord

    old = dict(
        signal_id="a" * 32, symbol="EURUSD", ts=1, price=1.1, model_version="0" * 64, score=1.0, threshold=0.5,
        direction="long", feature_names=["f"], window=[[0.0]], attributions=[[0.5]], event_attributions=[0.5],
        segments=[[0, 1]], feature_attributions=[0.5], base_value=0.5, attention=[1.0], attention_shap_spearman=None,
        additivity_error=0.0, explainer={"method": "m", "params": {}, "seed": 1}, scored_at=1, produced_at=2,
    )
    rec = ArchiveRecord.from_json(json.dumps(old))
    assert rec.quality == {}




def test_a_model_without_attention_writes_null_attention():
    from tickscope.contracts.records import ArchiveRecord

    body = dict(
        signal_id="a" * 32, symbol="EURUSD", ts=1, price=1.1, model_version="0" * 64, score=1.0, threshold=0.5,
        direction="short", feature_names=["f"], window=[[0.0]], attributions=[[0.5]], event_attributions=[0.5],
        segments=[[0, 1]], feature_attributions=[0.5], base_value=0.5, attention=None, attention_shap_spearman=None,
        additivity_error=0.0, explainer={"method": "m", "params": {}, "seed": 1}, scored_at=1, produced_at=2,
    )
    rec = ArchiveRecord.from_json(json.dumps(body))
    assert rec.attention is None and json.loads(rec.to_json())["attention"] is None
    missing = {k: v for k, v in body.items() if k != "attention"}
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):  # null is stated, never left out
        ArchiveRecord.from_json(json.dumps(missing))
