"""The function table of Entra's mapping expressions: every name an expression may call or use.

Semantics follow Microsoft's "Reference for writing expressions for attribute mappings in
Microsoft Entra ID" (learn.microsoft.com/entra/identity/app-provisioning/
functions-for-customizing-application-data). Where that page is silent or ambiguous, the choice
made is written next to the code as `Choice:`. Entra runs on .NET and its functions are
"reminiscent of VBA", so unclear corners follow .NET / Visual Basic behaviour on a UTC server
(rebuilt in `dotnet_dates`, `dotnet_date_parsing` and `dotnet_text`). Each family lives in its
own module (`text_functions`, `replace_function`, `date_functions`, `logic_functions`,
`role_functions`); pure: the clock, GUIDs and uniqueness checks are injected.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.expressions.calls import Function
from reconciler.expressions.date_functions import DATE_FUNCTIONS
from reconciler.expressions.logic_functions import LOGIC_FUNCTIONS
from reconciler.expressions.replace_function import REPLACE
from reconciler.expressions.role_functions import ROLE_FUNCTIONS
from reconciler.expressions.text_functions import TEXT_FUNCTIONS

# Sorted as Microsoft's reference lists them: alphabetical, ignoring case.
FUNCTIONS: Mapping[str, Function] = {
    f.name: f
    for f in sorted(
        (*TEXT_FUNCTIONS, REPLACE, *DATE_FUNCTIONS, *LOGIC_FUNCTIONS, *ROLE_FUNCTIONS),
        key=lambda f: f.name.lower(),
    )
}

# Entra functions scimrec knows of but cannot offer, with the reason and what to do instead.
UNSUPPORTED: Mapping[str, str] = {
    "RandomString": (
        "RandomString is not supported: a plan must be repeatable, and a random value would "
        "change on every run; declare the value in the spec instead"
    ),
    "Redact": (
        "Redact is not supported: scimrec masks write-only attributes such as password "
        "everywhere by itself; map the attribute without Redact"
    ),
}

# The bare names Microsoft uses as constants (InStr's compareType).
CONSTANTS: Mapping[str, int] = {"vbBinaryCompare": 0, "vbTextCompare": 1}
