"""The offline HTML report of ``tickscope replay --report``: self-contained, nothing fetched."""

from __future__ import annotations

from tests.support.archives import build_archive, real_records


def test_report_is_self_contained(env, run):
    build_archive(env / "archive.sqlite", real_records()[:3], data_dir=env)
    out_html = env / "report.html"
    code, out = run("replay", "--no-progress", "--report", str(out_html))
    assert code == 0 and "report:" in out
    doc = out_html.read_text()
    assert doc.count("<section") == 3 and "<svg" in doc
    assert "Inclusion proof verifies" in doc and "Ed25519 signature" in doc
    assert "Model card" in doc and "Attributions" in doc and "Price context" in doc
    assert "<script" not in doc and "src=\"http" not in doc and "href=\"http" not in doc and "@import" not in doc


