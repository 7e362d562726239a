"""Deterministic ids: the same input gives the same id, different inputs different ids."""

from __future__ import annotations

from tickscope.contracts.ids import seed_for, signal_id_for


def test_signal_id_is_deterministic_and_distinct():
    a = signal_id_for("EURUSD", 1, "v" * 64)
    assert a == signal_id_for("EURUSD", 1, "v" * 64)
    assert len({a, signal_id_for("EURUSD", 2, "v" * 64), signal_id_for("GBPUSD", 1, "v" * 64),
                signal_id_for("EURUSD", 1, "w" * 64)}) == 4
    assert seed_for(a) == seed_for(a) and 0 < seed_for(a) < 2**32


