"""The witness on a real broker: heads the archive holds but the topic lacks (published while the broker was
away) are found at start and published once it is back, each acknowledged, byte for byte."""

from __future__ import annotations

import pytest

from tests.support.archives import build_archive, real_records
from tickscope.audit.archive_store import open_store
from tickscope.audit.startup import check_log
from tickscope.audit.verify import verify_store
from tickscope.audit.witness import HeadPublisher, ensure_heads_topic, read_topic, read_topic_values
from tickscope.transport.broker import free_port

pytestmark = pytest.mark.integration


def test_missed_heads_are_published_when_the_broker_is_back(broker, tmp_path):
    topic = "archive.heads.witness-test"
    config = {"bootstrap_servers": [broker]}
    signer = build_archive(tmp_path / "a.sqlite", real_records()[:12], batch=4)
    keys = {signer.key_id: signer.public_raw}
    assert ensure_heads_topic(config, topic) == []
    with open_store(tmp_path / "a.sqlite", read_only=True) as store:
        state = check_log(store, keys, read_topic(config, topic).heads)
        heads = store.heads()
    assert [h.tree_size for h in state.unwitnessed] == [4, 8, 12]  # none reached the witness
    away = HeadPublisher({"bootstrap_servers": [f"127.0.0.1:{free_port()}"]}, topic)  # the broker is away
    away.add(state.unwitnessed)
    assert away.flush() == 0 and len(away.backlog) == 3
    away.close()
    back = HeadPublisher(config, topic)
    back.add(away.backlog)
    assert back.flush() == 3 and back.backlog == []
    back.close()
    assert read_topic_values(config, topic) == [h.to_json_bytes() for h in heads]
    with open_store(tmp_path / "a.sqlite", read_only=True) as store:
        assert check_log(store, keys, read_topic(config, topic).heads).unwitnessed == []
        result = verify_store(store, signer.public_raw, witness=read_topic(config, topic))
    assert result.ok and result.witness_heads == 3
