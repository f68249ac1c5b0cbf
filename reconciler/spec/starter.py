"""The starter spec tree `scimrec init` writes: a sandbox target, three users and a group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from reconciler.errors import UsageError
from reconciler.spec.schema import schema_text

# The schema copy sits at the root of the tree; each file's modeline points at it relative to
# itself, which is how yaml-language-server resolves a relative `$schema` path.
SCHEMA_COPY = ".scimrec-schema.json"

_TARGETS = """\
# yaml-language-server: $schema={schema}
# Where scimrec provisions to. Try this target on your machine:
#   export SANDBOX_SCIM_TOKEN=choose-a-token
#   scimrec sandbox --port {port} &             # a local in-memory SCIM 2.0 target
#   scimrec plan {specs} --target sandbox       # what would change; writes nothing
#   scimrec apply {specs} --target sandbox --auto-approve
# The first line gives editors completion and checks from {copy}; after upgrading
# scimrec, refresh it with: scimrec schema > {copy}
version: 1
targets:
  sandbox:
    # The SCIM base URL. https is required, except on loopback addresses like this one.
    url: http://127.0.0.1:{port}/scim/v2
    # Credentials come from environment variables, never from the spec. Other types:
    # {{type: none}}, {{type: basic, username_env: ..., password_env: ...}},
    # {{type: oauth2_client_credentials, token_url: ...,
    #   client_id_env: ..., client_secret_env: ..., scope: ...}}
    auth:
      type: bearer
      token_env: SANDBOX_SCIM_TOKEN
    # How each declared object finds its counterpart on the target: attributes tried in
    # order; the first with exactly one candidate wins (several are an error, never a guess).
    matching:
      user: [userName, externalId]
      group: [displayName]
    # What `state: absent` does to a user: disable (sets active: false) or delete.
    deprovision: disable
    # Objects on the target that no spec declares: none (only reported by `scimrec drift`),
    # owned (those scimrec created or adopted; needs `ownership`) or all.
    prune: none
    # At most this many deprovisions per run, and this share of the target's objects;
    # past either, apply refuses and writes nothing (override once with --allow-deletes N).
    guards:
      max_deletes: 10
      max_delete_percent: 25
    # More settings, shown with their defaults:
    # protected: []            # userName / displayName patterns never disabled or deleted
    # page_size: 500           # resources read per page
    # concurrency: 8           # requests in flight during apply
    # timeout_seconds: 30      # per request
"""

_PEOPLE = """\
# yaml-language-server: $schema={schema}
# Users, with the core SCIM User attributes (RFC 7643 section 4.1) as written and `enterprise:`
# for the enterprise extension. A user's key is its userName (compared case-insensitively).
# Only the attributes written here are compared and written: leave one out to leave it alone
# on the target, or set it to null to clear it. Any *.yaml file in this tree can declare users.
version: 1
users:
  - userName: ada@example.com
    externalId: ada
    name: {{givenName: Ada, familyName: Lovelace}}
    displayName: Ada Lovelace
    emails: [{{value: ada@example.com, type: work, primary: true}}]
    title: Staff Engineer
    active: true
    enterprise:
      department: Engineering
      employeeNumber: "1001"            # quoted: SCIM strings stay strings
      manager: grace@example.com        # another declared user, by userName
  - userName: grace@example.com
    externalId: grace
    name: {{givenName: Grace, familyName: Hopper}}
    displayName: Grace Hopper
    emails: [{{value: grace@example.com, type: work, primary: true}}]
    title: Engineering Manager
    active: true
    enterprise: {{department: Engineering, employeeNumber: "1002"}}
  - userName: mallory@example.com
    # Deprovisioned (per the target's `deprovision`) if it exists there; never created.
    state: absent
"""

_GROUPS = """\
# yaml-language-server: $schema={schema}
# Groups. Listing `members` (users' userNames) makes the membership exact: members not
# listed are removed. Leave `members` out to leave a group's membership alone.
version: 1
groups:
  - displayName: Engineering
    externalId: engineering
    members: [ada@example.com, grace@example.com]
"""


def _schema_ref(relative: str) -> str:
    """The path from the file at `relative` to the schema copy at the root of the tree."""
    depth = len(PurePosixPath(relative).parts) - 1
    return ("../" * depth or "./") + SCHEMA_COPY


def init_files(target_port: int = 8000, specs: str = "specs") -> dict[str, str]:
    """The starter tree: relative POSIX path to text, the schema copy included; `specs` is
    the tree's directory, as the commands in its comments name it."""
    templates = {
        "targets.yaml": _TARGETS,
        "people/engineering.yaml": _PEOPLE,
        "groups.yaml": _GROUPS,
    }
    files = {
        path: text.format(schema=_schema_ref(path), port=target_port, copy=SCHEMA_COPY, specs=specs)
        for path, text in templates.items()
    }
    files[SCHEMA_COPY] = schema_text()
    return files


def write_init(dir: Path, *, force: bool, write: Callable[[Path, str], None]) -> list[Path]:
    """Write the starter tree into `dir` with `write` (the command line's one way to write
    a file); refuse to replace any file unless `force`."""
    if dir.exists() and not dir.is_dir():
        raise UsageError(f"{dir} is not a directory")
    files = {dir / relative: text for relative, text in init_files(specs=str(dir)).items()}
    existing = [path for path in files if path.exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise UsageError(
            f"refusing to overwrite {existing[0]}{more}; use --force to replace the starter files"
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, text)
    return list(files)
