"""A secret spelled with escapes (scim/redact.py `scrub`): the word that shows it once its
escapes are undone is masked, and the rest of the line stays as it was written; a secret
that no single word shows, one with a space in it, still never shows."""

from __future__ import annotations

import json

import pytest

from reconciler.scim.payload import _MANY_ESCAPES
from reconciler.scim.redact import HIDDEN, register_secret, scrub, scrub_json


def test_the_word_spelling_a_secret_with_escapes_is_masked_and_the_rest_kept_as_written() -> None:
    # Shorter than a run: only the whole secret is looked for, which the escape hides
    # until it is undone.
    secret = "tok/en-4f9a"
    register_secret(secret)
    line = r'{"detail": "token tok\/en-4f9a refused, see https:\/\/help.example\/t"}'
    shown = scrub(line)
    assert "4f9a" not in shown
    # The JSON around the word keeps its own escapes: it is still the JSON that was sent.
    assert shown == line.replace(r"tok\/en-4f9a", HIDDEN)


@pytest.mark.parametrize(
    "written",
    [
        r"pass word\/x1",  # JSON escapes `/` (PHP's way)
        r"pass word\u002fx1",
        "pass%20word%2Fx1",
        "pass word&#47;x1",
    ],
)
def test_a_secret_with_a_space_spelled_with_escapes_never_shows(written: str) -> None:
    # Twelve characters with a space: no word holds the secret, nor a run of it, escaped
    # or not; only the line read with its escapes undone shows it.
    secret = "pass word/x1"
    register_secret(secret)
    shown = scrub(f"error: {written} is not valid")
    assert "word" not in shown and "x1" not in shown, shown


@pytest.mark.parametrize("escape", [r"\t", r"\n", r"\r", r"\b", r"\f", r"\u0009"])
def test_a_secret_with_a_control_character_spelled_with_json_escapes_is_masked(
    escape: str,
) -> None:
    # `\/` keeps the text from being the secret's own JSON form (which is registered), so
    # only reading every escape as JSON does (`\t` a tab, not a `t`) shows the secret.
    control = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "u": "\t"}[escape[1]]
    secret = f"ab/c{control}de9"
    register_secret(secret)
    written = rf"ab\/c{escape}de9"
    assert "de9" not in scrub(f"error: {written} refused"), written


def test_a_body_past_the_escapes_looked_at_one_by_one_is_still_read_for_secrets() -> None:
    # Every resource's ETag escapes its quotes (`W/\"1\"`): past `_MANY_ESCAPES` of them
    # the body is told plain or not by counting, and one that also escapes a `/` (PHP's
    # way, here in the secret) is walked string by string, where the parsed secret shows.
    secret = "tok/en-4f9a"
    register_secret(secret)
    body = {
        "Resources": [{"id": f"u{i}", "meta": {"version": 'W/"1"'}} for i in range(2100)],
        "detail": f"refused {secret}",
    }
    raw = json.dumps(body).replace("tok/en", "tok\\/en").encode()
    assert raw.count(b'\\"') > _MANY_ESCAPES
    assert raw.count(b"tok\\/en") == 1
    shown = scrub_json(json.loads(raw), raw)
    assert shown["detail"] == f"refused {HIDDEN}"
    assert shown["Resources"] == body["Resources"]
