"""The doctor's Finding, its statuses, and how a probe turns a failed request into one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.core.model import Json
from reconciler.errors import ScimHTTPError, ScimrecError
from reconciler.scim.client import Reply
from reconciler.scim.redact import scrub

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"


@dataclass(frozen=True)
class Finding:
    """One observation about the target, and what scimrec does about it."""

    area: str
    check: str
    status: str  # ok | warn | fail | info
    observed: str
    action: str

    def to_json(self) -> dict[str, str]:
        return {
            "area": self.area,
            "check": self.check,
            "status": self.status,
            "observed": self.observed,
            "action": self.action,
        }


def failure(exc: ScimrecError) -> str:
    """A short account of a failed request: status, scimType and the server's detail."""
    if not isinstance(exc, ScimHTTPError):
        return " ".join(str(exc).split())
    if exc.status == 0:
        return exc.detail
    kind = f" {exc.scim_type}" if exc.scim_type else ""
    detail = exc.detail
    if detail == "(no detail)" or detail.startswith("non-SCIM application/scim+json"):
        detail = ""  # a SCIM error with an empty detail: the raw body says nothing more
    detail = f": {scrub(detail)[:80]}" if detail else ""  # scrubbed before it is cut
    return f"{exc.status}{kind}{detail}"


def body_of(reply: Reply) -> dict[str, Json]:
    return reply.body if isinstance(reply.body, dict) else {}


def broken(area: str, check: str, exc: ScimrecError) -> Finding:
    action = "scimrec reports such failures per object and carries on with the others"
    what = failure(exc)
    if isinstance(exc, ScimHTTPError) and exc.status:
        what = f"{exc.method} {exc.path} answered {what}"
    return Finding(area, check, WARN, f"the probe failed: {what}", action)


def guarded(area: str, check: str, probe: Callable[[], list[Finding]]) -> list[Finding]:
    """A probe's findings, or one saying it failed: one failing probe never stops the rest."""
    try:
        return probe()
    except ScimrecError as exc:
        return [broken(area, check, exc)]


def untested(area: str, check: str) -> Finding:
    action = "see the finding that failed before it"
    return Finding(area, check, INFO, "not tested (an earlier step failed)", action)
