"""What the tests share: real processes (``processes``), topic helpers (``topics``), real archives
(``archives``), a PostgreSQL server (``postgres``), the deployment files (``deploy_files``), a dashboard
page in headless Chromium (``browser``)."""

from __future__ import annotations


def require(available: bool, why: str) -> None:
    """Skip when a system tool is missing on a developer's machine; fail under CI, whose .ci/run installs it."""
    import os

    import pytest

    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}: .ci/run installs it, so its absence here is a failure", pytrace=False)
    pytest.skip(why)
