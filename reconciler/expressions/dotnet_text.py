"""The .NET text behaviours Entra's expressions rely on: case mapping and regular expressions.

Entra's provisioning service runs on .NET, so ToUpper, ToLower and PCase map case one character
to one character as .NET does, and Replace's patterns and substitutions use .NET's syntax, here
rebuilt on Python's `re`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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


# -- regular expressions: .NET syntax on Python's `re` --------------------------------------------


@lru_cache(maxsize=256)
def dotnet_regex(pattern: str) -> re.Pattern[str]:
    """Compile a .NET regular expression: `(?<name>…)`, `(?'name'…)`, `\\k<name>`, `\\z` included.

    Raises re.error for a pattern Python cannot take (e.g. .NET balancing groups).
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            named = re.match(r"\\k(?:<(\w+)>|'(\w+)')", pattern[i:])
            if named and not in_class:
                out.append(f"(?P={named.group(1) or named.group(2)})")
                i += named.end()
                continue
            # .NET's \z is Python's \Z; .NET's \Z also allows one final newline.
            ends = {"z": r"\Z", "Z": r"(?=\n?\Z)"}
            nxt = pattern[i + 1]
            out.append(ends[nxt] if nxt in ends and not in_class else pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":  # a literal ']' first in a class
                out.append("[]")
                i += 2
                continue
        elif c == "(":
            group = re.match(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')", pattern[i:])
            if group:
                out.append(f"(?P<{group.group(1) or group.group(2)}>")
                i += group.end()
                continue
        out.append(c)
        i += 1
    return re.compile("".join(out))


def expand_substitutions(replacement: str, found: re.Match[str]) -> str:
    """.NET's Regex.Replace substitutions: $1, ${name}, $$, $&, $`, $', $+, $_."""
    out: list[str] = []
    i = 0
    while i < len(replacement):
        c = replacement[i]
        nxt = replacement[i + 1 : i + 2]
        if c != "$" or not nxt:
            out.append(c)
            i += 1
            continue
        whole = found.string
        simple = {
            "$": "$",
            "&": found.group(0),
            "`": whole[: found.start()],
            "'": whole[found.end() :],
            "_": whole,
        }
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
            continue
        if nxt == "+":
            out.append(found.group(found.lastindex) or "" if found.lastindex else "")
            i += 2
            continue
        ref = re.match(r"\$(?:\{(\w+)\}|(\d+))", replacement[i:])
        if ref:
            key: str | int = ref.group(1) if ref.group(1) is not None else int(ref.group(2))
            if isinstance(key, str) and key.isdigit():
                key = int(key)
            try:
                out.append(found.group(key) or "")
            except IndexError:
                out.append(ref.group(0))  # .NET leaves an unknown group reference as written
            i += ref.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)
