"""Deltas for lists the browser already holds: send the new head, drop the tail, never the whole list again.

``list_patch(shown, items, key)`` compares the ids the browser shows with the
list it should show (newest first, capped) and returns a ``dash.Patch`` that
prepends the new items and deletes the ones that fell off the end, when the
new list is exactly "some new items on top of the old head". Anything else (an
older item arriving late and sorting into the middle, a reload) is sent whole.
A Patch's negative index is resolved in the browser against the current list,
so ``del patch[-1]`` removes the last row whatever its length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dash import Patch


def list_patch(shown: Sequence[str] | None, items: list, key: Callable[[object], str]):
    """(value for the list prop, ids now shown): a Patch when it is a pure prepend-and-trim, else ``items``.

    ``shown`` is None when the browser's list is unknown (always sent whole). Returns (None, ids) when
    nothing changed.
    """
    ids = [key(i) for i in items]
    if shown is not None and ids == list(shown):
        return None, ids
    if not shown or not ids:
        return list(items), ids
    old = list(shown)
    try:
        head = ids.index(old[0])
    except ValueError:
        return list(items), ids
    kept = len(ids) - head
    if head == 0 or ids[head:] != old[:kept]:
        return list(items), ids
    patch = Patch()
    for item in reversed(items[:head]):  # prepend oldest first: the newest ends on top
        patch.prepend(item)
    for _ in range(len(old) - kept):
        del patch[-1]
    return patch, ids


def cap_note(shown: int, received: int) -> str:
    """'showing last N of M points received' when the chart holds fewer than arrived, else ''."""
    if received <= shown:
        return ""
    return f"showing last {shown:,} of {received:,} price points received"
