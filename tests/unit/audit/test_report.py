"""The offline HTML report of ``tickscope replay --report``: self-contained, nothing fetched, nothing run."""

from __future__ import annotations

import re

from tests.support.archives import build_archive, real_records
from tickscope.audit.report import REPORT_CSP, REPORT_CSP_META


def test_report_is_self_contained(env, run):
    build_archive(env / "archive.sqlite", real_records()[:3], data_dir=env)
    out_html = env / "report.html"
    code, out = run("replay", "--no-progress", "--jobs", "1", "--report", str(out_html))
    assert code == 0 and "report:" in out
    doc = out_html.read_text()
    assert doc.count("<section") == 3 and "<svg" in doc
    assert "Inclusion proof verifies" in doc and "Ed25519 signature" in doc
    assert "Model card" in doc and "Attributions" in doc and "Price context" in doc
    assert "<script" not in doc and "src=\"http" not in doc and "href=\"http" not in doc and "@import" not in doc


def test_the_report_carries_a_policy_that_runs_nothing_and_only_its_own_style(env, run):
    import base64
    import hashlib

    build_archive(env / "archive.sqlite", real_records()[:1], data_dir=env)
    run("replay", "--no-progress", "--jobs", "1", "--report", str(env / "r.html"))
    doc = (env / "r.html").read_text()
    assert f"<meta http-equiv='Content-Security-Policy' content=\"{REPORT_CSP_META}\">" in doc
    assert doc.index("Content-Security-Policy") < doc.index("<style>") < doc.index("<body>")
    assert "script-src 'none'" in REPORT_CSP and "default-src 'none'" in REPORT_CSP
    assert "unsafe-inline" not in REPORT_CSP and "frame-ancestors 'none'" in REPORT_CSP
    css = re.search(r"<style>(.*?)</style>", doc, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in REPORT_CSP  # the only stylesheet allowed is the report's own
    assert doc.count("<style>") == 1 and " style=" not in doc


def test_a_record_without_attention_is_drawn_and_says_so(env, run):
    record = real_records()[0].model_copy(update={"attention": None, "attention_shap_spearman": None})
    build_archive(env / "archive.sqlite", [record], data_dir=env)
    run("replay", "--no-progress", "--jobs", "1", "--report", str(env / "r.html"))
    doc = (env / "r.html").read_text()
    assert doc.count("<section") == 1 and "Temporal attention: none" in doc and "Attributions" in doc
    assert "temporal attention (sums to 1)" not in doc


def test_a_registered_models_card_is_found_beside_its_artifact_and_nothing_outside(tmp_path, monkeypatch):
    from tickscope.audit.report import _model_card

    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    version = "ab" * 32
    (tmp_path / "models" / "cards").mkdir(parents=True)
    (tmp_path / "models" / "cards" / f"{version}.md").write_text("# a desk model\n")
    (tmp_path / "models" / "secret.md").write_text("not a card\n")
    assert _model_card(version) == "# a desk model\n"
    assert _model_card("../secret") is None and _model_card("cd" * 32) is None
