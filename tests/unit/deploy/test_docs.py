"""docs/deployment.md and deploy/env.example name only real settings."""

from __future__ import annotations

import re

from tests.support.deploy_files import (
    DEPLOY,
    DOCS_FILE,
    ROOT,
    SETTING_ENV,
)


def test_docs_and_env_example_name_real_settings():
    for path in (DOCS_FILE, DEPLOY / "env.example"):
        for name in set(re.findall(r"TICKSCOPE_[A-Z0-9_]+", path.read_text(encoding="utf-8"))):
            assert name in SETTING_ENV, f"{path.relative_to(ROOT)} mentions {name}, not a tickscope setting"


# ---------------------------------------------------------------- promtool


