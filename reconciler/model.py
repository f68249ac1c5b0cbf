"""Frozen types shared by every step: the declared spec, the observed target, and their parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only types: mapping and scoping build on this module
    from reconciler.mapping import AttrMapping
    from reconciler.scoping import Filter

# A JSON-compatible value, as read from YAML or from a SCIM response.
Json = Any

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


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
class Auth:
    """How to authenticate; holds the *names* of environment variables, never secrets."""

    type: str = "none"  # none | bearer | basic | oauth2_client_credentials
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    token_url: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    auth: Auth = field(default_factory=Auth)
    user_matching: tuple[str, ...] = ("userName",)
    group_matching: tuple[str, ...] = ("displayName",)
    deprovision: str = "disable"  # disable | delete
    prune: str = "none"  # none | owned | all
    page_size: int = 500
    concurrency: int = 8
    timeout_seconds: float = 30.0
    membership_chunk: int = 100
    max_deletes: int | None = None
    max_delete_percent: float | None = None
    protected: tuple[str, ...] = ()
    ownership_prefix: str | None = None
    ca_bundle: str | None = None  # PEM file of CAs to trust instead of the OS trust store
    max_rps: float | None = None  # requests per second at most, across all workers
    # Attribute mappings per kind; empty: identity.
    user_mappings: tuple[AttrMapping, ...] = ()
    group_mappings: tuple[AttrMapping, ...] = ()
    # Scoping filter, None: every user in scope; and what happens to a user on the target
    # that is out of scope: skip it (leave it alone), or deprovision it.
    scope: Filter | None = None
    out_of_scope: str = "skip"
    # Forced behaviours for targets that misreport what they do (see QUIRKS in spec.py):
    # e.g. {"patch": "never"} makes every update a GET-merge-PUT.
    quirks: Mapping[str, str] = field(default_factory=dict)
    # How nested groups reach the target: flatten (user members only) or native (groups
    # as `type: Group` members, for targets that support nesting).
    nested_groups: str = "flatten"
    # Custom schema extensions this target takes: alias (as used in specs) → schema URN.
    extensions: Mapping[str, str] = field(default_factory=dict)
    location: Location | None = None


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

    @property
    def present(self) -> bool:
        return self.state is State.PRESENT


@dataclass(frozen=True, slots=True)
class Spec:
    targets: Mapping[str, Target]
    users: tuple[Declared, ...]
    groups: tuple[Declared, ...]
    files: tuple[str, ...] = ()
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Resource:
    """One object read from the target: its id, version (ETag) if any, and its SCIM body."""

    id: str
    body: Mapping[str, Json]
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the target said (ServiceProviderConfig) or showed (test_connection) it can do."""

    patch: bool = True
    etag: bool = False
    bulk: bool = False
    filter_supported: bool = False
    filter_honoured: bool = False


@dataclass(frozen=True, slots=True)
class Observed:
    """The target's state as read in the import step.

    `complete` is False when a listing stopped early (short page, repeated page, fewer
    resources than `totalResults`): the plan then refuses to deprovision anything.
    """

    users: tuple[Resource, ...]
    groups: tuple[Resource, ...]
    capabilities: Capabilities = field(default_factory=Capabilities)
    complete: bool = True
    notes: tuple[str, ...] = ()
