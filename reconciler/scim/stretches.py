"""Which stretches of a page to read for a secret, around the places a literal of one is
found (literals.py): redaction (redact.py) reads a flagged page in them, not whole."""

from __future__ import annotations

from reconciler.scim.spans import STRIDE


def around(raw: bytes, places: tuple[int, ...], reach: int) -> list[tuple[int, int]]:
    """The stretches of `raw` around each place a literal ends, merged where they meet,
    wide enough to hold any showing through it whole: a 19 MB page of group members with
    one anchor in it (six hex characters a member id holds by chance) is then read in a
    few hundred bytes, not all of it (280 ms). Each character read may be two bytes (`\\"`).

    Each stretch is read as the whole body would be: it starts where the text read from it
    starts at a multiple of spans.STRIDE (with many anchors, the grams at those places are
    looked up, and a secret that repeats itself may show a run from one and not from the
    next). One that ends between a backslash and its quote reads its last character
    otherwise than the whole body does, but no run through the place reaches that far."""
    margin = 2 * reach + 2
    out: list[tuple[int, int]] = []
    at = escapes = 0  # backslashes in raw[:at]; each escapes a quote (redact._plain)
    for place in places:
        start, end = max(0, place - margin), min(len(raw), place + margin)
        escapes += raw.count(b"\\", at, start)
        at = start
        start = _aligned(raw, start, escapes)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _aligned(raw: bytes, start: int, escapes: int) -> int:
    """`start`, moved back to where the text read from `raw` is at a multiple of STRIDE:
    that text's position there is `start` less the `\\"` escapes before it."""
    while start > 0 and (start - escapes) % STRIDE:
        start -= 1
        if raw[start] == ord("\\"):
            escapes -= 1
    return start
