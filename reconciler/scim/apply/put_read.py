"""What a GET-merge-PUT may send back: the resource as its GET shows it, completed where
the GET left out what the plan's read held, or refused.

PUT replaces the whole resource (RFC 7644 §3.5.1), so whatever the GET lacks, the PUT
removes. Several services leave attributes out of one resource's GET unless asked for
(`attributes`, §3.4.2.5; an attribute `returned: request`), or cut a group's members
short; a PUT of that body would remove, unplanned and unguarded, a group's members or a
user's roles, entitlements or extension. So what the GET lacks is asked for, and what is
still missing after that refuses the PUT (the caller says so, and writes nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from reconciler.core import attributes as A
from reconciler.core.model import ENTERPRISE_URN, Json
from reconciler.scim import member_ops
from reconciler.scim.client import ScimClient

# Not sent back by a PUT (writes.READ_ONLY_BODY), or checked apart (members), or added
# to every PUT body (schemas).
_NOT_COMPARED = frozenset({"id", "meta", "groups", "members", "schemas"})


def another_resource(path: str, read: Mapping[str, Json], target_id: str | None) -> str | None:
    """Why a GET's answer is not the resource asked for (its id is another's, compared as
    ids that differ only in case are one), or None. Sent back by a PUT, another account's
    name, emails and roles would be written over this one."""
    rid = read.get("id")
    if rid in (None, "") or target_id is None or str(rid).casefold() == target_id.casefold():
        return None
    return (
        f"GET {path} answered with the resource {rid!r}, not {target_id!r}: a PUT of it "
        "would write that object over this one; not written"
    )


def _same(answer: Json, read: Mapping[str, Json]) -> bool:
    """Whether a second GET's answer is a resource, and not one other than `read`: where
    the first showed an empty id, the second may not show an id of its own either."""
    asked = read.get("id")
    return isinstance(answer, dict) and (
        asked is None or another_resource("", answer, str(asked)) is None
    )


def with_members(
    client: ScimClient, path: str, read: dict[str, Json], held: frozenset[tuple[str, bool]] | None
) -> tuple[dict[str, Json], str | None]:
    """A group's current body with all its members; with why it may not be sent back
    (None: it may). `held`: the members the plan's read held, by value and kind (a count
    could be made up by a duplicate)."""
    members = read.get("members")
    if not isinstance(members, list):
        asked = client.get(path, {"attributes": "members"})
        found = asked.body.get("members") if _same(asked.body, read) else None
        if isinstance(found, list):
            members = found
            read = {**read, "members": found}
    shown = member_ops.member_entries(read) if isinstance(members, list) else None
    if held is not None and not held:
        return read, None
    if shown is not None and (held is None or held <= shown):
        return read, None
    if held is None:
        seen = "does not show the group's members"
    elif shown is None:
        seen = f"shows none of the {len(held)} members the group held when planned"
    else:
        seen = f"lacks {len(held - shown)} of the {len(held)} members the group held when planned"
    return read, (
        f"GET {path} {seen}: a PUT (the target takes no PATCH) would remove them; "
        "not written, plan again"
    )


def with_attributes(
    client: ScimClient,
    path: str,
    read: dict[str, Json],
    held: Mapping[str, Json] | None,
    managed: Iterable[str] = (),
) -> tuple[dict[str, Json], str | None]:
    """The resource's current body with every attribute the plan's read held (`held`, its
    body; None: no read of it, nothing to compare), asked for where the GET left one out;
    with why it may not be sent back (None: it may). The change's own attributes
    (`managed`, spec paths) are not compared: it sets them, or an earlier write of it did."""
    if held is None:
        return read, None
    # Attribute names and URNs are case-insensitive (RFC 7643 §2.1): compared folded.
    owned = {(top.casefold(), sub and sub.casefold()) for top, sub in map(_pair, managed)}
    held = {
        name: {k: v for k, v in value.items() if (name.casefold(), k.casefold()) not in owned}
        if isinstance(value, dict)
        else value
        for name, value in held.items()
        if (name.casefold(), None) not in owned
    }
    if not (lacking := _lacking(read, held)):
        return read, None
    asked = client.get(path, {"attributes": ",".join(sorted({top for top, _ in lacking}))})
    if _same(asked.body, read) and not asked.masked:
        read = dict(read)
        for top in {top for top, _ in lacking}:
            value, name = _get(asked.body, top), _name(read, top)
            have = read.get(name)
            if isinstance(have, dict) and isinstance(value, dict):
                read[name] = {**value, **have}
            elif _empty(have) and not _empty(value):
                read[name] = value
        lacking = _lacking(read, held)
    if not lacking:
        return read, None
    names = [
        top if sub is None else f"{top}{':' if ':' in top else '.'}{sub}" for top, sub in lacking
    ]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return read, (
        f"GET {path} lacks {shown}, which the object held when planned: a PUT (the target "
        "takes no PATCH) would remove them; not written, plan again"
    )


def _pair(path: str) -> tuple[str, str | None]:
    """A spec path as the body holds it: (attribute, None), or (attribute, sub-attribute)."""
    if path == "enterprise":
        return ENTERPRISE_URN, None
    if path.startswith("enterprise."):
        return ENTERPRISE_URN, path.removeprefix("enterprise.")
    extension = A.split_urn(path)
    if extension is not None:
        return extension
    head, _, leaf = path.partition(".")
    return head, leaf or None


def _lacking(read: Mapping[str, Json], held: Mapping[str, Json]) -> list[tuple[str, str | None]]:
    """The attributes, and sub-attributes of a complex one or an extension, that `held` has
    a value for and `read` has none for: (attribute, None) or (attribute, sub-attribute)."""
    out: list[tuple[str, str | None]] = []
    for name, value in held.items():
        if name in _NOT_COMPARED or _empty(value):
            continue
        have = _get(read, name)
        if _empty(have):
            out.append((name, None))
        elif isinstance(value, dict) and isinstance(have, dict):
            out += [(name, k) for k, v in value.items() if not _empty(v) and _empty(_get(have, k))]
        elif isinstance(value, list) and not _items(value) <= _items(have):
            # A multi-valued attribute shown cut short (the last role only): sent back, the
            # PUT would take the others away, a protected account's role among them.
            out.append((name, None))
    return sorted(out, key=lambda pair: (pair[0], pair[1] or ""))


def _items(value: Json) -> set[str]:
    """A multi-valued attribute's items as compared: each by its `value`, else whole."""
    if not isinstance(value, list):
        return set()
    return {
        str(item.get("value")) if isinstance(item, dict) and "value" in item
        else json.dumps(item, sort_keys=True)
        for item in value
        if not _empty(item)
    }  # fmt: skip


def _name(body: Mapping[str, Json], name: str) -> str:
    """The key `body` spells `name` with (attribute names are case-insensitive), or `name`."""
    if name in body:
        return name
    folded = name.casefold()
    return next((k for k in body if k.casefold() == folded), name)


def _get(body: Mapping[str, Json], name: str) -> Json:
    """The value of attribute `name` in `body`, however the body spells its case."""
    return body.get(_name(body, name))


def _empty(value: Json) -> bool:
    """No value: a PUT without it removes nothing. An empty string counts so (RFC 7643
    §2.5 equates it with unassigned): a listing that shows unset attributes as "" while
    the GET by id leaves them out holds nothing the PUT would take away."""
    return value is None or value in ([], {}, "")
