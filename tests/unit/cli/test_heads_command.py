"""``tickscope heads export``: the witness form, one published head per line, that ``verify --witness`` reads."""

from __future__ import annotations

from tests.support.archives import build_archive, public_key_file, real_records
from tickscope.audit.archive_store import open_store
from tickscope.cli import main


def test_heads_export_writes_what_verify_reads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    for name in ("TICKSCOPE_ARCHIVE_URL", "TICKSCOPE_ARCHIVE_PATH", "TICKSCOPE_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    build_archive(tmp_path / "archive.sqlite", real_records()[:8], batch=4, data_dir=tmp_path)
    out = tmp_path / "heads.jsonl"
    assert main(["heads", "export", "--from-archive", "--out", str(out)]) == 0
    with open_store(tmp_path / "archive.sqlite", read_only=True) as store:
        assert out.read_bytes().splitlines() == [h.to_json_bytes() for h in store.heads()]
    capsys.readouterr()
    code = main(["verify", "--public-key", str(public_key_file(tmp_path)), "--witness", str(out)])
    assert code == 0 and "2 witness heads" in capsys.readouterr().out
