"""Fixtures of the dashboard's unit tests."""

from __future__ import annotations

import pytest

from tests.support.records import figure_record


@pytest.fixture
def rec() -> dict:
    """A synthetic archive record with a dominant cell, for the figure builders."""
    return figure_record()
