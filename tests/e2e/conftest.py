"""Why this file: pytest rewrites asserts only in test modules and conftest files, and
``tests/e2e/dashboard_support.py`` holds the assertions of the desk test (``assert_explanation``);
registering it here, before any test module imports it, keeps their failure messages showing both sides."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.e2e.dashboard_support")
