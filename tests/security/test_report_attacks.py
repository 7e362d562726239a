"""What the archive holds is shown, never run: HTML in a record, a record outside its schema, and explainer
parameters that would exhaust memory. On SQLite and on PostgreSQL.

The hostile records enter the way they could: through the archiver (which refuses them), or as an older
archiver stored them verbatim (``append_verbatim``), which is what a reviewer's report and replay must survive.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support.archives import real_records
from tickscope.audit.archive_store import Incoming, open_store
from tickscope.audit.replay import replay_records
from tickscope.audit.report import REPORT_CSP_META, render_report
from tickscope.contracts.ids import signal_id_for

pytestmark = pytest.mark.security
SCRIPT = "<script>document.title='pwned'</script>"
HIDE = "<style>.bad{display:none}</style>"


def unarchived(i: int, shift: int = 0) -> dict:
    """A real record the archive (which holds the first 12) does not hold yet, its tick time shifted by ``shift``."""
    v = json.loads(real_records()[i].to_json())
    v["ts"] += shift
    v["signal_id"] = signal_id_for(v["symbol"], v["ts"], v["model_version"])
    return v


def hostile_values() -> list[dict]:
    newer = dict(unarchived(12), schema_version=99, symbol=SCRIPT + HIDE)  # the review's attack, stored as is
    valid = unarchived(13)
    valid["feature_names"] = [SCRIPT] + valid["feature_names"][1:]  # schema-valid, hostile text
    valid["quality"] = {SCRIPT: HIDE}
    ragged = dict(unarchived(13, shift=1), score="1e9")  # a string score and a ragged window
    ragged["window"] = ragged["window"][:-1] + [[1.0]]
    return [newer, valid, ragged]


def test_the_archiver_refuses_what_a_report_could_run(archive):
    newer = hostile_values()[0]
    with open_store(archive.target, read_only=False) as store:
        from tickscope.audit.startup import check_log

        state = check_log(store, {archive.signer.key_id: archive.signer.public_raw}, None)
        store.adopt(state.frontier, state.last_head)
        res = store.append_batch([Incoming(json.dumps(newer).encode(), None, "explanations/0@99")], {},
                                 archive.signer, 1_800_000_000_000)
        assert (res.appended, res.rejected) == (0, 1)
        assert store.rejected()[-1]["reason"] == "unknown_schema_version"
        assert "schema_version 99" in store.rejected()[-1]["detail"]


def test_html_in_an_archived_record_is_shown_escaped_and_cannot_run(archive):
    archive.append_verbatim(hostile_values(), archive.signer)
    assert sum(SCRIPT.encode() in b for b in archive.bodies().values()) == 2  # the archive really holds it
    with open_store(archive.target, read_only=True) as store:
        records = list(store.records())[-3:]
        doc = render_report(store, records, {}, "not replayed", "attack")
    assert "<script" not in doc.lower() and doc.count("<style>") == 1  # only the report's own stylesheet
    assert "&lt;script&gt;" in doc  # shown, as text
    assert f"content=\"{REPORT_CSP_META}\"" in doc and "script-src 'none'" in doc
    assert doc.count("This record is not drawn: it does not validate") == 2  # schema 99 and the ragged one
    assert "unknown_schema_version" in doc and ("invalid" in doc or "bad_shape" in doc)
    assert re.search(r"<section id='s[0-9a-f]{32}'><h2>EURUSD", doc)  # the valid one is drawn, escaped


def test_a_report_of_hostile_records_does_not_abort(archive, cli):
    archive.append_verbatim(hostile_values(), archive.signer)
    out_html = archive.data_dir / "report.html"
    code, out = cli("replay", "--archive", archive.target, "--no-progress", "--jobs", "1", "--report", out_html,
                    "--from", str(real_records()[12].ts))
    assert code == 2 and "report:" in out  # some records cannot be replayed, and the report is still written
    doc = out_html.read_text()
    assert "<script" not in doc.lower() and "not_reproducible" in doc


def test_replay_bombs_in_explainer_parameters_are_reported_never_run(archive, monkeypatch):
    import tickscope.audit.replay as replay_mod

    calls = []
    real = replay_mod.explain_signal
    monkeypatch.setattr(replay_mod, "explain_signal", lambda *a, **k: calls.append(1) or real(*a, **k))
    bombs = []
    for i, segments in enumerate((40, 22)):
        v = unarchived(12 + i)
        v["explainer"]["params"]["segments"] = segments
        bombs.append(v)
    archive.append_verbatim(bombs, archive.signer)
    assert [json.loads(b)["explainer"]["params"]["segments"] for b in list(archive.bodies().values())[-2:]] == [40, 22]
    with open_store(archive.target, read_only=True) as store:
        recs = list(store.records())
    summary = replay_records(recs[-3:], progress=False, jobs=1)  # one honest record, then the two bombs
    statuses = [o.status for o in summary.outcomes]
    assert statuses == ["reproduced", "not_reproducible", "not_reproducible"]
    assert len(calls) == 1  # only the honest record ran the explainer
    assert "segments=40 is outside the replay bounds" in summary.outcomes[1].details[0]
