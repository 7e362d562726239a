"""Fixtures of the deployment checks: the compose file, its services, and promtool."""

from __future__ import annotations

import shutil

import pytest

from tests.support import require
from tests.support.deploy_files import COMPOSE_FILE, load_yaml


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        require(False, "promtool not on PATH (Debian/Ubuntu: apt-get install prometheus)")
    return path
