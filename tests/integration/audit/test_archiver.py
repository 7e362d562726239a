"""Real broker, real worker, real EURUSD ticks, a real archiver process restarted mid-way.

The archive must hold every signal on ``explanations`` exactly once, ``tickscope verify`` must pass and
``tickscope replay`` must report every record reproduced.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.support.insider import Archive
from tests.support.processes import REPO, spawn, worker_env
from tests.support.topics import feed_ticks, read_topic, send_raw
from tickscope.audit.archive_store import open_store
from tickscope.cli.supervisor import wait_for_log
from tickscope.transport.broker import stop_process

pytestmark = pytest.mark.integration
SYMBOL = "EURUSD.ARC"  # its own symbol, so the worker's per-symbol state is fresh whatever ran before


def archived_ids(path) -> list[str]:
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT signal_id FROM records ORDER BY seq")]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def topic_ids(broker) -> set:
    return {json.loads(r.value)["signal_id"] for r in read_topic(broker, "explanations", timeout_s=5)}


def wait_until(cond, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def cli(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickscope", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)


def test_archiver_survives_a_restart_with_nothing_lost_or_doubled(broker, worker, tmp_path):
    env = worker_env(broker, tmp_path)
    archive = tmp_path / "archive.sqlite"
    log = tmp_path / "archiver.log"
    proc = spawn(["archiver"], env, log)
    try:
        wait_for_log(log, "tickscope archiver: ready", timeout_s=60, proc=proc)
        assert feed_ticks(broker, "eurusd", SYMBOL, limit=900) == 900
        wait_until(lambda: any(True for _ in archived_ids(archive)) and
                   len(archived_ids(archive)) >= 3, 120, "the first archived records")
        os.killpg(proc.pid, signal.SIGKILL)  # a crash mid-stream: no clean shutdown
        proc.wait(timeout=10)
        first_run = archived_ids(archive)
        # while it is down the worker keeps publishing
        from tickscope.marketdata.sources import load_source

        rows = load_source("eurusd")[900:1800]
        from kafka import KafkaProducer

        from tickscope.marketdata.feed import publish

        producer = KafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=5)
        publish(producer, "ticks", SYMBOL, rows, 0.0, None)
        producer.close()
        proc = spawn(["archiver"], env, log)
        wait_for_log(log, f"({len(first_run)} records archived)", timeout_s=60, proc=proc)

        def caught_up():
            return set(archived_ids(archive)) >= topic_ids(broker) and len(topic_ids(broker)) > len(first_run)

        # the worker's output for SYMBOL goes quiet once all 1800 ticks are explained
        seen = []

        def quiet():
            seen.append(len(topic_ids(broker)))
            return len(seen) > 8 and seen[-1] == seen[-8] and caught_up()

        wait_until(quiet, 240, "the archive to catch up with the explanations topic")
        # at-least-once delivery: the same record again is ignored, a changed one is flagged
        some = read_topic(broker, "explanations", timeout_s=5)[0]
        changed = json.loads(some.value)
        changed["produced_at"] += 1
        send_raw(broker, [(some.key, some.value), (some.key, json.dumps(changed).encode())], topic="explanations")
        wait_for_log(log, "flagged the second in conflicts", timeout_s=60, proc=proc)
    finally:
        stop_process(proc, grace_s=15)
    assert "tickscope archiver: stopped" in log.read_text()
    ids = archived_ids(archive)
    assert len(ids) == len(set(ids)), "a signal archived twice"
    assert set(ids) == topic_ids(broker), "archive and topic differ"
    assert any(json.loads(r.value)["symbol"] == SYMBOL for r in read_topic(broker, "explanations", timeout_s=5))
    assert "Traceback" not in log.read_text()

    pub = tmp_path / "keys" / "archive-ed25519.pub"
    verify = cli(env, "verify", "--public-key", str(pub))  # the witness is archive.heads on the broker (default)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"{len(ids)} records" in verify.stdout and "wall clock only" in verify.stdout
    heads = cli(env, "heads", "export", "--out", str(tmp_path / "witness.jsonl"))
    assert heads.returncode == 0, heads.stderr
    with open_store(archive, read_only=True) as store:  # every head was published and acknowledged, byte for byte
        assert (tmp_path / "witness.jsonl").read_bytes().splitlines() == [h.to_json_bytes() for h in store.heads()]

    replay = cli(env, "replay", "--no-progress", "--quiet", "--report", str(tmp_path / "report.html"))
    assert replay.returncode == 0, replay.stdout + replay.stderr[-3000:]
    assert f"{len(ids)}/{len(ids)} reproduced" in replay.stdout
    assert (tmp_path / "report.html").exists()

    # the insider launders a record and waits for a restart: the real archiver refuses, writing nothing
    insider = Archive(archive, tmp_path, None)
    insider.edit_body(1, lambda b: b.update(price=b["price"] * 2))
    insider.rehash_log()
    insider.sql("DELETE FROM heads")
    taken = insider.fingerprint()
    restart = cli(env, "archiver", "--idle-exit", "5")
    assert restart.returncode == 2 and "refusing to extend it" in restart.stderr, restart.stdout + restart.stderr
    assert insider.fingerprint() == taken
    verify = cli(env, "verify", "--public-key", str(pub))
    assert verify.returncode == 1 and "does not hold the witnessed head" in verify.stdout
