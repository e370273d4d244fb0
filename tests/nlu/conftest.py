"""One trained engine for the whole NLU test session (training takes a few seconds)."""

from __future__ import annotations

import pytest

from nlu.api import NluEngine


@pytest.fixture(scope="session")
def engine() -> NluEngine:
    return NluEngine.train()
