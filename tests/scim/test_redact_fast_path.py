"""scrub_json skips the walk of a body that shows no secret (redact.py): a listing whose
ETags or ids share a few characters with a secret's hex (a six-character gram matches
about one hex string in sixteen million, and a large listing holds millions) is not
walked string by string for them, and a body that holds a run of the secret still is."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from reconciler.scim.redact import forget_secrets, register_secret, scrub_json
from reconciler.scim.spans import RUN

TOKEN = 'tok"en-0123456789-abcdefghij-KLMNOPQRST'  # a quote too: its JSON form differs
HEX = TOKEN.encode().hex()


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    register_secret(TOKEN)
    yield
    forget_secrets()


def listing(version: str) -> dict[str, object]:
    return {"id": "u1", "userName": "a@example.com", "meta": {"version": f'W/"{version}"'}}


@pytest.mark.parametrize("start", [0, 7, 14, 21])
@pytest.mark.parametrize("pad", range(7))  # wherever the gram falls in the text
def test_a_listing_sharing_a_gram_of_the_secrets_hex_is_not_walked(start: int, pad: int) -> None:
    shared = HEX[start : start + RUN - 1]  # one short of a run
    body = listing("f" * pad + shared + "~")
    raw = json.dumps(body).encode()
    assert scrub_json(body, raw) is body


@pytest.mark.parametrize(
    "run",
    [HEX[3 : 3 + RUN], TOKEN[2 : 2 + RUN], TOKEN[:RUN].upper()],
    ids=["hex", "across-the-quote", "upper-case"],
)
def test_a_body_holding_a_run_is_still_masked(run: str) -> None:
    body = listing("1") | {"nickName": f"x{run}y"}
    raw = json.dumps(body).encode()
    assert scrub_json(body, raw)["nickName"] == "x***y"
