"""What crosses a process boundary: wire records, deterministic ids, canonical bytes, times, dead letters.

The lowest layer: nothing here imports another tickscope package except
``tickscope.settings``'s siblings, so every stage, the archive and the
dashboard agree on one definition of each contract (docs/contracts.md).
"""
