"""Every symbol's recent ticks and feature rows, held as arrays so a whole batch updates them at once.

Per symbol (one row of each array): the last ``history`` prices and sizes (NaN =
no size), the last ``window_t`` feature rows, the ts of the last accepted tick,
the offset of the last applied message in its ticks partition, the ticks of
cooldown left, and that partition. A symbol's row is found through ``index``.

Bounded memory: at most ``capacity`` symbols are kept. A new symbol beyond it
takes the row of the least recently seen one, which is evicted (counted, and
reported by ``take_evicted`` so the detect stage can write its tombstone to
the changelog and a restart does not bring it back). An evicted symbol that
returns starts afresh, as a symbol never seen.

The changelog form of a symbol (``state_of`` / ``load``) is the dict
``{"last_ts", "prices", "sizes", "cooldown"}`` (sizes null where unknown);
feature rows are recomputed from the prices when loaded, with the same
function that computed them, so they are bit-identical.

Sizes follow the model served (its spec, models.spec): ``window_t`` rows of
the feature function ``features`` (``rows``, ``row_span``, ``feature_names``),
so ``history = window_t + row_span - 1`` prices; the defaults are the shipped
models' (T = 32 rows of ``tickscope.features.window``, 64 prices).
"""

from __future__ import annotations

import numpy as np

from tickscope.features.window import FEATURE_NAMES, ROW_SPAN, WINDOW_T, rows_from_price_windows

NO_TS = np.iinfo(np.int64).min  # last_ts of a symbol with no accepted tick yet
GROW = 1024  # rows added at a time, up to the capacity


class SymbolWindows:
    """Array-backed per-symbol state with least-recently-seen eviction beyond ``capacity`` symbols."""

    def __init__(self, capacity: int, features=None, window_t: int = WINDOW_T):
        if capacity < 1:
            raise ValueError("capacity must be at least 1 symbol")
        self.capacity = capacity
        self.rows_fn = features.rows if features is not None else rows_from_price_windows
        self.row_span = features.row_span if features is not None else ROW_SPAN
        self.n_features = len(features.feature_names) if features is not None else len(FEATURE_NAMES)
        self.window_t = window_t
        self.history = window_t + self.row_span - 1
        self.index: dict[str, int] = {}
        self.names: list[str | None] = []
        self.seen = np.zeros(0, dtype=np.int64)  # batch counter at which each row was last seen
        self.clock = 0
        self.evictions = 0
        self._evicted: list[tuple[str, int, int]] = []  # (symbol, partition, applied offset) awaiting a tombstone
        self._free: list[int] = []
        self._alloc(0)

    # ---- rows ----------------------------------------------------------------------------------------
    def _alloc(self, n: int) -> None:
        old = len(self.names)
        f = self.n_features

        def grow(name, fill, tail=(), dtype=np.float64):
            a = np.full((n, *tail), fill, dtype=dtype)
            if old:
                a[:old] = getattr(self, name)
            setattr(self, name, a)

        grow("prices", np.nan, (self.history,))
        grow("sizes", np.nan, (self.history,))
        grow("n_prices", 0, (), np.int64)
        grow("rows", 0, (self.window_t, f), np.float32)
        grow("n_rows", 0, (), np.int64)
        grow("last_ts", NO_TS, (), np.int64)
        grow("applied", -1, (), np.int64)
        grow("cooldown", 0, (), np.int64)
        grow("partition", -1, (), np.int64)
        seen = np.zeros(n, dtype=np.int64)
        seen[:old] = self.seen[:old]
        self.seen = seen
        self.names.extend([None] * (n - old))
        self._free.extend(range(n - 1, old - 1, -1))

    def _reset(self, rows) -> None:
        self.prices[rows] = np.nan
        self.sizes[rows] = np.nan
        self.n_prices[rows] = 0
        self.rows[rows] = 0
        self.n_rows[rows] = 0
        self.last_ts[rows] = NO_TS
        self.applied[rows] = -1
        self.cooldown[rows] = 0
        self.partition[rows] = -1

    def rows_of(self, symbols: list[str]) -> np.ndarray:
        """The row of each symbol (a batch's symbols, repeats allowed), adding the new ones; when the
        capacity is reached, the least recently seen symbols not in this batch are evicted to make room."""
        self.clock += 1
        rows = [self.index.get(s, -1) for s in symbols]
        new = list(dict.fromkeys(s for s, r in zip(symbols, rows) if r < 0))
        if new:
            known = np.asarray([r for r in rows if r >= 0], dtype=np.int64)
            self._make_room(len(new), known)
            for s in new:
                r = self._free.pop()
                self._reset([r])
                self.index[s] = r
                self.names[r] = s
            rows = [self.index[s] for s in symbols]
        out = np.asarray(rows, dtype=np.int64)
        self.seen[out] = self.clock
        return out

    def _make_room(self, needed: int, in_batch: np.ndarray) -> None:
        if len(new_free := self._free) >= needed:
            return
        grow_to = min(self.capacity, max(len(self.names) + GROW, len(self.names) + needed - len(new_free)))
        if grow_to > len(self.names):
            self._alloc(grow_to)
        short = needed - len(self._free)
        if short <= 0:
            return
        seen = self.seen.copy()
        seen[in_batch] = np.iinfo(np.int64).max  # never evict a symbol of the batch at hand
        seen[[i for i, n in enumerate(self.names) if n is None]] = np.iinfo(np.int64).max
        if short > len(self.index) - len(np.unique(in_batch)):
            raise ValueError(f"a batch of more than {self.capacity} distinct symbols: raise TICKSCOPE_MAX_SYMBOLS")
        victims = np.argpartition(seen, short - 1)[:short]
        for v in victims.tolist():
            self._evicted.append((self.names[v], int(self.partition[v]), int(self.applied[v])))
        self.forget(victims)
        self.evictions += short

    def forget(self, rows) -> None:
        """Drop these rows' symbols (eviction, a revoked partition, before a reload)."""
        for r in rows:
            r = int(r)
            name = self.names[r]
            if name is not None:
                del self.index[name]
                self.names[r] = None
                self._free.append(r)
        self._reset(list(rows))

    def forget_partition(self, partition: int) -> None:
        self.forget(np.flatnonzero(self.partition == partition))

    def take_evicted(self) -> list[tuple[str, int, int]]:
        """(symbol, partition, applied offset) of every symbol evicted since the last call."""
        out, self._evicted = self._evicted, []
        return out

    def __len__(self) -> int:
        return len(self.index)

    # ---- changelog form ------------------------------------------------------------------------------------
    def state_of(self, symbol: str) -> tuple[int, int, dict]:
        """(partition, applied offset, changelog state) of one symbol."""
        r = self.index[symbol]
        k, h = int(self.n_prices[r]), self.history
        sizes = self.sizes[r, h - k:]
        if not np.isfinite(self.prices[r, h - k:]).all() or np.isinf(sizes).any():  # NaN size = missing
            raise ValueError(f"window of {symbol!r} holds a non-finite price or size")
        return int(self.partition[r]), int(self.applied[r]), {
            "last_ts": None if self.last_ts[r] == NO_TS else int(self.last_ts[r]),
            "prices": self.prices[r, h - k:].tolist(),
            "sizes": [None if s != s else float(s) for s in sizes.tolist()],
            "cooldown": int(self.cooldown[r]),
        }

    def load(self, symbol: str, partition: int, applied_offset: int, state: dict) -> None:
        """Restore one symbol from its changelog state (replaces whatever the row held)."""
        r = int(self.rows_of([symbol])[0])
        self._reset([r])
        h, t = self.history, self.window_t
        prices = np.asarray(state.get("prices") or [], dtype=np.float64)[-h:]
        sizes = np.asarray([np.nan if s is None else s for s in (state.get("sizes") or [])],
                           dtype=np.float64)[-h:]
        k = len(prices)
        if k:
            self.prices[r, h - k:] = prices
            self.sizes[r, h - k:] = sizes
        self.n_prices[r] = k
        if k >= self.row_span:
            rows = self._feature_rows(prices, sizes)[-t:]
            self.rows[r, t - len(rows):] = rows
            self.n_rows[r] = len(rows)
        self.last_ts[r] = NO_TS if state.get("last_ts") is None else int(state["last_ts"])
        self.applied[r] = applied_offset
        self.cooldown[r] = int(state.get("cooldown", 0))
        self.partition[r] = partition

    def _feature_rows(self, prices: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Feature rows of every tick with ``row_span`` prices behind it (contiguous float64 rows, as the
        detect stage passes them, so the bits equal the rows it computed live)."""
        span = np.lib.stride_tricks.sliding_window_view(prices, self.row_span)
        size_span = np.lib.stride_tricks.sliding_window_view(sizes, self.row_span)
        return self.rows_fn(span, size_span)
