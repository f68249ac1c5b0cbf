"""Frozen types shared by every step: the declared spec, the observed target, and their parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# A JSON-compatible value, as read from YAML or from a SCIM response.
Json = Any

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# What a secret of the run is replaced by wherever it appears in what a target sends
# (scim/redact.py): in a name or an id, the object is no longer the one the target holds.
MASKED = "***"


class Kind(StrEnum):
    USER = "user"
    GROUP = "group"


class State(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a declaration came from, so every message can point at the line to fix."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Declared:
    """One declared user or group.

    `attrs` maps flat attribute paths (`userName`, `name.givenName`, `emails`,
    `enterprise.department`) to declared values; `None` means "clear it on the target".
    For groups, `members` is None when the spec does not manage membership.
    """

    kind: Kind
    key: str
    attrs: Mapping[str, Json]
    state: State = State.PRESENT
    members: tuple[str, ...] | None = None
    location: Location | None = None
    attr_locations: Mapping[str, Location] = field(default_factory=dict)
    # Groups nested in this group (their keys): their members count as members of this one.
    subgroups: tuple[str, ...] = ()
    # Source-only attributes (`custom:`), read by mappings and scoping, never sent as is.
    custom: Mapping[str, Json] = field(default_factory=dict)
    # Custom extension aliases this user declares attributes under (`acme.costCode`).
    extension_aliases: tuple[str, ...] = ()
    # This user's own `deprovision` (disable | delete), overriding the target's.
    deprovision: str | None = None
    # This group's own `members_policy` (exact | additive), overriding the target's.
    members_policy: str | None = None
    # Names this object had before (userName or displayName): matched on when nothing
    # else matches, so a rename keeps the target object instead of replacing it.
    previously: tuple[str, ...] = ()
    # A group's requirements (peribolos's required and minimum admins): a plan that
    # would leave the group without these members, or with fewer, is refused.
    required_members: tuple[str, ...] = ()
    min_members: int | None = None

    @property
    def present(self) -> bool:
        return self.state is State.PRESENT


@dataclass(frozen=True, slots=True)
class Resource:
    """One object read from the target: its id, version (ETag) if any, its SCIM body, and
    where the target says it lives (`meta.location`), for member `$ref`s."""

    id: str
    body: Mapping[str, Json]
    version: str | None = None
    # Set when the body has a shape scimrec cannot read (core/shape.py): the object is
    # then in error, and nothing is decided from it or written to it.
    problem: str | None = None
    # meta.created as the target wrote it: which of two racing creates came first.
    created: str | None = None
    # meta.lastModified as the target wrote it: when a disabled account was last written,
    # for `delete_after` on targets that keep it honestly (core/lifecycle.py).
    modified: str | None = None
    location: str | None = None
    # meta.resourceType as the target wrote it: a resource read from /Users that says it
    # is a Group is in error (core/shape.py), never an undeclared user to deprovision.
    resource_type: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the target said (ServiceProviderConfig) or showed (test_connection) it can do."""

    patch: bool = True
    etag: bool = False
    bulk: bool = False
    # RFC 7644 §3.7: the most operations and bytes one Bulk request may carry, as advertised.
    bulk_max_operations: int | None = None
    bulk_max_payload: int | None = None
    filter_supported: bool = False
    filter_honoured: bool = False
    # RFC 9865: the target pages by cursor (`pagination.cursor`), and its largest page.
    cursor_paging: bool = False
    max_page_size: int | None = None
    # Why this target's listing cannot be read whole (it ignores startIndex, is synthetic,
    # or quirks say so), which puts it in lookup mode; None: the listing can be read.
    lookup_reason: str | None = None
    # The target fails a listing that carries `count` (400 or 500) and answers it without:
    # every listing then leaves `count` out (a server that cannot parse it, seen in one).
    count_refused: bool = False
    # The target answers an `eq` filter that matches nothing with 404, not an empty
    # ListResponse (scimgateway, WSO2), while its unfiltered /Users listing answers: such
    # a 404 to a filtered listing means "no match" (scim/search.py), not "no endpoint".
    filter_no_match_404: bool = False
    # The attributes its /Schemas marks writeOnly or returned: never (scim/extensions.py),
    # as casefolded flat paths: masked wherever shown (core/masking.py), never compared
    # after a write, never sent back by a GET-merge-PUT.
    write_only: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Observed:
    """The target's state as read in the import step.

    `complete` is False when a listing stopped early (short page, repeated page, fewer
    resources than `totalResults`): the plan then refuses to deprovision anything. `lookup`
    is True when the declared objects were looked up one by one instead (lookup mode).
    """

    users: tuple[Resource, ...]
    groups: tuple[Resource, ...]
    capabilities: Capabilities = field(default_factory=Capabilities)
    complete: bool = True
    notes: tuple[str, ...] = ()
    # Member values the target confirmed name no user (GET /Users/<value> answered 404):
    # the only unresolved members a plan may remove (core/members.py).
    dangling: frozenset[str] = frozenset()
    # True in lookup mode: the target cannot list everything, so only the declared objects
    # were looked up (through `eq` filters). What is not here was NOT SEEN, which is not
    # the same as absent: nothing unseen may be pruned, deprovisioned or removed from a
    # group (core/plan.py withholds it), and no undeclared object can be reported.
    lookup: bool = False
    # True when every body here came from replies proven to hold no value that an output
    # cannot (a lone surrogate, a number past a double: scim/payload.py `parse_checked`),
    # so core/shape.py skips encoding each one to find out. False: each is checked.
    representable: bool = False
    # True when no reply these bodies came from had a secret of the run masked in it
    # (scim/client.py Reply.masked): a MASKED in them is then the target's own text, not a
    # secret put there, so core/shape.py skips looking for one. False: each is looked at.
    unmasked: bool = False
    # Why no group was read, where the target has no /Groups endpoint (GET /Groups answered
    # 404, 405 or 501): it takes users only, or that answer was a passing one (a deploy,
    # a proxy). Either way no declared group can be planned from it: each is in error.
    no_groups: str | None = None
    # Lookup mode's (kind, attribute) pairs whose `eq` filter found nothing for anyone in
    # the run, not even a value known to exist (scim/lookup.py): Snowflake answers a filter
    # it does not support with an empty page, so "not found" by one proves nothing, and a
    # declared `state: absent` object not found by it is in error (core/unproven.py).
    unproven: frozenset[tuple[Kind, str]] = frozenset()
    # Lookup mode's (kind, attribute, value) `eq` lookups the target refused (a 400 for a
    # value its filter parser chokes on, a 403 from a scoped token) or answered in part:
    # they prove nothing, so a declared `state: absent` object looked up by one and not
    # found is in error (core/unproven.py), never "not there" and left with its access.
    refused: frozenset[tuple[Kind, str, str]] = frozenset()
    # True where the groups were read one by one (scim/reads_by_id.py with_members): their
    # members are what each group's own GET shows, nested groups included, which a
    # listing may leave out (scim/nested_reads.py need not read them again).
    groups_read_by_id: bool = False
    # Groups the /Groups listing left out, read by id because a group a plan takes away
    # holds them (scim/unlisted_members.py): an entry /Users answered 404 for, untyped or
    # typed User, or typed Group. Seen only through the groups that hold them, so
    # protection and the guards see whom they hold; never matched, pruned or reported.
    unlisted_groups: tuple[Resource, ...] = ()
