"""A target that sends parts of a secret before the secret itself cannot hide it.

Where a page is ASCII and escapes only quotes, `scrub_json` reads it around each place the
one-pass literal search (scim/literals.py) finds one of a secret's anchors, and skips the
page when no place shows a secret. A hostile target knows the token it echoes: it can put
every anchor of it, each alone, early in the page, then the token. The search must report
every place, not each anchor's first, and past PLACES places the page is read whole."""

from __future__ import annotations

import json

import pytest

from reconciler.scim.literals import PLACES
from reconciler.scim.redact import HIDDEN, register_secret, scrub_json
from reconciler.scim.spans import RUN

SECRET = "k7Qm2x9Lp4Rt8vWz3Nc6"


@pytest.fixture(autouse=True)
def registered() -> None:
    register_secret(SECRET)  # forgotten after each test (tests/conftest.py)


def _decoys(copies: int) -> list[str]:
    # Every six characters of the secret (which holds each anchor of it), each in a
    # string of its own: no run of RUN characters of it, so no string shows it.
    windows = [SECRET[at : at + 6] for at in range(len(SECRET) - 5)]
    return [f"ref {w}" for w in windows] * copies


@pytest.mark.parametrize("copies", [1, 2, PLACES // 10, PLACES])
def test_a_secret_after_its_anchors_sent_alone_is_masked(copies: int) -> None:
    body = {
        "Resources": [{"id": str(i), "note": note} for i, note in enumerate(_decoys(copies))],
        "detail": f"bad token {SECRET}",
    }
    raw = json.dumps(body).encode()
    assert raw.isascii() and b"\\" not in raw  # read around places, not walked
    shown = scrub_json(json.loads(raw), raw)
    assert shown["detail"] == f"bad token {HIDDEN}"
    # The decoys are no run of the secret: they stay as sent.
    assert shown["Resources"] == body["Resources"]
    assert all(len(n) - len("ref ") < RUN for n in _decoys(1))
