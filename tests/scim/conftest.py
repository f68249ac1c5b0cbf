"""Fixtures shared by the fault-injection tests: the fake target's token in the environment."""

from __future__ import annotations

import pytest

TOKEN_ENV = "FAULTS_SCIM_TOKEN"
TOKEN = "tok-7Qz9-faults-never-print-me"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return TOKEN
