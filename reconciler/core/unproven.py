"""Declared objects lookup mode cannot tell are there or gone. A `state: absent` one looked
up by a filter that found nothing for anyone in the run (Observed.unproven: Snowflake,
before BCR 2026_03, answers a filter it does not support so), or any declared object whose
lookup the target refused (Observed.refused: a 400 for a value its filter parser chokes
on, a 403 from a scoped token). Taken for "not there", an absent one would keep its access
while the plan said nothing, drift "in sync", and the apply "0 disabled"; a present one
would be planned as a create that may duplicate it, which apply refuses."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.attributes import quote
from reconciler.core.match import Match
from reconciler.core.model import Declared, Kind, Observed

_NAMED = {Kind.USER: "users", Kind.GROUP: "groups"}


def in_doubt(
    kind: Kind, declared: Iterable[Declared], matches: dict[str, Match], observed: Observed
) -> dict[str, Match]:
    """`matches`, with each absent object found by nothing, and looked up by an unproven
    filter or by a lookup the target refused, in error: it may exist, and what is not
    found is never deprovisioned."""
    doubted = {attribute for k, attribute in observed.unproven if k is kind}
    refused = {(attribute, value) for k, attribute, value in observed.refused if k is kind}
    if not (doubted or refused):
        return matches
    out = dict(matches)
    for obj in declared:
        match = matches[obj.key]
        if match.resource is not None or match.error is not None:
            continue
        asked = [(_attribute(a.attribute), a.value) for a in match.attempts if a.value]
        unanswered = next(((a, v) for a, v in asked if (a, v) in refused), None)
        # A present object not found by a filter not shown to work is still created (the
        # plan notes the filter); one whose own lookup was refused may exist, so the plan
        # says so instead of a create apply would refuse (creates.py, a look before).
        blind = None if obj.present else next((a for a, _ in asked if a in doubted), None)
        if unanswered is not None:
            attribute, value = unanswered
            why = (
                "cannot tell whether it exists: the target refused its lookup "
                f"({attribute} eq {quote(value)}) or answered it in part (lookup mode), "
                "which proves nothing; plan again once the target answers that filter, "
                f"or match {_NAMED[kind]} by an attribute it filters on (matching)"
            )
            out[obj.key] = Match(None, None, match.attempts, why)
        elif blind is not None:
            why = (
                f"cannot tell whether it exists: the target's filter on {blind} found nothing "
                "for anyone in this run (lookup mode), and an empty answer from a filter the "
                f"target may not support proves nothing; match {_NAMED[kind]} by an attribute "
                "the target filters on (matching)"
            )
            out[obj.key] = Match(None, None, match.attempts, why)
    return out


def note(observed: Observed) -> list[str]:
    """The plan's note where some filter was not shown to work (one per kind and filter)."""
    return [
        f"lookup mode: the filter on {_NAMED[kind]}' {attribute} found nothing for anyone "
        "in this run, so an empty answer from it proves nothing: a declared state: absent "
        "object not found by it is in error, and one to create may exist already"
        for kind, attribute in sorted(observed.unproven, key=lambda p: (p[0].value, p[1]))
    ]


def _attribute(attempted: str) -> str:
    # Matching's "any of its emails" attempt is the emails.value filter lookup mode asked,
    # and its "previously (userName)" one, the name attribute's filter for a former name.
    if attempted.startswith("previously (") and attempted.endswith(")"):
        return attempted[len("previously (") : -1]
    return attempted.removesuffix(" (any)")
