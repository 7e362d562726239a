"""A dead letter keeps the original bytes, the reason and where the message was read."""

from __future__ import annotations

import base64
import json

from tickscope.contracts.dead_letters import Rejected, Source, dead_letter, isolate
from tickscope.contracts.records import DeadLetter
from tickscope.streams.ingest import ingest

SRC = Source("ticks", 3, 42)


def test_dead_letter_keeps_original_bytes_and_source():
    letter = ingest(b"\x00garbage", b"k", SRC, 4096)
    assert isinstance(letter, DeadLetter)
    assert letter.reason == "undecodable"
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("ticks", 3, 42)

    assert base64.b64decode(letter.original_b64) == b"\x00garbage"
    assert json.loads(letter.to_json())["schema_version"] == 1


def test_dead_letter_of_empty_value():
    letter = dead_letter("ingest", None, None, Rejected("empty", "no value"), SRC)
    assert letter.original_b64 == "" and letter.original_key_b64 is None


def test_isolate_turns_anything_the_check_raises_into_a_dead_letter():

    deep = b"[" * 100_000
    letter = isolate("alert", deep, b"k", SRC, lambda raw, key: json.loads(raw))
    assert isinstance(letter, DeadLetter)
    assert (letter.stage, letter.reason) == ("alert", "alert_error")
    assert letter.detail.startswith("RecursionError") and len(letter.detail) <= 400
    assert base64.b64decode(letter.original_b64) == deep and letter.source_offset == SRC.offset
    refused = isolate("alert", b"x", None, SRC, lambda raw, key: (_ for _ in ()).throw(Rejected("too_big", "no")))
    assert (refused.reason, refused.detail) == ("too_big", "no")
    assert isolate("alert", b"[1]", None, SRC, lambda raw, key: json.loads(raw)) == [1]
