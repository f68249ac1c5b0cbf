"""The .NET case mapping Entra's expressions rely on (regular expressions: `dotnet_regex`).

Entra's provisioning service runs on .NET, so ToUpper, ToLower and PCase map case one character
to one character as .NET does.
"""

from __future__ import annotations

import unicodedata

# -- case mapping: .NET maps one character to one character (so 'ß' stays 'ß' in upper case) -----


def _turkic(culture: str | None) -> bool:
    return bool(culture) and str(culture).lower().split("-")[0] in ("tr", "az")


def to_upper(s: str, culture: str | None = None) -> str:
    if _turkic(culture):
        s = s.replace("i", "İ")
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in s)


def to_lower(s: str, culture: str | None = None) -> str:
    if _turkic(culture):
        s = s.replace("I", "\u0131").replace("İ", "i")  # dotless i
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


# The character classes .NET's TextInfo.ToTitleCase treats as word separators (Microsoft's PCase).
_SEPARATOR_CATEGORIES = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
)


def proper_case(s: str, separators: str | None = None, culture: str | None = None) -> str:
    out: list[str] = []
    at_start = True
    for c in s:
        if separators is not None:
            is_separator = c in separators
        else:
            is_separator = unicodedata.category(c) in _SEPARATOR_CATEGORIES
        if is_separator:
            out.append(c)
            at_start = True
        else:
            out.append(to_upper(c, culture) if at_start else to_lower(c, culture))
            at_start = False
    return "".join(out)
