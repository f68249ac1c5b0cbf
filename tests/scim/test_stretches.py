"""The stretches of a flagged page that redaction reads (scim/stretches.py): each starts
where the text read from the page is at a multiple of spans.STRIDE, as the whole body's
text is, and together they hold every byte within reach of each place."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.scim.spans import STRIDE
from reconciler.scim.stretches import around

# Bodies whose only escapes are quotes' (redact._plain), as redaction reads them.
_BODY = st.lists(st.sampled_from(["a", "0", '\\"', '"', " "]), max_size=80).map("".join)


@settings(max_examples=500, deadline=None)
@given(_BODY, st.data(), st.integers(0, 6))
def test_each_stretch_starts_aligned_and_covers_its_places(
    body: str, data: st.DataObject, reach: int
) -> None:
    raw = body.encode()
    places = tuple(sorted(set(data.draw(st.lists(st.integers(0, len(raw)), max_size=4)))))
    stretches = around(raw, places, reach)
    for start, _end in stretches:
        # The text read from raw[start:] starts where the whole body's text is at a
        # multiple of STRIDE: each `\"` is one character of it.
        assert (start - raw.count(b"\\", 0, start)) % STRIDE == 0
    assert all(a[1] < b[0] for a, b in pairwise(stretches))  # merged where they meet
    for place in places:
        low, high = max(0, place - 2 * reach - 2), min(len(raw), place + 2 * reach + 2)
        assert any(s <= low and high <= e for s, e in stretches)
    assert bool(stretches) is bool(places)
