"""Which signal the page explains: from the URL and from typed times."""

from __future__ import annotations

import pytest

from tickscope.dashboard.views import archive_view as archive
from tickscope.dashboard.views import selection as select


def test_url_and_time_parsing():
    assert select.from_url("?signal=" + "a" * 32) == ("a" * 32, None)
    assert select.from_url("?view=alerts") == (None, "alerts")
    assert select.from_url("?view=nope") == (None, None)
    assert archive.parse_time("1700000000000") == 1_700_000_000_000
    assert archive.parse_time("2023-11-14T22:13:20") == 1_700_000_000_000
    assert archive.parse_time(" ") is None
    with pytest.raises(ValueError):
        archive.parse_time("yesterday")


