"""The archive store on a real PostgreSQL server: it behaves like the SQLite store.

Records are real: EURUSD ticks through the real SignalDetector, explained by the real explainer.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import require
from tests.support.archives import build_archive, incoming, real_records, signer_in
from tests.support.postgres import available, postgres_server
from tickscope.audit.archive_store import open_store
from tickscope.audit.verify import verify_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_url():
    if not available():
        require(False, "PostgreSQL server binaries not installed (apt-get install postgresql)")
    with postgres_server() as url:
        yield url


def test_postgresql_archive_behaves_like_sqlite(postgres_url, tmp_path):
    recs = real_records()
    signer = signer_in(tmp_path)
    store = open_store(postgres_url, read_only=False)
    store.register_key(signer, 1)
    for k in range(0, len(recs), 5):
        store.append_batch(incoming(recs[k:k + 5], k), {("explanations", 0): k + 5}, signer, 1_700_000_000_000 + k)
    dup = store.append_batch(incoming(recs[:3]), {("explanations", 0): 3}, signer, 1_800_000_000_000)
    assert dup.duplicates == 3 and dup.appended == 0
    store.close()
    with open_store(postgres_url, read_only=True) as ro:
        assert ro.count() == len(recs)
        assert [r.signal_id for r in ro.records()] == [r.signal_id for r in recs]
        result = verify_store(ro, signer.public_raw)
        assert result.ok, result.problems
        with pytest.raises(Exception):  # a read-only session cannot write
            ro._exec("DELETE FROM records")
    # the same log in SQLite has the same root: the archive format does not depend on the backend
    build_archive(tmp_path / "a.sqlite", recs, batch=5, data_dir=tmp_path)
    with open_store(tmp_path / "a.sqlite", read_only=True) as lite, open_store(postgres_url, read_only=True) as pg:
        assert verify_store(lite, signer.public_raw).root == verify_store(pg, signer.public_raw).root
        assert np.array_equal([h.root for h in lite.heads()], [h.root for h in pg.heads()][:3])
