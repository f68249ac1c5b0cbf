"""Whether a create's answer is the object that was sent (pure): taken for it, another
resource's id would be written as a member of the groups the new object joins."""

from __future__ import annotations

from typing import NoReturn

from reconciler.core.changes import Change
from reconciler.core.match import NAME_ATTRIBUTE, normalise
from reconciler.core.model import Json, Kind
from reconciler.scim.apply.session import Failed


def answers_for(change: Change, answer: Json) -> bool:
    """Whether a create's answer, where it holds a resource, is the object sent: not one of
    another kind (a group for a user), nor one with another name. Taken for it, another
    resource's id would be written as a member of the groups the new object joins."""
    body = answer if isinstance(answer, dict) else {}
    if not body.get("id"):
        return True  # no resource: the Location or a lookup gives the id
    meta = body.get("meta")
    kind = meta.get("resourceType") if isinstance(meta, dict) else None
    if isinstance(kind, str) and kind.casefold() != change.kind.value:
        return False
    name = NAME_ATTRIBUTE[change.kind]
    held, sent = body.get(name), next((a.after for a in change.attributes if a.path == name), None)
    if isinstance(held, str) and isinstance(sent, str):
        return normalise(name, held) == normalise(name, sent)
    return not (change.kind is Kind.USER and "displayName" in body and name not in body)


def not_found(change: Change, answer: Json) -> NoReturn:
    body = answer if isinstance(answer, dict) else {}
    name = NAME_ATTRIBUTE[change.kind]
    held = body.get(name, body.get("displayName"))
    raise Failed(
        f"the target answered the create with another resource (id {body.get('id')!r}, "
        f"{name} {held!r}), and no {change.kind.value} of its own was found by its name: run "
        f"plan again (a target that rewrites {name} needs it mapped to the name it keeps)"
    )
