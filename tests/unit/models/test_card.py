"""Model cards: the shipped ones are what the renderer makes of their artifacts, and they say what is there."""

from __future__ import annotations

import copy

import pytest

from tests.support.models import first_version, tcn_version
from tickscope.models import card, registry


def _shipped_with_cards():
    return [(v, p) for v, p in registry.list_versions()
            if p.parent == registry.PACKAGE_DIR and (card.CARDS_DIR / f"{v}.md").exists()]


def test_every_shipped_card_is_the_render_of_its_artifact():
    shipped = _shipped_with_cards()
    assert len(shipped) >= 3
    for version, path in shipped:
        assert (card.CARDS_DIR / f"{version}.md").read_text() == card.render(version, registry.read_meta(path))


def test_the_first_models_card_keeps_its_own_form():
    text = card.render(first_version(), registry.read_meta(registry.artifact_path(first_version())))
    assert "significance threshold: |score| >" in text and "## What is there" not in text


@pytest.fixture(scope="module")
def default_meta():
    return registry.read_meta(registry.artifact_path(registry.default_version()))


def test_the_reading_follows_the_intervals(default_meta):
    text = "\n".join(card.reading(default_meta))
    pooled = default_meta["skill"]["vs_best"]["pooled"]["ic"]["ci95"]
    assert pooled[0] > 0 and "IC (Spearman) +0.115" in text and ": better" in text
    assert "No skill on goog" in text and "its intervals include 0" in text
    assert "Both sides fire through the gate on every source's test split." in text
    meta = copy.deepcopy(default_meta)
    meta["skill"]["vs_best"]["pooled"]["ic"]["ci95"] = [-0.01, 0.2]
    meta["signals"]["sp500"]["both_sides_fire"] = False
    text = "\n".join(card.reading(meta))
    assert "IC (Spearman) +0.115 [-0.010, +0.200]: includes 0" in text and "Not both sides on: sp500" in text


def test_a_model_without_attention_says_so():
    text = card.render(tcn_version(), registry.read_meta(registry.artifact_path(tcn_version())))
    assert "attention: no" in text and "This model has no attention" in text
