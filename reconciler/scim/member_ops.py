"""The parts of a write that name a group's members (RFC 7643 §4.2, RFC 7644 §3.5.2): each
entry, the `add` and `remove` operations in the two removal forms targets accept, the
chunks they go in, and what a removal must put back where a user and a group share an id.
Every member scimrec sends is built here; scim/writes.py builds the rest of each body."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import cast

from reconciler.core import attributes as A
from reconciler.core.match import normalise
from reconciler.core.members import says_group
from reconciler.core.model import Json

# What a member entry carries beside its value and type, by its id and type: a `$ref`
# (RFC 7643 §4.2) and a `display`, for targets that want them (apply/member_fields.py);
# None: nothing.
Refs = Callable[[str, str], Mapping[str, Json]] | None


def refs_from(base: str | None) -> Refs:
    """`$ref`s built from a base URL and the member's type and id (RFC 7643 §4.2), or none."""
    if base is None:
        return None
    return lambda member_id, member_type: {"$ref": f"{base}/{member_type}s/{member_id}"}


def member(member_id: str, ref: Refs = None, member_type: str | None = None) -> dict[str, Json]:
    """One entry of a group's `members` (RFC 7643 §4.2): its `value`, with a `$ref` and a
    `display` where the target wants them and a `type` for groups. Every member scimrec
    sends is built here."""
    entry: dict[str, Json] = {"value": member_id}
    if ref is not None:
        entry.update(ref(member_id, member_type or "User"))
    if member_type:
        entry["type"] = member_type
    return entry


def member_entries(body: Mapping[str, Json]) -> set[tuple[str, bool]]:
    """The members a group's body lists, each as its value and whether it is a nested group:
    a user and a group may have one id (where each kind is counted from 1)."""
    members = body.get("members")
    if not isinstance(members, list):
        return set()
    return {(str(m.get("value")), says_group(m)) for m in members if isinstance(m, dict)}


def lists_members(body: Json) -> bool:
    """Whether `body` is a group shown with a `members` list (empty or not)."""
    return isinstance(body, dict) and isinstance(body.get("members"), list)


def shown_by(body: Json, user_names: Mapping[str, str]) -> Callable[[str, bool], bool] | None:
    """Whether `body`'s member list shows a member (its id, and whether it is a nested
    group), read leniently: by its id whatever `type` the entry says (some targets leave
    it out), or a user by its userName in any case (Canaille names members so; user_names:
    id to userName). None where `body` shows no member list: it says nothing either way.
    A removal is judged strictly instead (apply/members_removed.py)."""
    if not lists_members(body):
        return None
    held = member_entries(cast(Mapping[str, Json], body))
    values = {value for value, _ in held}
    names = {normalise("userName", value) for value, group in held if not group}

    def shows(member_id: str, group: bool) -> bool:
        name = None if group else user_names.get(member_id)
        return member_id in values or (name is not None and normalise("userName", name) in names)

    return shows


def add_members(
    member_ids: list[str], member_type: str | None = None, ref: Refs = None
) -> list[dict[str, Json]]:
    """One `add` of many members; groups carry `type: Group` (RFC 7643 §4.2)."""
    values = [member(m, ref, member_type) for m in member_ids]
    return [{"op": "add", "path": "members", "value": values}]


def remove_members(
    member_ids: list[str], dialect: str, ref: Refs = None, member_type: str | None = None
) -> list[dict[str, Json]]:
    """Member removal in either dialect targets accept.

    `filter` is RFC 7644 §3.5.2.2 (`members[value eq "id"]`); `value` is the form Entra
    sends (`path: members` with a value list), the only one some servers accept; its groups
    carry `type: Group`, and a `$ref` to a group, as in `add_members`.
    """
    if dialect == "value":
        values = [member(m, ref, member_type) for m in member_ids]
        return [{"op": "remove", "path": "members", "value": values}]
    return [{"op": "remove", "path": f"members[value eq {A.quote(m)}]"} for m in member_ids]


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def added_back(
    member_ids: list[str],
    held: Iterable[tuple[str, bool]],
    ref: Refs = None,
    member_type: str | None = None,
) -> list[dict[str, Json]]:
    """What follows a removal of `member_ids` in its PATCH: an `add` of each member of the
    other kind that the group holds (`held`: value, is a group) under an id removed.

    Where each kind is counted from 1, user "1" and nested group "1" can both be members,
    and neither removal form tells them apart: `members[value eq "1"]` matches both, and
    many targets ignore a value list's `type`. A PATCH applies its operations in order and
    as a whole (RFC 7644 §3.5.2), so the other member is back before anyone can see it
    gone; where the removal spared it, adding a member already held changes nothing.

    Only an id held as both kinds is a clash: an untyped entry is read as a user, so a
    nested group the target lists without `type` is the very member removed, never
    another to add back."""
    back = sorted(_clashes(held) & set(member_ids))
    return add_members(back, "Group" if member_type != "Group" else None, ref) if back else []


def beside_nested(
    held: Iterable[tuple[str, bool]], is_user: Callable[[str], bool]
) -> set[tuple[str, bool]]:
    """What a group holds beside the nested groups a removal takes, for `added_back`: an
    untyped entry is a user only where a user has its id (core/members.py reads it so);
    else it is the nested group itself, listed without `type`, never a user to put back."""
    return {(value, group) for value, group in held if group or is_user(value)}


def _clashes(held: Iterable[tuple[str, bool]]) -> set[str]:
    """The ids held as both a user and a group: a removal of either adds the other back."""
    entries = set(held)
    return {value for value, group in entries if (value, not group) in entries}


def removal_chunks(
    member_ids: list[str], held: Iterable[tuple[str, bool]], size: int
) -> list[list[str]]:
    """Removals in chunks that, with what each adds back, name at most `size` members: a
    target that takes `size` a write (Better Auth: 100) refuses one member more."""
    clashes = _clashes(held)
    out: list[list[str]] = []
    part: list[str] = []
    weight = 0
    for member_id in member_ids:
        cost = 2 if member_id in clashes else 1
        if part and weight + cost > size:
            out.append(part)
            part, weight = [], 0
        part.append(member_id)
        weight += cost
    return [*out, part] if part else out
