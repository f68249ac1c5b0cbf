"""The write probe of every attribute path the spec declares for a target: each is written to
the doctor's temporary user the way apply writes it, read back, and compared the way the
plan compares, to list what the target drops (so a plan would never converge there).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from reconciler.core import attributes as A
from reconciler.core.config import Spec, Target
from reconciler.core.diff import AttrChange
from reconciler.core.masking import write_only
from reconciler.core.model import Json
from reconciler.core.not_kept import not_kept_fix
from reconciler.core.targetview import target_view
from reconciler.doctor.findings import INFO, OK, WARN, Finding, body_of, failure
from reconciler.doctor.scratch import DOMAIN, Scratch
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim import writes
from reconciler.scim.apply.refusals import patch_unsupported
from reconciler.scim.apply.verify import lost, repairs
from reconciler.scim.writes import resource_path

CHECK = "declared attributes"
# Not tried: the key (the temporary user keeps its own) and write-only values (they cannot
# be read back, and are secrets: a target refusing one may quote it). What /Schemas marks
# write-only is known only once it is read (probe_declared).
SKIPPED = frozenset({"userName", *A.SECRET_PATHS})
# A reference to another user: tried as one to the temporary user itself, the only user
# the doctor may write to (a manager names a user by id, RFC 7643 §4.3).
MANAGER = "enterprise.manager"


def declared_samples(spec: Spec, target: Target) -> dict[str, Json]:
    """One declared value per attribute path, as the target would get it (mapped, scoped)."""
    view = target_view(spec, target, datetime.now(UTC), lambda: "doctor-guid")
    samples: dict[str, Json] = {}
    for user in view.users:
        for path, value in user.attrs.items():
            if path not in SKIPPED and value is not None and path not in samples:
                samples[path] = value
    return samples


def probe_declared(s: Scratch, samples: Mapping[str, Json], *, patch: bool = True) -> list[Finding]:
    """Write each declared path to the temporary user; what is dropped, refused or kept.
    Without `patch` (the target says it has none, or `quirks: {patch: never}`), by
    GET-merge-PUT from the start, as apply then writes."""
    unread = sorted(p for p in samples if write_only(p, s.client.write_only))
    samples = {p: v for p, v in samples.items() if p not in unread}
    not_tried = f"; not tried, write-only (never returned): {', '.join(unread)}" if unread else ""
    if not samples:
        seen = "no declared user attributes to try" + not_tried
        return [Finding("attributes", CHECK, INFO, seen, "declare users to have them probed")]
    path = resource_path("/Users", str(s.user["id"]))
    dropped: list[str] = []
    refused: list[str] = []
    for attribute, value in sorted(samples.items()):
        if attribute == MANAGER:
            change = AttrChange(attribute, None, str(s.user["id"]), "the temporary user")
        else:
            change = AttrChange(attribute, None, _harmless(s, attribute, value))
        try:
            _write(s, path, change, patch)
        except ScimrecError as exc:
            refused.append(f"{attribute} ({failure(exc)})")
            continue
        if lost([change], _kept(s, path, change, patch), {}):
            dropped.append(attribute)
    return [_finding(len(samples), dropped, refused, not_tried)]


def _write(s: Scratch, path: str, change: AttrChange, patch: bool) -> None:
    """As apply writes: PATCH replace, else (PATCH refused) GET-merge-PUT (RFC 7644 §3.5)."""
    if patch:
        try:
            s.client.patch(path, writes.patch_operations([change], {}), None)
            return
        except ScimHTTPError as exc:
            if not patch_unsupported(exc):
                raise
    current = body_of(s.client.get(path))
    s.client.put(path, writes.merged_for_put(current, [change], {}), None)


def _kept(s: Scratch, path: str, change: AttrChange, patch: bool) -> dict[str, Json]:
    """The user after the write, and after the narrower PATCH apply sends where the first
    was not kept (verify.repairs), so a form apply repairs is not reported as dropped."""
    held = body_of(s.client.get(path))
    ops = repairs([change], held, {}) if patch and lost([change], held, {}) else []
    if ops:
        try:
            s.client.patch(path, ops, None)
        except ScimHTTPError:
            return held  # refused: apply keeps its first write, and warns
        held = body_of(s.client.get(path))
    return held


def _harmless(s: Scratch, attribute: str, value: Json) -> Json:
    """The declared value, but nothing that could clash with a real user's unique values."""
    if attribute == "externalId":
        return f"{s.stem}-probe"
    if attribute == "emails" and isinstance(value, list):
        return [
            {**e, "value": f"{s.stem}.{n}@{DOMAIN}"} if isinstance(e, dict) else e
            for n, e in enumerate(value)
        ]
    return value


def _finding(tried: int, dropped: list[str], refused: list[str], not_tried: str) -> Finding:
    if not dropped and not refused:
        seen = f"all {tried} declared attribute paths are kept as written{not_tried}"
        return Finding("attributes", CHECK, OK, seen, "none needed")
    parts = []
    if dropped:
        parts.append(f"dropped (answered success, not kept): {', '.join(dropped)}")
    if refused:
        parts.append(f"refused: {'; '.join(refused)}")
    paths = [*dropped, *(r.split(" ", 1)[0] for r in refused)]
    action = (
        "apply warns 'not kept by the target' after each write that loses them, and the plan "
        f"proposes them again; stop managing them here: {not_kept_fix(paths)}"
    )
    seen = f"of {tried} declared: " + "; ".join(parts) + not_tried
    return Finding("attributes", CHECK, WARN, seen, action)
