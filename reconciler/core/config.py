"""The declared configuration: each target's settings (where it is, how to authenticate, how
scimrec behaves there), and the `Spec` that holds them with the declared users and groups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from reconciler.core.mapping import AttrMapping
from reconciler.core.model import Declared, Location
from reconciler.core.scope import Filter

# The most users (and the most groups) one listing of a target may hold, unless it says.
DEFAULT_MAX_OBJECTS = 500_000


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
    # How the OAuth client authenticates to token_url (RFC 7591 §2 names):
    # client_secret_basic (HTTP Basic, the default) or client_secret_post (in the form).
    token_endpoint_auth_method: str | None = None

    @property
    def secret_envs(self) -> tuple[str, ...]:
        """The names of the variables that hold its secrets (not user names or client ids)."""
        names = (self.token_env, self.password_env, self.client_secret_env)
        return tuple(name for name in names if name)


@dataclass(frozen=True, slots=True)
class Role:
    """An app role granted through group membership (`roles: {admin: [Platform Admins]}`).

    A target's roles are listed in precedence order: a user in several holds them all, and
    the first is their primary (what SingleAppRoleAssignment returns).
    """

    name: str
    groups: tuple[str, ...]
    required_members: tuple[str, ...] = ()
    min_members: int | None = None


# Where the time scimrec disabled an account is recorded on the target, by default: an
# attribute of scimrec's own schema extension, written with the disable.
LIFECYCLE_URN = "urn:scimrec:params:scim:schemas:extension:lifecycle:2.0:User"
DISABLED_AT = f"{LIFECYCLE_URN}:disabledAt"
LAST_MODIFIED = "meta.lastModified"


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
    timeout_seconds: float = 30.0  # each network wait (connect, each read)
    # Bounds that end every run (DESIGN §6): the whole of one response, the whole run, the
    # size of one response, and how many objects one listing may hold.
    request_timeout_seconds: float = 120.0
    run_timeout_seconds: float = 21_600.0
    max_response_mib: float = 64.0
    max_objects: int = DEFAULT_MAX_OBJECTS
    membership_chunk: int = 100
    max_deletes: int | None = None
    max_delete_percent: float | None = None
    max_member_removals: int | None = None
    max_member_removal_percent: float | None = None
    # exact: a group holds exactly its declared members; additive: declared members are
    # added and nobody is removed (Terraform's `_binding` against `_member`). A group's own
    # `members_policy` overrides this.
    members_policy: str = "exact"
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
    # Forced behaviours for targets that misreport what they do (see spec/quirks.py):
    # e.g. {"patch": "never"} makes every update a GET-merge-PUT.
    quirks: Mapping[str, str] = field(default_factory=dict)
    # User attributes the target does not keep (quirks: {not_kept: [...]}): not managed
    # there, neither compared nor written, so a plan converges on such a target.
    not_kept: tuple[str, ...] = ()
    # How nested groups reach the target: flatten (user members only) or native (groups
    # as `type: Group` members, for targets that support nesting).
    nested_groups: str = "flatten"
    # Custom schema extensions this target takes: alias (as used in specs) → schema URN.
    extensions: Mapping[str, str] = field(default_factory=dict)
    # Assignment (Entra's "sync only assigned users and groups"): the declared groups
    # assigned to this target, None when every declared user is assigned. Their members
    # are in scope and the groups themselves are pushed.
    assign_groups: tuple[str, ...] | None = None
    # App roles from group membership, in precedence order.
    roles: tuple[Role, ...] = ()
    # `deprovision: {action: disable, delete_after: 30d}`: accounts scimrec disabled are
    # deleted once this long has passed since the time recorded at `disabled_at` (a
    # `URN:attribute` path scimrec writes with the disable, or meta.lastModified).
    delete_after: timedelta | None = None
    disabled_at: str = DISABLED_AT
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    targets: Mapping[str, Target]
    users: tuple[Declared, ...]
    groups: tuple[Declared, ...]
    files: tuple[str, ...] = ()
    digest: str = ""
