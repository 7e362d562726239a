"""Read-only access to the durable archive (``tickscope.audit``) for the archive browser and the report route.

Everything goes through ``archive_store.open_store(target, read_only=True)``: a
read-only SQLite connection (``mode=ro``, ``query_only``), or a read-only
PostgreSQL transaction, one snapshot per search, never a write. An archive
that is missing or damaged gives a message for the page, not an exception.

Search results are newest first (by tick time). The store's ``records()``
iterates oldest first without a limit; for an SQLite archive a direct
``SELECT seq ... ORDER BY ts DESC LIMIT n`` on the documented ``records`` table
finds the newest rows first, then the records are read through the store API.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque
from dataclasses import dataclass, field

from tickscope.audit.archive_store import ArchiveError, describe, open_store
from tickscope.audit.replay import replay_records
from tickscope.audit.report import render_report
from tickscope.settings import get_settings

log = logging.getLogger(__name__)

MAX_RESULTS = 200


@dataclass
class SearchResult:
    rows: list[dict] = field(default_factory=list)  # seq, signal_id, symbol, ts, direction, score, model_version
    message: str = ""
    truncated: bool = False
    ok: bool = True


def default_target():
    """The archive the archiver writes (``Settings.archive_target``)."""
    return get_settings().archive_target()


class ArchiveReader:
    """Opens the archive read-only for each query (each sees the archive as it is now)."""

    def __init__(self, target=None):
        self.target = target if target is not None else default_target()

    def describe(self) -> str:
        return describe(self.target)

    def _open(self):
        return open_store(self.target, read_only=True)

    def search(self, symbol: str | None = None, ts_from: int | None = None, ts_to: int | None = None,
               signal_id: str | None = None, limit: int = MAX_RESULTS) -> SearchResult:
        try:
            store = self._open()
        except ArchiveError as exc:
            return SearchResult(message=f"archive not available: {exc}", ok=False)
        try:
            seqs = _newest_seqs(store, symbol, ts_from, ts_to, signal_id, limit + 1)
            if seqs is not None:
                recs = [r for seq in seqs[:limit] for r in _by_seq(store, seq)]
                truncated = len(seqs) > limit
            else:  # not SQLite or the table changed: the store API only, oldest first, keep the newest
                kept: deque = deque(maxlen=limit + 1)
                for r in store.records(symbol=symbol, ts_from=ts_from, ts_to=ts_to, signal_id=signal_id,
                                       order="ts"):
                    kept.append(r)
                truncated = len(kept) > limit
                recs = list(reversed(kept))[:limit]
            rows = [_row(r) for r in recs]
            msg = f"{len(rows)} record(s)" + (f", newest {limit} shown" if truncated else "") + \
                f" · archive holds {store.count()}"
            return SearchResult(rows=rows, message=msg, truncated=truncated)
        except Exception as exc:  # noqa: BLE001 - a damaged archive file fails mid-read: say so on the page
            log.warning("archive search failed: %s: %s", type(exc).__name__, exc)
            return SearchResult(message=f"archive search failed: {type(exc).__name__}: {exc}", ok=False)
        finally:
            store.close()

    def record(self, signal_id: str) -> dict | None:
        """The archived record of one signal (its JSON body as a dict), or None."""
        try:
            store = self._open()
        except ArchiveError:  # no archive: the record is simply not there
            return None
        try:
            for r in store.records(signal_id=signal_id):
                return r.value()
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged archive file fails mid-read
            log.warning("archive read failed: %s: %s", type(exc).__name__, exc)
            return None
        finally:
            store.close()

    def report_html(self, signal_id: str, replay: bool = True) -> tuple[int, str]:
        """(HTTP status, HTML) of the offline report for one signal, replayed by default."""
        try:
            store = self._open()
        except ArchiveError as exc:
            return 503, _page("Archive not available", str(exc))
        try:
            recs = list(store.records(signal_id=signal_id))
            if not recs:
                return 404, _page("Not archived", f"Signal {signal_id} is not in the archive {self.describe()} "
                                                  "(yet: the archiver may be behind).")
            outcomes, line = {}, "not replayed (open with ?replay=1 to replay)"
            if replay:
                summary = replay_records(recs, total=len(recs), progress=False, jobs=1)  # never a pool per click
                outcomes = {o.seq: o for o in summary.outcomes}
                line = summary.line()
            return 200, render_report(store, recs, outcomes, line, f"tickscope replay report · signal {signal_id}")
        except Exception as exc:  # noqa: BLE001 - a damaged archive file fails mid-read
            log.warning("report failed: %s: %s", type(exc).__name__, exc)
            return 500, _page("Report failed", f"{type(exc).__name__}: {exc}")
        finally:
            store.close()


def _page(title: str, text: str) -> str:
    import html

    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(text)}</p></body></html>")


def _newest_seqs(store, symbol, ts_from, ts_to, signal_id, limit) -> list[int] | None:
    """Newest-first seqs by one indexed query on SQLite; None on PostgreSQL (the store API path is used)."""
    if store.dialect != "sqlite":
        return None
    where, params = [], []
    for cond, val in (("symbol = ?", symbol), ("ts >= ?", ts_from), ("ts <= ?", ts_to), ("signal_id = ?", signal_id)):
        if val is not None:
            where.append(cond)
            params.append(val)
    q = "SELECT seq FROM records" + (" WHERE " + " AND ".join(where) if where else "") + \
        " ORDER BY ts DESC, seq DESC LIMIT ?"
    try:
        return [int(r[0]) for r in store.conn.execute(q, (*params, limit))]
    except sqlite3.Error:
        return None


def _by_seq(store, seq: int) -> list:
    row = store.conn.execute("SELECT signal_id FROM records WHERE seq = ?", (seq,)).fetchone()
    return list(store.records(signal_id=row[0])) if row else []


def _row(r) -> dict:
    try:
        obj = r.value()
    except ValueError:  # an unreadable body still lists its indexed columns
        obj = {}
    return {"seq": r.seq, "signal_id": r.signal_id, "symbol": r.symbol, "ts": r.ts,
            "direction": obj.get("direction"), "score": obj.get("score"), "model_version": r.model_version}
