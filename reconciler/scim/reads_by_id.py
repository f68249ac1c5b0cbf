"""Resources whose listing leaves out what scimrec compares are read one by one (part of
step 2, `import`).

Users: a listing may show only a few attributes of each user (its id, userName, active)
and `GET /Users/<id>` the rest; read as listed, every declared attribute would look unset,
and each plan would write it again.

Groups: RFC 7643 §4.2 returns `members` by default, but many targets leave them out of a
`/Groups` listing, where they cost the most (Okta and Entra ask for the listing with
`excludedAttributes=members`, and such targets serve it that way to everyone), and show
them only on `GET /Groups/<id>`. Read as listed, every group would look empty: each plan
would add its members again, and no member would ever be removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from reconciler.core.diff import is_empty
from reconciler.core.model import Json, Resource
from reconciler.errors import ScimHTTPError, ScimProtocolError, TargetError
from reconciler.scim.client import ScimClient
from reconciler.scim.resources import resource
from reconciler.scim.writes import resource_path

Groups = tuple[Resource, ...]
# Past this many resources, none is read one by one: a note says what is not known.
MAX_READS = 1000
# What a listing shows of every user even when it shows little; a user's own GET may add
# what no plan compares: server-owned attributes (RFC 7643 §3.1, `groups` §4.1.2).
BARE = frozenset({"schemas", "id", "externalId", "userName", "active", "meta", "displayName"})
NOT_COMPARED = frozenset({"schemas", "id", "meta", "groups"})


def in_full(
    client: ScimClient, users: Groups, concurrency: int, log: Any
) -> tuple[Groups, tuple[str, ...]]:
    """`users` each read by id where the listing shows each with no more than BARE and
    a listed user's own GET shows more (a listing that leaves attributes out); as listed
    otherwise, at the cost of that one GET."""
    if not users or any(set(u.body) - BARE for u in users):
        return users, ()
    found = _sample(client, users)
    if found is None:
        return users, ()
    first, sample = found
    if not more_than_listed(sample.body, first.body):
        return users, ()
    if len(users) > MAX_READS:
        note = (
            f"the /Users listing leaves attributes out, and {len(users)} users are more "
            f"than {MAX_READS} to read one by one: they are compared as listed"
        )
        log.warning("attributes not listed", step="import", detail=note)
        return users, (note,)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        read = tuple(pool.map(lambda u: sample if u is first else read_user(client, u), users))
    log.info("users read one by one", step="import", kind="user", count=len(users))
    return read, ()


# Listed users whose own GET may tell whether the listing leaves attributes out: past the
# first, for a user deleted since the listing, or a read that failed once.
SAMPLES = 3


def _sample(client: ScimClient, users: Groups) -> tuple[Resource, Resource] | None:
    """A listed user and the same as its own GET shows it; None where no GET by id is
    offered (405, 501), or no listed id names a URL (core/shape.py puts those in error).
    TargetError where every read failed: compared as listed, every declared attribute of
    every user would look unset, and be written again."""
    failed: str | None = None
    for user in users[:SAMPLES]:
        try:
            path = resource_path("/Users", user.id)
        except ScimProtocolError:
            continue
        # An answer that is no resource of this id (a listing, another user): no usable
        # read by id, as a 405 says.
        found = _get(client, path, user.id, no_such_read=NO_SUCH_READ, other=None)
        if found is None:
            return None
        if isinstance(found, Resource):
            return user, found
        failed = failed or found
    if failed is None:
        return None
    raise TargetError(
        f"the /Users listing shows each user bare, and no user's own GET could be read to "
        f"tell whether it shows more ({failed}); plan again once the target answers"
    )


def more_than_listed(own: Mapping[str, Json], listed: Mapping[str, Json]) -> list[str]:
    """What a resource's own GET shows of what plans compare that its listing left out; an
    attribute spelled out unset (null, "", [], {}) is none: it tells nothing new."""
    return sorted(
        k for k, v in own.items() if k not in listed and k not in NOT_COMPARED and not is_empty(v)
    )


def read_user(client: ScimClient, user: Resource) -> Resource:
    """The user as its own GET shows it; in error where that read fails: compared as
    listed, every attribute the listing leaves out would be written again, or a `null`
    in the spec found already unset."""
    try:
        path = resource_path("/Users", user.id)
    except ScimProtocolError:
        return user  # an id no URL names: that user is in error (core/shape.py)
    found = _get(client, path, user.id)
    if isinstance(found, str):
        return replace(user, problem=f"the listing leaves attributes out, and {found}")
    return user if found is None else found


def with_members(
    client: ScimClient, groups: Groups, concurrency: int, log: Any
) -> tuple[Groups, tuple[str, ...]]:
    """`groups` with each read by its id where none shows `members` at all (a listing
    that shows them for some groups shows who is in each: RFC 7643 §2.5, an attribute left
    out has no value); with a note where there are too many to read."""
    if not groups or any("members" in g.body for g in groups):
        return groups, ()
    if len(groups) > MAX_READS:
        note = (
            f"the target shows no group's members, and {len(groups)} groups are more than "
            f"{MAX_READS} to read one by one: they are taken as listed"
        )
        log.warning("members not listed", step="import", detail=note)
        return groups, (note,)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        read = tuple(pool.map(lambda g: _read(client, g), groups))
        # A GET that shows some group's members shows who is in each, as a listing does:
        # one that leaves them out has none, and is not asked again (a GET per group saved).
        if not any("members" in g.body for g in read):
            read = tuple(pool.map(lambda r, g: _asked(client, r, g), read, groups))
    shown = sum(1 for new, old in zip(read, groups, strict=True) if new is not old)
    log.info("members read one by one", step="import", kind="group", count=shown)
    if any("members" in g.body for g in read):
        return read, ()
    # Every group empty, or a target that never shows members (AWS IAM Identity Center's
    # groups): which, no read says. The plan compares each as empty either way.
    note = (
        f"none of the {len(groups)} groups shows members, in the listing, on its GET or "
        "asked for by `attributes=members`: each is compared as empty, so on a target that "
        "holds members it does not show, no member removal can be planned, and each member "
        "added fails its group (the target does not show it)"
    )
    log.warning("members not shown", step="import", detail=note)
    return read, (note,)


def _read(client: ScimClient, group: Resource) -> Resource:
    """The group as `GET /Groups/<id>` shows it; as listed where no read says more (no
    GET by id at all); in error where the read failed, as taken as listed it would look
    empty: its members added again, none removed."""
    try:
        path = resource_path("/Groups", group.id)
    except ScimProtocolError:
        return group  # an id no URL names: that group is in error (core/shape.py)
    found = _get(client, path, group.id, no_such_read=NO_SUCH_READ)
    if isinstance(found, str):
        return replace(group, problem=f"the listing shows no members, and {found}")
    return group if found is None else found


def _asked(client: ScimClient, read: Resource, group: Resource) -> Resource:
    """`read` (`group` as its GET showed it, without members) with the members a read
    asking for them shows: some show them only when asked by name (RFC 7644 §3.9), as
    apply's PUT asks too; others refuse `attributes` (a 4xx), their GET having left out
    members it has none of. In error where that read failed."""
    if read is group or read.problem is not None:
        return read  # not read by id (none offered), or in error already
    path = resource_path("/Groups", group.id)
    asked = _get(client, path, group.id, {"attributes": "members"}, no_such_read=_REFUSED)
    if isinstance(asked, str):
        return replace(group, problem=f"the listing shows no members, and {asked}")
    members = asked.body.get("members") if asked is not None else None
    if not isinstance(members, list):
        return group
    return replace(read, body={**read.body, "members": members})


# Answers that say a read is not offered (RFC 9110 §15.5.6, §15.6.2), not that it failed.
NO_SUCH_READ = frozenset({405, 501})
# A read asking for `attributes` that a target refuses with a 4xx: it offers no such read.
_REFUSED = frozenset(range(400, 500)) - {408, 429}


def _get(
    client: ScimClient,
    path: str,
    rid: str,
    params: dict[str, str] | None = None,
    *,
    no_such_read: frozenset[int] = frozenset(),
    other: str | None = "",
) -> Resource | str | None:
    """The resource `rid` as its own GET shows it; None where the target offers no such
    read (`no_such_read`); `other` where it answers no resource of that id ("": why); else
    why the read failed (after the client's retries)."""
    try:
        reply = client.get(path, params)
    except ScimHTTPError as exc:
        return None if exc.status in no_such_read else str(exc)
    except ScimProtocolError as exc:
        return f"GET {path} is unreadable: {exc}"
    found = resource(reply.body)
    if found is None or found.id != rid:
        return f"GET {path} answered no resource with id {rid!r}" if other == "" else other
    return found
