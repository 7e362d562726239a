"""Every shipped model served end to end: real broker, a real ``tickscope worker --model V`` process, a real archiver,
real EURUSD bars; then ``tickscope verify`` and ``tickscope replay`` reproduce every archived record bit for bit.

Each model runs on its own topics and consumer groups of the session broker (``TICKSCOPE_TOPIC_*``,
``TICKSCOPE_APP_ID``), so its records are its own and nothing mixes with the session worker's.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.support.models import first_version, tcn_version
from tests.support.processes import REPO, spawn, start_worker, worker_env
from tests.support.topics import feed_ticks, read_topic
from tickscope.cli.supervisor import wait_for_log
from tickscope.models import registry
from tickscope.transport.broker import stop_process

pytestmark = pytest.mark.integration
N_BARS = 1500
MODELS = {"default": registry.default_version, "tcn": tcn_version, "first": first_version}


def _topics(tag: str) -> dict:
    names = ("ticks", "dlq", "signals", "explanations", "alerts", "archive_heads")
    return {f"TICKSCOPE_TOPIC_{n.upper()}": f"{n}.{tag}" for n in names} | {"TICKSCOPE_APP_ID": f"tickscope-{tag}"}


def _archived(path) -> list[dict]:
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [json.loads(r[0]) for r in con.execute("SELECT body FROM records ORDER BY seq")]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def _cli(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickscope", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("which", list(MODELS))
def test_a_model_is_served_archived_and_replayed_bit_for_bit(broker, tmp_path, which):
    version = MODELS[which]()
    model = registry.load(version)
    tag = f"m{which}"
    topics = _topics(tag)
    env = worker_env(broker, tmp_path, **topics)
    worker, worker_log = start_worker(broker, tmp_path, name="worker", args=("--model", version), **topics)
    archiver_log = tmp_path / "archiver.log"
    archiver = spawn(["archiver"], env, archiver_log)
    try:
        wait_for_log(archiver_log, "tickscope archiver: ready", timeout_s=60, proc=archiver)
        assert f"model {version[:12]}" in worker_log.read_text()
        assert feed_ticks(broker, "eurusd", f"EURUSD.{tag.upper()}", limit=N_BARS, topic=topics[
            "TICKSCOPE_TOPIC_TICKS"]) == N_BARS
        counts: list[int] = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # until the topic is quiet and the archive holds all of it
            on_topic = len(read_topic(broker, topics["TICKSCOPE_TOPIC_EXPLANATIONS"], timeout_s=3))
            counts.append(on_topic)
            if len(counts) > 6 and on_topic and counts[-1] == counts[-6] and \
                    len(_archived(tmp_path / "archive.sqlite")) == on_topic:
                break
            time.sleep(1.0)
    finally:
        stop_process(archiver, grace_s=15)
        stop_process(worker, grace_s=15)
    records = _archived(tmp_path / "archive.sqlite")
    assert records, f"nothing archived; worker log:\n{worker_log.read_text()[-3000:]}"
    assert {r["model_version"] for r in records} == {version}
    assert "Traceback" not in worker_log.read_text() + archiver_log.read_text()
    lower, upper = model.thresholds
    for r in records:
        assert (r["score"] > upper) if r["direction"] == "long" else (r["score"] < lower)
        assert r["threshold"] == model.signal_threshold(r["direction"])
        assert (r["attention"] is None) is (not model.has_attention)
        assert (r["attention_shap_spearman"] is None) if not model.has_attention else len(r["attention"]) == 32
    if which != "first":  # the volatility models: both sides fire on real data
        assert {r["direction"] for r in records} == {"long", "short"}
    verify = _cli(env, "verify", "--public-key", str(tmp_path / "keys" / "archive-ed25519.pub"))  # + the witness
    assert verify.returncode == 0, verify.stdout + verify.stderr
    replay = _cli(env, "replay", "--no-progress", "--quiet")
    assert replay.returncode == 0, replay.stdout + replay.stderr[-3000:]
    assert f"{len(records)}/{len(records)} reproduced" in replay.stdout
