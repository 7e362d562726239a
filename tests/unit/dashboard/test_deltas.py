"""Deltas for lists the browser holds: a Patch for new items on top, the whole list otherwise."""

from __future__ import annotations

from dash import Patch

from tickscope.dashboard import deltas


def _apply(shown: list[str], value) -> list[str]:
    """What the browser's list becomes (a Patch's prepend and delete-at-index, as dash-renderer applies them)."""
    if not isinstance(value, Patch):
        return list(value)
    out = list(shown)
    for op in value.to_plotly_json()["operations"]:
        if op["operation"] == "Prepend":
            out = list(op["params"]["value"]) + out
        elif op["operation"] == "Delete":
            del out[op["location"][0]]
    return out


def test_new_items_on_top_go_as_a_patch_and_the_tail_is_trimmed():
    old = ["c", "b", "a"]
    value, ids = deltas.list_patch(old, ["e", "d", "c"], key=str)
    assert isinstance(value, Patch) and ids == ["e", "d", "c"]
    assert _apply(old, value) == ["e", "d", "c"]
    value, ids = deltas.list_patch(["b", "a"], ["c", "b", "a"], key=str)
    assert _apply(["b", "a"], value) == ["c", "b", "a"]


def test_anything_else_is_sent_whole_or_not_at_all():
    assert deltas.list_patch(["b", "a"], ["b", "a"], key=str) == (None, ["b", "a"])
    assert deltas.list_patch(None, ["a"], key=str) == (["a"], ["a"])  # the browser's list is unknown
    assert deltas.list_patch(["c", "a"], ["c", "b", "a"], key=str)[0] == ["c", "b", "a"]  # late item in the middle
    assert deltas.list_patch(["x"], ["b", "a"], key=str)[0] == ["b", "a"]
    assert deltas.list_patch(["a"], [], key=str) == ([], [])


def test_cap_note():
    assert deltas.cap_note(100, 100) == ""
    assert deltas.cap_note(20_000, 100_000) == "showing last 20,000 of 100,000 price points received"
