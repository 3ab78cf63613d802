from __future__ import annotations

import pytest

from .factories import NOW, TODAY


@pytest.fixture
def today():
    return TODAY


@pytest.fixture
def now():
    return NOW
