"""The archive browser's read-only access to a real archive file, and the report route."""

from __future__ import annotations

import json

import pytest

from bench import synthetic
from tickscope.dashboard.live_store import Store
from tickscope.dashboard.views import archive_view as archive

NOW = 1_795_000_000_000


@pytest.fixture
def archive_file(tmp_path):
    import tickscope.audit.archive_store as store_mod
    from tickscope.audit.heads import Signer

    path = tmp_path / "archive.sqlite"
    st = store_mod.open_store(path, read_only=False)
    items, ids = [], []
    for i in range(30):
        sym = "EURUSD" if i % 3 else "GOOG"
        raw = synthetic.record_json(sym, NOW + i * 60_000, 1.1, NOW)
        ids.append(json.loads(raw)["signal_id"])
        items.append(store_mod.Incoming(raw, ids[-1].encode(), f"explanations/0@{i}"))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = Signer(Ed25519PrivateKey.generate())
    st.append_batch(items, {("explanations", 0): 30}, signer, NOW)
    st.close()
    return path, ids


def test_archive_reader_search_newest_first_and_record(archive_file):
    from tickscope.dashboard.archive_reader import ArchiveReader

    path, ids = archive_file
    r = ArchiveReader(path)
    res = r.search(symbol="GOOG")
    assert res.ok and [row["symbol"] for row in res.rows] == ["GOOG"] * 10
    assert [row["ts"] for row in res.rows] == sorted((row["ts"] for row in res.rows), reverse=True)
    assert r.search(signal_id=ids[4]).rows[0]["signal_id"] == ids[4]
    res = r.search(ts_from=NOW + 10 * 60_000, ts_to=NOW + 12 * 60_000)
    assert len(res.rows) == 3
    assert r.search(limit=5).truncated
    assert r.record(ids[7])["signal_id"] == ids[7] and r.record("0" * 32) is None
    status, children = archive.archive_search(r, "EURUSD", None, None, None)
    assert "20 record(s)" in status and children


def test_archive_reader_without_archive(tmp_path):
    from tickscope.dashboard.archive_reader import ArchiveReader

    r = ArchiveReader(tmp_path / "missing.sqlite")
    res = r.search()
    assert not res.ok and "no archive" in res.message
    assert r.record("a" * 32) is None
    status, body = r.report_html("a" * 32, replay=False)
    assert status == 503


def test_report_route_serves_the_audit_report_with_its_csp_on_every_answer(archive_file):
    from starlette.testclient import TestClient

    import tickscope.audit.report as report  # noqa: F401
    from tickscope.dashboard.app import create_app
    from tickscope.dashboard.archive_reader import ArchiveReader

    path, ids = archive_file
    app = create_app(Store(), archive_reader=ArchiveReader(path))
    with TestClient(app.server) as c:
        r = c.get(f"{archive.REPORT_PATH}/{ids[3]}?replay=0")
        assert r.status_code == 200 and ids[3] in r.text and "Inclusion proof" in r.text
        answers = [r, c.get(f"{archive.REPORT_PATH}/{'0' * 32}?replay=0"), c.get(f"{archive.REPORT_PATH}/not-an-id"),
                   c.get(f"{archive.REPORT_PATH}/{ids[3]}%0A")]
        assert [a.status_code for a in answers] == [200, 404, 400, 400]
        assert all(a.headers["content-security-policy"] == archive.REPORT_CSP for a in answers)


def test_report_route_escapes_and_keeps_its_csp_when_the_reader_fails():
    from starlette.testclient import TestClient

    from tickscope.dashboard.app import create_app

    class Broken:
        def describe(self):
            return "<b>broken</b>"

        def report_html(self, signal_id, replay=True):
            raise RuntimeError("<script>alert(1)</script>")

    class Missing(Broken):
        def report_html(self, signal_id, replay=True):
            from tickscope.dashboard.archive_reader import _page

            return 404, _page("Not archived", "signal <script>x</script> is not in the archive")

    for reader, status in ((Broken(), 500), (Missing(), 404)):
        app = create_app(Store(), archive_reader=reader)
        with TestClient(app.server) as c:
            r = c.get(f"{archive.REPORT_PATH}/{'a' * 32}")
            assert r.status_code == status and r.headers["content-security-policy"] == archive.REPORT_CSP
            assert "<script>" not in r.text
