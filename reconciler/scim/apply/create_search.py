"""A create's object looked up by its name (userName or displayName): before a create
after a short read, after an unknown outcome, a 409, or an answer that gave no id of its
own. Finding none proves the object absent only where the `eq` filter is proven to find
names in any case."""

from __future__ import annotations

from reconciler.core.changes import Change
from reconciler.core.match import NAME_ATTRIBUTE
from reconciler.core.model import Kind, Resource
from reconciler.errors import ScimrecError
from reconciler.scim.apply.identity import confirm_found
from reconciler.scim.apply.session import Session
from reconciler.scim.search import Found, search
from reconciler.scim.writes import ENDPOINT


def lookup(s: Session, change: Change) -> Resource | None:
    """The one object on the target with this change's name, or None (none, or several:
    adopting one of several would be a guess)."""
    found = candidates(s, change)
    return found[0] if len(found) == 1 else None


def candidates(s: Session, change: Change) -> list[Resource]:
    return search_for(s, change).resources


def search_for(s: Session, change: Change) -> Found:
    """The objects a create is for, searched by its userName or displayName, and whether
    finding none proves there is none."""
    attribute, value = name_searched(change)
    found = search(
        s.client,
        ENDPOINT[change.kind],
        attribute,
        value,
        s.target.page_size,
        use_filter=s.target.quirks.get("filter") != "never",
        max_objects=s.target.max_objects,
        # In lookup mode the listing proves nothing: the eq filter's answer is all there is.
        listing=s.caps.lookup_reason is None,
        cursor=s.caps.cursor_paging,
        count=not s.caps.count_refused,
        filter_proven=change.kind in s.filter_proven,
        no_match_404=s.caps.filter_no_match_404,
    )
    # What a look-up found is read by its id before anything adopts it (identity.py).
    confirm_found(s, change.kind, value, found.resources)
    # Proven only where empty answers are asked for: before each group create, and before
    # every create after a short read.
    looks = change.kind is Kind.GROUP or s.look_before_create
    if (
        found.filter_works
        and looks
        and change.kind not in s.filter_proven
        and _ignores_case(s, change)
    ):
        with s.lock:
            s.filter_proven.add(change.kind)
    return found


def name_searched(change: Change) -> tuple[str, str]:
    """The attribute a create is searched by (userName or displayName), and its value."""
    attribute = NAME_ATTRIBUTE[change.kind]
    value = next((a.after for a in change.attributes if a.path == attribute), change.key)
    return attribute, str(value)


def _ignores_case(s: Session, change: Change) -> bool:
    """Whether the `eq` filter that just found this object finds it in other case too.
    Names match case-insensitively (RFC 7643: userName and displayName are not caseExact);
    a case-sensitive filter's empty answer would miss "OPS" when creating "Ops"."""
    attribute, value = name_searched(change)
    other = value.swapcase()
    if other == value:
        return False  # nothing to tell case apart with: prove it on another name
    try:
        probe = search(
            s.client, ENDPOINT[change.kind], attribute, other, 1, listing=False,
            no_match_404=s.caps.filter_no_match_404,
        )  # fmt: skip
    except ScimrecError:
        return False  # unproven: the listing goes on being read
    return probe.filter_works
