"""Entra's app role functions, on the roles a target's role map gives a user.

In Entra, `[appRoleAssignments]` holds the user's app role assignments for the
application. In scimrec it holds the names of the roles the target's `roles:` map gives the
user through their groups, in the map's order, which is the order of precedence
(core/assignment.py). Microsoft's reference: "SingleAppRoleAssignment: Returns a single
appRoleAssignment from the list of all appRoleAssignments assigned to a user";
"AppRoleAssignmentsComplex: Returns an array of appRoles assigned to a user", each written
as `{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display", "value"}`.
"""

from __future__ import annotations

from typing import Any

from reconciler.expressions.calls import Args, Context, Function
from reconciler.expressions.values import FunctionError

# The `type` Entra writes on every role AppRoleAssignmentsComplex returns; kept, so that an
# app moved from Entra to scimrec receives the same values.
ENTRA_ROLE_TYPE = "WindowsAzureActiveDirectoryRole"


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    if not all(isinstance(item, str) for item in items):
        raise FunctionError(f"expects [appRoleAssignments] (role names), got {value!r}")
    return list(items)


def _single(a: Args, _: Context) -> Any:
    # Choice: Entra "can't guarantee which role" a user with several gets; scimrec returns
    # the first in the role map's order, the user's primary role. No role: null.
    names = _names(a[0])
    return names[0] if names else None


def _complex(a: Args, _: Context) -> Any:
    # Microsoft: "All roles will be provisioned as primary = false."
    return [
        {"primary": False, "type": ENTRA_ROLE_TYPE, "display": name, "value": name}
        for name in _names(a[0])
    ]


ROLE_FUNCTIONS: tuple[Function, ...] = (
    Function("AppRoleAssignmentsComplex", ("appRoleAssignments",), _complex),
    Function("SingleAppRoleAssignment", ("appRoleAssignments",), _single),
)
