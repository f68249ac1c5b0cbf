""".NET regular expressions (Entra's Replace and REGEX MATCH), run on the `regex` package.

Entra's provisioning service runs on .NET. Python's `re` lacks `\\p{Lu}` and variable-length
look-behind, which .NET has; the `regex` package has both. Each pattern is read once, token by
token: .NET spellings are rewritten to the `regex` package's (`(?<name>…)`, `\\k<name>`, `\\z`,
`\\p{IsCyrillic}`), what .NET reads literally is escaped so `regex` reads it literally too
(`{,3}`, `{e<=1}`, `[[:alpha:]]`), and what the two engines would read differently, or .NET not
at all, is refused with a message rather than run with another meaning.
"""

from __future__ import annotations

from functools import lru_cache

import regex

Pattern = regex.Pattern[str]
Match = regex.Match[str]

# .NET's Regex stops a match at its match timeout (RegexMatchTimeoutException); `regex` takes
# one too. Without it a pattern that backtracks catastrophically (`(a|aa)+$` against forty
# a's and a '!') runs for hours inside C, where no run deadline can reach it.
MATCH_TIMEOUT_SECONDS = 2.0


class PatternError(ValueError):
    """A pattern that is not .NET syntax, or whose .NET meaning cannot be kept."""


# The letter escapes .NET knows (any other escaped letter is an error in .NET itself).
_DOTNET_LETTER_ESCAPES = frozenset("abBtrvfnedDwWsSAzZGpPkxuc")
# .NET's Unicode general categories (`\p{Lu}`); `\p{IsName}` names a block instead.
_MINORS = {
    "L": "ultmo",
    "M": "nce",
    "N": "dlo",
    "Z": "slp",
    "C": "cfson",
    "P": "cdseifo",
    "S": "mcko",
}
_CATEGORIES = frozenset(
    major + minor for major, minors in _MINORS.items() for minor in ("", *minors)
)
# What may follow `(?` in .NET: non-capturing, look-around, atomic, named, comment, conditional.
_GROUP = regex.compile(
    r"""\(\?(?:
        (?P<plain>[:=!>]|<=|<!)                          # non-capturing, look-around, atomic
      | (?P<name><(?P<angle>[^>]*)>|'(?P<quote>[^']*)')  # named (or balancing) group
      | (?P<comment>\#[^)]*\))
      | (?P<conditional>\()
      | (?P<options>[A-Za-z-]*)(?P<end>[:)])             # inline options
    )""",
    regex.VERBOSE,
)
_NAME = regex.compile(r"[A-Za-z_]\w*")
_QUANTIFIER = regex.compile(r"\{\d+(?:,\d*)?\}")
_PROPERTY = regex.compile(r"\\([pP])\{([^}]*)\}")


@lru_cache(maxsize=256)
def dotnet_regex(pattern: str) -> Pattern:
    """Compile a .NET regular expression, or raise PatternError saying what is wrong."""
    try:
        return regex.compile(_translate(pattern), regex.VERSION0)
    except regex.error as exc:
        raise PatternError(str(exc)) from None


class MatchTimedOut(ValueError):
    """A spec's pattern that ran past MATCH_TIMEOUT_SECONDS on one value."""

    def __init__(self, pattern: str, what: str = "") -> None:
        on = f" {what}" if what else ""
        super().__init__(
            f"the regular expression {pattern!r} took longer than {MATCH_TIMEOUT_SECONDS:g} s "
            f"to match{on} (simplify the pattern: it backtracks too much)"
        )


# A pattern that ran past its timeout this many times is not run again in the process:
# each further value fails at once, as it would after the timeout. 10,000 users whose
# titles all backtrack would otherwise cost 2 s each, past any run deadline (pure planning
# never looks at the clock).
STRIKES = 3
_struck: dict[str, int] = {}


def struck_out(pattern: str) -> bool:
    """Whether `pattern` timed out STRIKES times already."""
    return _struck.get(pattern, 0) >= STRIKES


def forget_strikes() -> None:
    """Start counting anew (each plan's view of a target: core/targetview.py)."""
    _struck.clear()


def timed_out(pattern: str) -> None:
    """Count one timeout of `pattern` (calls from threads may count one too few: no harm)."""
    _struck[pattern] = _struck.get(pattern, 0) + 1


def search(pattern: str, text: str, what: str = "") -> Match | None:
    """The first match of a .NET `pattern` in `text`, or MatchTimedOut naming `what` (the
    attribute the text is from) past the match timeout."""
    if struck_out(pattern):
        raise MatchTimedOut(pattern, what)
    try:
        return dotnet_regex(pattern).search(text, timeout=MATCH_TIMEOUT_SECONDS)
    except TimeoutError:
        timed_out(pattern)
        raise MatchTimedOut(pattern, what) from None


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, in_class, after_quantifier = 0, False, False
    while i < len(pattern):
        c = pattern[i]
        quantifier = False
        if c == "\\":
            token, i = _escape(pattern, i, in_class)
        elif in_class:
            token, i, in_class = _in_class(pattern, i)
        elif c == "[":
            token, i = _class_start(pattern, i)
            in_class = True
        elif c == "(" and pattern.startswith("(?", i):
            token, i = _group(pattern, i)
        elif c == "{":
            found = _QUANTIFIER.match(pattern, i)
            # .NET reads a brace that does not start {n}, {n,} or {n,m} literally; `regex` would
            # read {,n} as a quantifier and {e<=1} as fuzzy matching.
            token, i, quantifier = (
                (found.group(), found.end(), True) if found else ("\\{", i + 1, False)
            )
        elif c in "*+?":
            if c == "+" and after_quantifier:
                raise PatternError(
                    "possessive quantifiers (a*+) are not .NET syntax; use an atomic group (?>…)"
                )
            # A `?` right after a quantifier makes it lazy; a `+` after that is still refused.
            token, i, quantifier = c, i + 1, True
        else:
            token, i = c, i + 1
        after_quantifier = quantifier
        out.append(token)
    return "".join(out)


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    if i + 1 >= len(pattern):
        raise PatternError("the pattern ends with a lone backslash")
    nxt = pattern[i + 1]
    if nxt in "pP":
        return _property(pattern, i)
    if nxt.isascii() and nxt.isalpha() and nxt not in _DOTNET_LETTER_ESCAPES:
        raise PatternError(f"\\{nxt} is not a .NET escape")
    if nxt == "k" and not in_class:
        named = regex.match(r"\\k(?:<(\w+)>|'(\w+)')", pattern[i:])
        if named is None:
            raise PatternError("\\k needs a group name: \\k<name>")
        return f"(?P={named.group(1) or named.group(2)})", i + named.end()
    if nxt == "c":  # a control character: \cA is U+0001
        letter = pattern[i + 2 : i + 3]
        if not (letter.isascii() and letter.isalpha()):
            raise PatternError("\\c needs a letter: \\cA … \\cZ")
        return f"\\x{ord(letter.upper()) - 64:02x}", i + 3
    if nxt == "e":
        return "\\x1b", i + 2
    if not in_class:
        # .NET's \z is the very end; its \Z also allows one final newline (`regex`'s \Z does not).
        ends = {"z": r"\Z", "Z": r"(?=\n?\Z)"}
        if nxt in ends:
            return ends[nxt], i + 2
    return pattern[i : i + 2], i + 2


def _property(pattern: str, i: int) -> tuple[str, int]:
    found = _PROPERTY.match(pattern, i)
    if found is None:
        raise PatternError(f"\\{pattern[i + 1]} needs a name in braces: \\p{{Lu}}")
    sign, name = found.groups()
    if name.startswith("Is"):
        # .NET's \p{IsGreek} is the Unicode block; `regex` would read it as the script.
        return f"\\{sign}{{Block={name[2:]}}}", found.end()
    if name not in _CATEGORIES:
        raise PatternError(f"unknown Unicode category {name!r} (\\p{{Lu}}, \\p{{IsCyrillic}})")
    return found.group(), found.end()


def _class_start(pattern: str, i: int) -> tuple[str, int]:
    token, i = "[", i + 1
    if pattern.startswith("^", i):
        token, i = "[^", i + 1
    if pattern.startswith("]", i):  # a ']' first in a class is literal in .NET
        token, i = token + "\\]", i + 1
    return token, i


def _in_class(pattern: str, i: int) -> tuple[str, int, bool]:
    c = pattern[i]
    if c == "]":
        return c, i + 1, False
    if c == "-" and pattern.startswith("[", i + 1):
        raise PatternError(
            "character class subtraction ([a-z-[aeiou]]) is .NET-only; list the class instead"
        )
    if c == "[":  # literal in .NET; `regex` would read [:alpha:] as a POSIX class
        return "\\[", i + 1, True
    return c, i + 1, True


def _group(pattern: str, i: int) -> tuple[str, int]:
    found = _GROUP.match(pattern, i)
    if found is None:
        raise PatternError(f"{pattern[i : i + 3]!r} is not a .NET grouping construct")
    if found.group("name"):
        name = found.group("angle") if found.group("angle") is not None else found.group("quote")
        if "-" in name:
            raise PatternError(f"balancing groups ({found.group()}) are .NET-only")
        if not _NAME.fullmatch(name):
            raise PatternError(f"invalid group name {name!r}")
        return f"(?P<{name}>", found.end()
    options = found.group("options")
    if options is not None:
        wrong = sorted(set(options) - set("imsx-"))
        if wrong:
            raise PatternError(f"inline option {wrong[0]!r} is not supported (i, m, s and x are)")
    return found.group(), found.end()


def expand_substitutions(replacement: str, found: Match) -> str:
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
        ref = regex.match(r"\$(?:\{(\w+)\}|(\d+))", replacement[i:])
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
