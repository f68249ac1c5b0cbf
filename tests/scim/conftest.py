"""Fixtures shared by the fault-injection tests: the fake target's token in the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina

TOKEN_ENV = "FAULTS_SCIM_TOKEN"
TOKEN = "tok-7Qz9-faults-never-print-me"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return TOKEN


@pytest.fixture
def fast_retries() -> Iterator[None]:
    """Retries without their waits, three attempts each (stamina's testing mode)."""
    with stamina.set_testing(True, attempts=3):
        yield
